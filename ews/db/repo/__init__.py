"""Repositories: each function holds the SQL it runs."""
