"""Survivor's rights: disclosure, export and consent records (who may ask, what is returned)."""
