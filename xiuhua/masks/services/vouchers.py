"""Stock, issuing, redemption and expiry of vouchers.

Lock order, the same in every service, so that they cannot deadlock each other:
PharmacyStock row (round, pharmacy) -> vouchers -> reservations.

Issuing (vouchers_issue), per pharmacy and round, with the stock row locked:

1. n = (delivered - allocated) // masks_per_household vouchers can be issued now.
2. The special-group reserve: of all the vouchers this pharmacy issues on one day (Asia/Shanghai),
   up to ceil(share% of them) go first to QUEUED special reservations. With T issued earlier the
   same day, S of them special, this batch holds back ceil((T + n) * share / 100) - S (at least 0,
   at most n). For the first batch of a day that is ceil(n * share / 100) - S, the rule of the
   brief; taking the day's total keeps the share right when stock arrives in several deliveries.
3. The rest go to all QUEUED reservations (special or not) in queue order.
4. Queue order is (order_at, id) in first-come mode. In lottery mode it is the published draw:
   sort by the hex SHA-256 of the UTF-8 text `<lottery_seed>:<reservation number>`, ascending
   (see lottery_key). Anyone with the seed and the list of reservation numbers can redo it.
5. allocated += vouchers * masks with `UPDATE ... WHERE allocated + k <= delivered`, vouchers are
   inserted in bulk (COPY on PostgreSQL) in their first state, and the reservations move
   QUEUED -> ISSUED with one UPDATE and one audit event for the batch (core.workflow.move_many).
6. Every holder with a mobile gets one text (voucher number, pharmacy, address, valid until),
   queued in the SMS outbox in the same transaction with bulk INSERTs (masks/notify.py).

Deliveries, verifications and expiry call vouchers_issue in their own transaction: issuing is a
few set-based statements per pharmacy (5,000 vouchers in well under a second), so the clerk's
"delivery recorded" already shows the vouchers it produced, and no task worker is needed for it.
"""

import datetime as dt
import hashlib
import hmac
import io
import math

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, Count, F, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from xiuhua.accounts.roles import Cap
from xiuhua.core.access import require
from xiuhua.core.audit import audit
from xiuhua.core.idnumbers import IdNumberError, IdType, check_id
from xiuhua.core.lookups import lookup_check, lookup_throttle
from xiuhua.core.workflow import move, move_many
from xiuhua.residents.identity import identity_hash

from ..codes import is_valid, new_voucher_number, normalise
from ..models import (
    AllocationMode,
    MaskRound,
    Pharmacy,
    PharmacyStock,
    Reservation,
    ReservationStatus,
    RoundStatus,
    StockDelivery,
    Voucher,
    VoucherStatus,
)
from ..notify import vouchers_issued_texts
from ..workflows import voucher_expired


def lottery_key(seed: str, reservation_number: str) -> str:
    """The lottery's sort key: hex SHA-256 of `<seed>:<reservation number>` (UTF-8)."""
    return hashlib.sha256(f"{seed}:{reservation_number}".encode()).hexdigest()


def _stock_locked(round_id: int, pharmacy_id: int) -> PharmacyStock:
    PharmacyStock.objects.get_or_create(round_id=round_id, pharmacy_id=pharmacy_id)
    return PharmacyStock.objects.select_for_update().get(round_id=round_id, pharmacy_id=pharmacy_id)


