"""Audit: the hash-chained ledger per log partition, the sealed archive, reopening the log."""
