"""The leader's matches, exchanges, calendar feed, feedback and reflection log."""
