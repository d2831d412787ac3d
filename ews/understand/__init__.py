"""Understanding reports after the commit: the type model's files, and the classification stage."""