@transaction.atomic
def stock_delivery_record(
    *,
    actor,
    round: MaskRound,
    pharmacy: Pharmacy,
    quantity: int,
    delivered_at: dt.datetime,
    idempotency_key: str,
    now: dt.datetime | None = None,
) -> StockDelivery:
    """Record a delivery once per idempotency key, add it to the stock and issue vouchers.

    A clerk records for their own pharmacy, an officer for pharmacies in their street/district."""
    require(actor, Cap.RECORD_DELIVERY)
    pharmacy = Pharmacy.objects.visible_to(actor).get(pk=pharmacy.pk)
    key = (idempotency_key or "").strip()
    if not key or len(key) > 64:
        raise ValidationError({"idempotency_key": _("缺少表单标识")})
    if not isinstance(quantity, int) or quantity <= 0:
        raise ValidationError({"quantity": _("到货数量须为正整数")})
    mask_round = MaskRound.objects.get(pk=round.pk)
    if mask_round.status not in (RoundStatus.OPEN, RoundStatus.CLOSED):
        raise ValidationError(_("本轮不在发放期间,不能登记到货"))
    try:
        with transaction.atomic():
            delivery = StockDelivery.objects.create(
                round=mask_round,
                pharmacy=pharmacy,
                quantity=quantity,
                delivered_at=delivered_at,
                recorded_by=actor,
                idempotency_key=key,
            )
    except IntegrityError:
        existing = StockDelivery.objects.get(idempotency_key=key)
        if (existing.round_id, existing.pharmacy_id, existing.quantity) != (mask_round.pk, pharmacy.pk, quantity):
            raise ValidationError(_("该表单已提交过一条不同的到货记录")) from None
        return existing  # a resubmitted form: the same delivery, nothing added
    PharmacyStock.objects.get_or_create(round=mask_round, pharmacy=pharmacy)
    PharmacyStock.objects.filter(round=mask_round, pharmacy=pharmacy).update(delivered=F("delivered") + quantity)
    audit(
        actor=actor,
        action="stock_delivery_record",
        obj=delivery,
        subject_label=f"{pharmacy.name} +{quantity}",
        detail={"round": mask_round.pk, "pharmacy": pharmacy.pk, "quantity": quantity},
    )
    vouchers_issue(round=mask_round, pharmacy=pharmacy, now=now)
    return delivery


def _queue_ids(mask_round: MaskRound, pharmacy_id: int, *, special_only: bool, limit: int) -> list[int]:
    if limit <= 0:
        return []
    # live=True lets the planner use the partial queue index (status alone does not imply it).
    queued = Reservation.objects.filter(
        round=mask_round, pharmacy_id=pharmacy_id, live=True, status=ReservationStatus.QUEUED
    )
    if special_only:
        queued = queued.filter(special=True)
    if mask_round.allocation_mode == AllocationMode.LOTTERY:
        rows = list(queued.values_list("id", "number"))
        rows.sort(key=lambda row: lottery_key(mask_round.lottery_seed, row[1]))
        return [row[0] for row in rows[:limit]]
    return list(queued.order_by("order_at", "id").values_list("id", flat=True)[:limit])


def _insert_vouchers(rows: list[tuple]) -> None:
    """rows: (reservation_id, round_id, pharmacy_id, number, masks, special, issued_at, issue_day,
    expires_at); COPY on PostgreSQL, bulk_create elsewhere."""
    if connection.vendor == "postgresql":
        buffer = io.StringIO()
        for r in rows:
            buffer.write(
                f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t{'t' if r[5] else 'f'}\t{r[6].isoformat()}\t"
                f"{r[7].isoformat()}\t{r[8].isoformat()}\tissued\n"
            )
        with connection.cursor() as cursor:
            copy_sql = (
                "COPY masks_voucher (reservation_id, round_id, pharmacy_id, number, masks, special, "
                "issued_at, issue_day, expires_at, status) FROM STDIN"
            )
            with cursor.cursor.copy(copy_sql) as copy:
                copy.write(buffer.getvalue())
        return
    Voucher.objects.bulk_create(
        [
            Voucher(
                reservation_id=r[0],
                round_id=r[1],
                pharmacy_id=r[2],
                number=r[3],
                masks=r[4],
                special=r[5],
                issued_at=r[6],
                issue_day=r[7],
                expires_at=r[8],
            )
            for r in rows
        ],
        batch_size=2000,
    )


def _reservations_with_ids(ids: list[int]):
    """The reservations with these ids. On PostgreSQL the list goes as one array parameter: as an
    IN list of thousands of placeholders, issuing's UPDATE took half as long again."""
    if connection.vendor == "postgresql":
        return Reservation.objects.filter(
            RawSQL('"masks_reservation"."id" = ANY(%s)', (ids,), output_field=BooleanField())
        )
    return Reservation.objects.filter(pk__in=ids)


