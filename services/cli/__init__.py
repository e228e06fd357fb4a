"""The ``haven`` command line: one module per command group."""
