"""Keys: the keyring of wrapped data keys (subject epochs, orders, DLQ days), their destruction."""
