"""The door of the API: problem documents, unavailability answers, request log, rate limit."""
