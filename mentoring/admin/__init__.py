"""Administration: users and roles, and the audit log (issue 8)."""
