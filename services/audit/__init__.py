"""``haven audit``: verify the ledger, replay the log, a subject's trail (docs/audit.md)."""
