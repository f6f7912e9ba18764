"""Visits that can really happen: the host's checks and the notice a host needs (issue 14)."""
