"""The HTTP API benchmark: POST /v1/events and GET /v1/subjects/{id} over real HTTP."""
