"""A pair's agreement, check-ins, concerns and quiet pairs (issue 20)."""
