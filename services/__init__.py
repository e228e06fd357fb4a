"""Runnable entry points: the ``haven`` CLI and (later) the HTTP API."""
