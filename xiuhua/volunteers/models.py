"""Models of the volunteers module (issue 16): volunteers and their talents, duty tables, and
mutual aid between committees."""

from __future__ import annotations

# Mutual aid between committees lives in its own module; imported here so Django finds its models.
from .models_aid import *  # noqa: E402,F401,F403
