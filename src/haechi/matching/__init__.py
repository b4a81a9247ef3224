"""Comparing signals: hash distances now; enrolled persons and banks build on these."""
