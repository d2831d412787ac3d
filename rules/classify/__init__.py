"""The incident-type classifier: corpus parsing, features and model, evaluation metrics (pure, no I/O)."""
