"""Models of the zones module."""