@transaction.atomic
def vouchers_issue(*, round: MaskRound, pharmacy: Pharmacy, now: dt.datetime | None = None) -> int:
    """Issue as many vouchers as the stock allows, in queue order; returns how many."""
    now = now or timezone.now()
    stock = _stock_locked(round.pk, pharmacy.pk)
    mask_round = MaskRound.objects.get(pk=round.pk)  # the rules as they are now
    if mask_round.status not in (RoundStatus.OPEN, RoundStatus.CLOSED):
        return 0
    per = mask_round.masks_per_household
    n = (stock.delivered - stock.allocated) // per
    if n <= 0:
        return 0
    day = timezone.localdate(now)
    today = Voucher.objects.filter(round=mask_round, pharmacy_id=pharmacy.pk, issue_day=day).aggregate(
        total=Count("id"), special=Count("id", filter=Q(special=True))
    )
    reserve = math.ceil((today["total"] + n) * mask_round.special_share_percent / 100) - today["special"]
    reserve = max(0, min(n, reserve))
    special_ids = _queue_ids(mask_round, pharmacy.pk, special_only=True, limit=reserve)
    taken = set(special_ids)
    general = _queue_ids(mask_round, pharmacy.pk, special_only=False, limit=n + len(special_ids))
    rest = [i for i in general if i not in taken][: n - len(special_ids)]
    chosen = special_ids + rest
    if not chosen:
        return 0
    masks = len(chosen) * per
    updated = PharmacyStock.objects.filter(pk=stock.pk, allocated__lte=F("delivered") - masks).update(
        allocated=F("allocated") + masks
    )
    if updated != 1:  # pragma: no cover - impossible while the row is locked
        raise RuntimeError("stock changed under lock")
    expires_at = now + dt.timedelta(days=mask_round.voucher_valid_days)
    special_set = set(special_ids)
    for attempt in range(3):
        rows = [
            (rid, mask_round.pk, pharmacy.pk, new_voucher_number(), per, rid in special_set, now, day, expires_at)
            for rid in chosen
        ]
        try:
            with transaction.atomic():
                _insert_vouchers(rows)
        except IntegrityError:
            if attempt == 2:
                raise
            continue  # a random voucher number collided: draw the batch again
        break
    issued = move_many(
        _reservations_with_ids(chosen),
        "issue",
        actor=None,
        subject_label=f"{pharmacy.name} {len(chosen)}",
        detail={
            "round": mask_round.pk,
            "pharmacy": pharmacy.pk,
            "vouchers": len(chosen),
            "special": len(special_ids),
            "masks": masks,
            "mode": mask_round.allocation_mode,
        },
    )
    if issued != len(chosen):  # pragma: no cover - only QUEUED rows were chosen, under the stock lock
        raise RuntimeError("reservations changed under the stock lock")
    # Each holder with a mobile is texted the voucher, queued in this transaction (bulk INSERTs).
    numbers = {row[0]: row[3] for row in rows}
    holders = _reservations_with_ids(chosen).values_list("id", "phone", "committee_id")
    vouchers_issued_texts(
        pharmacy=pharmacy,
        rows=[(rid, phone, numbers[rid], committee_id) for rid, phone, committee_id in holders],
        expires_at=expires_at,
    )
    return len(chosen)


def document_hashes(raw: str) -> list[str]:
    """The lookup hashes a full identity number typed or scanned at a counter may have, one per
    document type it is valid for (the reservation keeps the hash, not the type); empty when it
    is no valid number of any type, e.g. only its last four characters."""
    hashes = []
    for id_type in IdType.values:
        try:
            hashes.append(identity_hash(id_type, check_id(id_type, raw).number))
        except IdNumberError:
            continue
    return hashes


