"""The HTTP API: gateway for agency systems and per-agency queries (FastAPI)."""
