"""A leader's own data (UK GDPR): export it, withdraw from a round, delete the account."""
