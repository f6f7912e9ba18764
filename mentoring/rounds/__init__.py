"""Programme rounds and their participants: the coordinator's set-up of a round (issue 5)."""
