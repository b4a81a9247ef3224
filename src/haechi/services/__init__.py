"""What a person can do with haechi, as functions the CLI calls today and the web app and API
will call tomorrow: each takes the database (and settings), returns typed values, and raises
the errors of `haechi.errors`. No printing, no argument parsing here."""
