"""What group buying's delivery add to core (core.registry)."""

from __future__ import annotations

from xiuhua.core.registry import DemoPart, HomePart, Sweep

PARTS: list[HomePart | DemoPart | Sweep] = []
