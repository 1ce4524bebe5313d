"""Models of the passport module."""
