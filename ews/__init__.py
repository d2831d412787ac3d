"""Early-warning and election-violence incident monitoring service for Kenya."""

__version__ = "0.1.0"
