"""Models of the antigen module."""
