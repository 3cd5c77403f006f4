"""What the controllers share: checks, and (with accounts) passwords, tokens, limits and mail."""
