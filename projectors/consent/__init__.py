"""The pure consent core: grants and withdrawals, entitlements, recipients, subject state."""
