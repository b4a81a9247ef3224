"""The network read from sightings and chat messages: rooms, accounts, roles. Leads for
people, never verdicts."""
