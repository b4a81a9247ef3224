"""Preserving evidence: capture items into the encrypted vault with their sightings, keep the
custody log, and build evidence packages an investigator can check with standard tools.

The storage parts (vault, custody log, RFC 3161 client) live in `haechi.store`; this package
joins them to items, settings and people."""
