"""What the domain apps add to core's pages and commands, without core importing them.

`core` and `places` sit below the domain apps (isolation, masks, tickets, tracing) and never import
them (core/tests/test_layers.py reads the code for that). Where a page or command of theirs does
something for each domain, the domain app registers a part here from its AppConfig.ready(), and
the page or command goes through the parts in their declared order:

- `HomePart`: the waiting work a role sees on the first page after login (core.views.home);
- `DemoPart`: what `manage.py seed_demo` adds to the demo street after its places and residents;
- `PersonPart`: what the app holds about one resident, on the person page (residents:detail).

    register(HomePart("tickets", order=30, work=waiting_tickets, template="tickets/parts/home_work.html"))

Registering a name again replaces its part (an app's ready() may run more than once in tests).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone


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
class PersonRow:
    """One thing about the person, linked to its own page: `label` (a number, a round, a list),
    `status` and `note` as shown, `when` a date or time."""

    label: str
    url: str = ""
    status: str = ""
    when: dt.date | dt.datetime | None = None
    note: str = ""

    @property
    def when_shown(self) -> str:
        if isinstance(self.when, dt.datetime):
            return timezone.localtime(self.when).strftime("%Y-%m-%d %H:%M")
        return self.when.isoformat() if self.when is not None else ""


@dataclass(frozen=True)
class PersonPart:
    name: str
    order: int
    title: Any  # the heading (a lazy translation)
    # (user, resident) -> the rows this user may see about the resident (the app's own
    # visible_to), or None when the user's role sees none of this app's records: the part
    # is then left out, not shown empty.
    rows: Callable[[Any, Any], list[PersonRow] | None]


_HOME: dict[str, HomePart] = {}
_DEMO: dict[str, DemoPart] = {}
_PERSON: dict[str, PersonPart] = {}


def register(*parts: HomePart | DemoPart | PersonPart) -> None:
    for part in parts:
        registry: dict[str, Any] = (
            _HOME if isinstance(part, HomePart) else _PERSON if isinstance(part, PersonPart) else _DEMO
        )
        clash = [p.name for p in registry.values() if p.order == part.order and p.name != part.name]
        if clash:
            raise ValueError(f"{part.name}: order {part.order} is taken by {clash[0]}")
        registry[part.name] = part


def home_parts() -> list[HomePart]:
    return sorted(_HOME.values(), key=lambda part: part.order)


def demo_parts() -> list[DemoPart]:
    return sorted(_DEMO.values(), key=lambda part: part.order)


def person_parts() -> list[PersonPart]:
    return sorted(_PERSON.values(), key=lambda part: part.order)
