"""Models of the volunteers module (issue 16): volunteers and their talents, duty tables, and
mutual aid between committees."""

from __future__ import annotations