def voucher_redeem(*, actor, number: str, id_number: str, client_ip: str = "", now: dt.datetime | None = None
                   ) -> Voucher:
    """Sell the masks of one voucher at the clerk's own pharmacy, once, to the holder of the
    document shown: its full number (typed, or scanned by a reader that types it) must be the
    reservation's, compared by keyed hash. The last four characters would let anyone holding a
    voucher (or a photo of one) buy with any card. A wrong number counts against the clerk's
    lookup limits (core.lookups), and past them nothing is compared (LookupThrottled), so the
    counter cannot be used to try numbers until one fits."""
    now = now or timezone.now()
    require(actor, Cap.REDEEM_VOUCHER)
    code = normalise(number)
    if not is_valid(code):
        raise ValidationError({"number": _("凭证号有误,请核对后重新输入")})
    # A clerk sees the vouchers of their own pharmacies: another pharmacy's is "not here".
    voucher = Voucher.objects.visible_to(actor).select_related("pharmacy", "reservation").get(number=code)
    candidates = document_hashes(id_number)
    if not candidates:
        raise ValidationError({"id_number": _("请读取或输入证件上的完整号码,不能只输后四位")})
    lookup_check(actor=actor, client_ip=client_ip)
    if not any(hmac.compare_digest(h, voucher.reservation.person_hash) for h in candidates):
        lookup_throttle(actor=actor, client_ip=client_ip, purpose="voucher_redeem")
        raise ValidationError({"id_number": _("证件号码与预约人不符,请核对证件")})

    def change(locked: Voucher) -> dict:
        if locked.expires_at <= now:
            raise ValidationError(voucher_expired(locked))
        locked.redeemed_at, locked.redeemed_by = now, actor
        return {"pharmacy": locked.pharmacy_id, "masks": locked.masks}

    with transaction.atomic():
        stock = _stock_locked(voucher.round_id, voucher.pharmacy_id)
        redeemed = move(voucher, "redeem", actor=actor, change=change, now=now)
        PharmacyStock.objects.filter(pk=stock.pk).update(redeemed=F("redeemed") + redeemed.masks)
        # A voucher is issued only with its reservation (vouchers_issue), so that one is ISSUED too.
        redeemed.reservation = move(redeemed.reservation, "redeem", actor=None, detail={"voucher": redeemed.number},
                                    now=now)
    return redeemed


def vouchers_expire(*, now: dt.datetime | None = None) -> int:
    """Expire issued vouchers past their time; their masks go to the next in line.

    An expired voucher's reservation is CANCELLED (reason: expired) rather than put back in the
    queue: the issue says the masks go "to the next in line". Then issuing runs for the pharmacy.
    One transaction per (round, pharmacy). Returns the number of vouchers expired."""
    now = now or timezone.now()
    pairs = (
        Voucher.objects.filter(status=VoucherStatus.ISSUED, expires_at__lte=now)
        .values_list("round_id", "pharmacy_id")
        .distinct()
        .order_by("round_id", "pharmacy_id")
    )
    total = 0
    for round_id, pharmacy_id in list(pairs):
        with transaction.atomic():
            stock = _stock_locked(round_id, pharmacy_id)
            due = Voucher.objects.filter(
                round_id=round_id, pharmacy_id=pharmacy_id, status=VoucherStatus.ISSUED, expires_at__lte=now
            )
            rows = list(due.select_for_update().values_list("id", "reservation_id", "masks"))
            if not rows:
                continue
            ids = [r[0] for r in rows]
            masks = sum(r[2] for r in rows)
            where = {"round": round_id, "pharmacy": pharmacy_id}
            move_many(Voucher.objects.filter(pk__in=ids), "expire", actor=None, subject_label=f"{len(ids)}",
                      detail={**where, "vouchers": len(ids), "masks": masks})
            PharmacyStock.objects.filter(pk=stock.pk).update(allocated=F("allocated") - masks)
            move_many(Reservation.objects.filter(pk__in=[r[1] for r in rows]), "expire", actor=None,
                      values={"status_reason": _("购买凭证过期未使用")}, subject_label=f"{len(ids)}", detail=where)
            mask_round = MaskRound.objects.get(pk=round_id)
            vouchers_issue(round=mask_round, pharmacy=Pharmacy.objects.get(pk=pharmacy_id), now=now)
            total += len(ids)
    return total
