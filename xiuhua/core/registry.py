"""What the domain apps add to core's pages and commands, without core importing them.

`core` and `places` sit below the domain apps (isolation, masks, tickets, tracing) and never import
them (core/tests/test_layers.py reads the code for that). Where a page or command of theirs does
something for each domain, the domain app registers a part here from its AppConfig.ready(), and
the page or command goes through the parts in their declared order:

- `HomePart`: the waiting work a role sees on the first page after login (core.views.home);
- `DemoPart`: what `manage.py seed_demo` adds to the demo street after its places and residents;
- `Sweep`: a periodic management command and how often it runs (`manage.py run_periodic`, or
  cron and systemd timers in production).

    register(HomePart("tickets", order=30, work=waiting_tickets, template="tickets/parts/home_work.html"))

Registering a name again replaces its part (an app's ready() may run more than once in tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HomePart:
    name: str
    order: int
    # (user, active membership) -> the counts this part shows, by key (unique across parts), or
    # None when the membership holds none of this work.
    work: Callable[[Any, Any], dict[str, int] | None]
    # The list items of the "waiting work" card, rendered with `work` as every part's counts.
    template: str


@dataclass(frozen=True)
class DemoPart:
    name: str
    order: int
    # Writes the part's demo data (idempotent: nothing when it is there already) and returns
    # the lines seed_demo prints about it.
    seed: Callable[[], list[str]]
    # The demo accounts this part needs besides the roles' own (places.demo_data.AccountSpec).
    accounts: Callable[[], list[Any]] = field(default=lambda: [])


@dataclass(frozen=True)
class Sweep:
    # The management command that does the work, also what cron or a systemd timer would call.
    command: str
    # Seconds between the starts of two runs.
    every: int
    # A run that has not finished after this many seconds is taken to have died with its process,
    # and another run_periodic may start the sweep again.
    timeout: int = 30 * 60

    @property
    def name(self) -> str:
        return self.command


_HOME: dict[str, HomePart] = {}
_DEMO: dict[str, DemoPart] = {}
_SWEEPS: dict[str, Sweep] = {}


def register(*parts: HomePart | DemoPart | Sweep) -> None:
    for part in parts:
        if isinstance(part, Sweep):
            _SWEEPS[part.name] = part
            continue
        registry: dict[str, Any] = _HOME if isinstance(part, HomePart) else _DEMO
        clash = [p.name for p in registry.values() if p.order == part.order and p.name != part.name]
        if clash:
            raise ValueError(f"{part.name}: order {part.order} is taken by {clash[0]}")
        registry[part.name] = part


def home_parts() -> list[HomePart]:
    return sorted(_HOME.values(), key=lambda part: part.order)


def demo_parts() -> list[DemoPart]:
    return sorted(_DEMO.values(), key=lambda part: part.order)


def sweeps() -> list[Sweep]:
    return sorted(_SWEEPS.values(), key=lambda sweep: sweep.name)
