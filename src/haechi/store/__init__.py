"""The database (the source of truth), and later the vault and custody log beside it."""
