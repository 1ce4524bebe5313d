"""The confirming test of a positive antigen self-report: a single-tube review (待复核) that the
committee's door-to-door team works on the same reviews page as a pool's people, and whose
single tube's result closes it through results_apply (a positive single opens a PositiveCase).

The antigen module calls `antigen_review_open` after it has authenticated whoever reported (the
resident's phone, the SMS provider, a member of staff), so it runs as the system (actor None).

A review lives in a screening round (its single tube, its lab result and a positive case all do):
the newest round of the resident's street or district that is sampling or has just stopped
(采样中 or 采样结束) is used. Without one, no review is made (None) and the antigen page says
so; the committee arranges it once the street has a round open.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from xiuhua.core.audit import audit
from xiuhua.core.crypto import mask_name
from xiuhua.places.models import OrgUnit
from xiuhua.residents.models import Relation, Resident

from .models import RoundStatus, SamplingCode, ScreeningRound
from .models_results import Review, ReviewSource, ReviewStatus
from .services_codes import new_reference

__all__ = ["antigen_review_open", "round_for_confirmation"]


def round_for_confirmation(committee: OrgUnit) -> ScreeningRound | None:
    """The round a confirming test of this committee's resident goes into (see the module's note)."""
    ancestors = [committee.path[:i] for i in range(1, len(committee.path) + 1) if committee.path[i - 1] == "/"]
    return (ScreeningRound.objects.filter(status__in=[RoundStatus.OPEN, RoundStatus.CLOSED])
            .filter(Q(scope__path__in=ancestors)).order_by("-status", "-first_day", "-pk").first())


def _household_phone(resident: Resident) -> str:
    if resident.mobile:
        return resident.mobile
    others = (Resident.objects.filter(household_id=resident.household_id).exclude(mobile="")
              .order_by("relation", "pk").values_list("relation", "mobile"))
    heads = [mobile for relation, mobile in others if relation == Relation.HEAD]
    return heads[0] if heads else next((mobile for _relation, mobile in others), "")


def _code_for(screening_round: ScreeningRound, resident: Resident) -> SamplingCode:
    code = SamplingCode.objects.filter(round=screening_round, resident=resident).first()
    if code is not None:
        return code
    household = resident.household
    try:
        with transaction.atomic():
            return SamplingCode.objects.create(
                round=screening_round, reference=new_reference(), committee_id=resident.committee_id,
                building_id=household.building_id, household=household, resident=resident,
                name_masked=mask_name(resident.name), room=household.room, phone=_household_phone(resident),
            )
    except IntegrityError:  # made a moment ago by a parallel report or the committee's generation
        return SamplingCode.objects.get(round=screening_round, resident=resident)


def antigen_review_open(*, resident: Resident, now: dt.datetime | None = None) -> Review | None:
    """The open confirming review of this resident (made when missing), or None without a round."""
    now = now or timezone.now()
    committee = OrgUnit.objects.get(pk=resident.committee_id)
    screening_round = round_for_confirmation(committee)
    if screening_round is None:
        return None
    with transaction.atomic():
        code = _code_for(screening_round, resident)
        open_review = Review.objects.filter(round=screening_round, code=code, source=ReviewSource.ANTIGEN,
                                            status__in=[ReviewStatus.PENDING, ReviewStatus.SAMPLED]).first()
        if open_review is not None:
            return open_review
        try:
            with transaction.atomic():
                review = Review.objects.create(
                    round=screening_round, code=code, committee_id=resident.committee_id, source=ReviewSource.ANTIGEN,
                    pool_tube=None, pool_result="positive", created_at=now)
        except IntegrityError:  # a parallel positive of the same person opened it
            return Review.objects.get(round=screening_round, code=code, source=ReviewSource.ANTIGEN,
                                      status__in=[ReviewStatus.PENDING, ReviewStatus.SAMPLED])
        audit(actor=None, action="screening_antigen_review_open", obj=review, committee_id=resident.committee_id,
              subject_label=code.name_masked, detail={"round": screening_round.pk, "code": code.pk})
    return review
