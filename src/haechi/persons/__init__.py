"""Enrolled persons: consented enrolment (templates, own-media hashes) and complete erasure."""
