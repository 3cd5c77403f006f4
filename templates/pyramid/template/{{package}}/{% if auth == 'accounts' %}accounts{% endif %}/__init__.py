"""Accounts: passwords, access and reset tokens, sign-in limits and mail (docs/accounts.md)."""
