"""Models of the supply module."""
