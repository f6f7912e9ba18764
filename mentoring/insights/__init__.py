"""Insights: the coordinator's dashboard, what people said, and reports (issue 7)."""
