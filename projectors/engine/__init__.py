"""The projection engine: ordered, fenced, exactly-once batches from the log to read models."""
