"""The sealer: validates inbox records, seals personal fields, and writes the log or the DLQ."""
