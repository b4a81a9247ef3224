"""Sharing what a centre knows: hash bank formats and the HMA-compatible lookup API."""
