"""Reads of the volunteers module, scoped (the pages, the PDF and the bench share them).

The talent directory is one query on one table: the viewer's volunteers (`visible_to`, one
indexed committee comparison) whose `talents_index` line has a token matching the filters
(skill, usable, part of the detail), ordered by hours served, paged. Joining the talent table
instead (an EXISTS per volunteer) cost a street's 20,000 volunteers 80-160 ms per query."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from xiuhua.core.crypto import mask_name

from .models import LIVE_DUTY, Duty, DutyStatus, Post, Shift, Skill, Talent, Volunteer


@dataclass(frozen=True)
class Search:
    skill: str = ""
    detail: str = ""  # part of a specialty or language: 英语, 外科
    compound_id: int | None = None
    confirmed_only: bool = False
    available_now: bool = False


def directory(user, search: Search, *, now: dt.datetime | None = None):
    """The volunteers the user may see that match `search`, most hours first."""
    rows = Volunteer.objects.visible_to(user)
    if search.compound_id:
        rows = rows.filter(compound_id=search.compound_id)
    if search.skill or search.detail or search.confirmed_only:
        # One talent must match all three: a token of Volunteer.talents_index (services).
        skill = search.skill if search.skill in Skill.values else ""
        usable = "u" if search.confirmed_only else ""
        if search.detail:
            detail = re.escape("·".join(search.detail.split()))
            rows = rows.filter(talents_index__iregex=rf" {skill or '[a-z]+'}/{usable or '[up]'}/[^ ]*{detail}")
        else:
            rows = rows.filter(talents_index__contains=f" {skill}/{usable}" if skill else f"/{usable}/")
    if search.available_now:
        local = timezone.localtime(now or timezone.now())
        rows = rows.filter(available_days__contains=str(local.isoweekday())).filter(
            Q(available_from__isnull=True) | Q(available_from__lte=local.time(), available_to__gt=local.time()))
    return (rows.select_related("compound")
            .prefetch_related(Prefetch("talents", queryset=Talent.objects.order_by("skill")))
            .order_by("-minutes_served", "pk"))


def phone_tail(mobile: str) -> str:
    return mobile[-4:] if len(mobile) >= 4 else mobile


def shown_name(volunteer: Volunteer) -> str:
    """How staff lists and printed tables name a volunteer: the masked name and the phone's tail."""
    return _("%(name)s(尾号%(tail)s)") % {"name": mask_name(volunteer.name), "tail": phone_tail(volunteer.mobile)}


@dataclass
class ShiftRow:
    shift: Shift
    duties: list[Duty] = field(default_factory=list)
    overlaps: set[int] = field(default_factory=set)  # duty ids of volunteers with overlapping duties

    @property
    def gap(self) -> int:
        return max(self.shift.needed - len([d for d in self.duties if d.status in LIVE_DUTY]), 0)


@dataclass
class PostRow:
    post: Post
    shifts: list[ShiftRow] = field(default_factory=list)


@dataclass
class DayTable:
    day: dt.date
    posts: list[PostRow]
    gaps: int  # places still open across the day's shifts
    overlaps: int  # duties of volunteers booked twice at the same time

    @property
    def duty_count(self) -> int:
        return sum(len(s.duties) for p in self.posts for s in p.shifts)


def day_table(posts, day: dt.date) -> DayTable:
    """The shifts of `posts` (a scoped queryset) on `day`, each with its live duties, the
    places still open and the volunteers whose duties overlap (a shift moved after sign-up)."""
    shifts = (Shift.objects.filter(post__in=posts, day=day).select_related("post", "compound")
              .order_by("post__compound__sort_key", "post__name", "post_id", "starts_at", "pk"))
    duties = (Duty.objects.filter(shift__in=shifts).exclude(status=DutyStatus.CANCELLED)
              .select_related("volunteer").order_by("starts_at", "pk"))
    by_shift: dict[int, list[Duty]] = defaultdict(list)
    by_volunteer: dict[int, list[Duty]] = defaultdict(list)
    for duty in duties:
        by_shift[duty.shift_id].append(duty)
        by_volunteer[duty.volunteer_id].append(duty)
    overlapping: set[int] = set()
    for rows in by_volunteer.values():
        for i, one in enumerate(rows):
            for other in rows[i + 1:]:
                if other.starts_at < one.ends_at and one.starts_at < other.ends_at:
                    overlapping.update({one.pk, other.pk})
    # A volunteer's other duties that day at other committees' posts are not the viewer's; the
    # overlap rule of the sign-up keeps them from happening anyway.
    posts_rows: dict[int, PostRow] = {}
    for shift in shifts:
        row = posts_rows.setdefault(shift.post_id, PostRow(shift.post))
        row.shifts.append(ShiftRow(shift, by_shift.get(shift.pk, []),
                                   {d.pk for d in by_shift.get(shift.pk, []) if d.pk in overlapping}))
    table = DayTable(day, list(posts_rows.values()), 0, len(overlapping))
    table.gaps = sum(s.gap for p in table.posts for s in p.shifts)
    return table


def hours(minutes: int | None) -> str:
    minutes = minutes or 0
    if minutes % 60:
        return _("%(h)d小时%(m)02d分") % {"h": minutes // 60, "m": minutes % 60}
    return _("%(h)d小时") % {"h": minutes // 60}
