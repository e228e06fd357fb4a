"""The agency directory: agencies, their registration, and their database roles."""
