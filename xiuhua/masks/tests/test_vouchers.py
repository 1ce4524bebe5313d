import datetime as dt
import hashlib
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from xiuhua.core.models import AuditEvent
from xiuhua.masks import codes, services
from xiuhua.masks.models import (
    AllocationMode,
    PharmacyStock,
    Reservation,
    ReservationStatus,
    StockDelivery,
    Voucher,
    VoucherStatus,
)
from xiuhua.testing import acting

from .fixtures import build_masks, holder_id, new_household, reserve

T0 = timezone.now()


def deliver(world, m, quantity, *, now=None, actor=None, key=None, pharmacy=None):
    return services.stock_delivery_record(
        actor=acting(actor or world.pharmacy_clerk), round=m.round, pharmacy=pharmacy or m.pharmacy_a,
        quantity=quantity, delivered_at=now or timezone.now(), idempotency_key=key or uuid.uuid4().hex, now=now,
    )


def queue(world, m, count, *, start=0, tags=()):
    """`count` households of committee A1 reserving one minute apart, starting at T0 - 1h + start min."""
    out = []
    for i in range(count):
        resident = new_household(world, tags=tags, name=f"排队{start + i}")
        at = m.round.opens_at + dt.timedelta(minutes=start + i + 1)
        out.append(reserve(m, resident, now=at))
    return out


def stock(m, pharmacy=None) -> PharmacyStock:
    return PharmacyStock.objects.get(round=m.round, pharmacy=pharmacy or m.pharmacy_a)


def issued_numbers(m) -> list[str]:
    return list(Voucher.objects.filter(round=m.round).order_by("pk").values_list("reservation__number", flat=True))


@pytest.fixture
def plain(world):
    """A first-come round without a special-group share."""
    return build_masks(world, special_share_percent=0)


def test_delivery_is_recorded_once_per_form(world, plain):
    first = deliver(world, plain, 12, key="form-1")
    again = deliver(world, plain, 12, key="form-1")
    assert again.pk == first.pk
    assert StockDelivery.objects.count() == 1 and stock(plain).delivered == 12
    with pytest.raises(ValidationError):
        deliver(world, plain, 13, key="form-1")
    assert stock(plain).delivered == 12


def test_vouchers_follow_the_queue_and_never_exceed_stock(world, plain):
    rs = queue(world, plain, 6)
    deliver(world, plain, 12)  # two households' worth, 2 masks left over
    assert issued_numbers(plain) == [r.number for r in rs[:2]]
    assert (stock(plain).delivered, stock(plain).allocated) == (12, 10)
    deliver(world, plain, 3)  # 5 available: one more
    assert issued_numbers(plain) == [r.number for r in rs[:3]]
    deliver(world, plain, 100)  # more than the queue needs
    assert issued_numbers(plain) == [r.number for r in rs]
    s = stock(plain)
    assert (s.delivered, s.allocated) == (115, 30)
    statuses = set(Reservation.objects.values_list("status", flat=True))
    assert statuses == {ReservationStatus.ISSUED}
    v = Voucher.objects.get(reservation=rs[0])
    assert codes.is_valid(v.number) and len(v.number) == 13
    assert v.masks == 5 and v.pharmacy == plain.pharmacy_a
    assert v.expires_at - v.issued_at == dt.timedelta(days=plain.round.voucher_valid_days)
    assert v.issue_day == timezone.localdate(v.issued_at)
    # A later reservation gets the leftover stock at once when it is verified or delivered for.
    late = queue(world, plain, 1, start=100)[0]
    assert Reservation.objects.get(pk=late.pk).status == ReservationStatus.QUEUED
    services.vouchers_issue(round=plain.round, pharmacy=plain.pharmacy_a)
    assert Reservation.objects.get(pk=late.pk).status == ReservationStatus.ISSUED


def test_special_groups_are_served_first_up_to_the_daily_share(world, masks):
    assert masks.round.special_share_percent == 10
    normal = queue(world, masks, 10)
    special = queue(world, masks, 3, start=50, tags=["dialysis"])
    day1 = timezone.make_aware(dt.datetime(2026, 2, 3, 9, 0))
    deliver(world, masks, 50, now=day1)  # 10 vouchers, ceil(10%) = 1 held for special groups
    v = list(Voucher.objects.order_by("pk"))
    assert [x.reservation.number for x in v] == [special[0].number] + [r.number for r in normal[:9]]
    assert [x.special for x in v] == [True] + [False] * 9
    # Same day, 5 more vouchers: the day's 15 hold ceil(1.5) = 2 special, 1 already given.
    deliver(world, masks, 25, now=day1 + dt.timedelta(hours=3))
    v = list(Voucher.objects.order_by("pk"))[10:]
    assert [x.reservation.number for x in v] == [special[1].number, normal[9].number, special[2].number]
    assert [x.special for x in v] == [True, False, False]


def test_special_reserve_starts_again_each_day(world, masks):
    normal = queue(world, masks, 4)
    special = queue(world, masks, 2, start=50, tags=["pregnant"])
    day1 = timezone.make_aware(dt.datetime(2026, 2, 3, 9, 0))
    deliver(world, masks, 5, now=day1)
    deliver(world, masks, 5, now=day1 + dt.timedelta(hours=1))  # day total 2 -> ceil(0.2)=1, used
    deliver(world, masks, 5, now=day1 + dt.timedelta(days=1))  # a new day: 1 again
    assert issued_numbers(masks) == [special[0].number, normal[0].number, special[1].number]


def test_lottery_order_is_reproducible_from_the_published_seed(world):
    seed = "2020-02-02 上证收盘 2746.61"
    m = build_masks(world, allocation_mode=AllocationMode.LOTTERY, lottery_seed=seed, special_share_percent=0)
    rs = queue(world, m, 12)
    deliver(world, m, 25)  # five winners
    # The documented draw, redone here: sort by hex SHA-256 of "<seed>:<reservation number>".
    expected = sorted((r.number for r in rs), key=lambda n: hashlib.sha256(f"{seed}:{n}".encode()).hexdigest())
    assert issued_numbers(m) == expected[:5]
    deliver(world, m, 35)
    assert issued_numbers(m) == expected


def test_expired_vouchers_go_to_the_next_in_line(world, plain):
    rs = queue(world, plain, 3)
    deliver(world, plain, 5)
    first = Voucher.objects.get()
    assert first.reservation_id == rs[0].pk
    assert services.vouchers_expire(now=first.expires_at - dt.timedelta(seconds=1)) == 0
    later = first.expires_at + dt.timedelta(minutes=1)
    assert services.vouchers_expire(now=later) == 1
    first.refresh_from_db()
    assert first.status == VoucherStatus.EXPIRED
    r0 = Reservation.objects.get(pk=rs[0].pk)
    assert r0.status == ReservationStatus.CANCELLED and "过期" in r0.status_reason
    nxt = Voucher.objects.get(status=VoucherStatus.ISSUED)
    assert nxt.reservation_id == rs[1].pk and nxt.issued_at == later
    s = stock(plain)
    assert (s.delivered, s.allocated) == (5, 5)
    assert Reservation.objects.get(pk=rs[2].pk).status == ReservationStatus.QUEUED
    # The periodic command does the same.
    call_command("expire_vouchers", stdout=open("/dev/null", "w"))  # noqa: SIM115


def _issued(world, m):
    r = queue(world, m, 1)[0]
    deliver(world, m, 5)
    return r, Voucher.objects.get(reservation=r)


def test_redeemed_once_with_the_holders_whole_identity_number(world, plain):
    r, v = _issued(world, plain)
    number = holder_id(r)
    clerk = acting(world.pharmacy_clerk)
    events = AuditEvent.objects.count()
    for shown, message in (
        (number[-4:], "不能只输后四位"),  # the last four prove nothing
        (world.resident_a1b.plain_id, "证件号码与预约人不符"),  # another person's card
    ):
        with pytest.raises(ValidationError) as exc:
            services.voucher_redeem(actor=clerk, number=v.number, id_number=shown)
        assert message in exc.value.messages[0]
    assert AuditEvent.objects.count() == events and stock(plain).redeemed == 0
    # Typed in groups, lower case, the card number in full-width characters: still found.
    done = services.voucher_redeem(
        actor=clerk, number=codes.format_voucher_number(v.number).lower(),
        id_number="".join(chr(ord(c) + 0xFEE0) for c in number.lower()),
    )
    assert done.status == VoucherStatus.REDEEMED and done.redeemed_by == world.pharmacy_clerk
    assert Reservation.objects.get(pk=r.pk).status == ReservationStatus.REDEEMED
    assert stock(plain).redeemed == 5
    with pytest.raises(ValidationError) as exc:
        services.voucher_redeem(actor=clerk, number=v.number, id_number=number)
    when = timezone.localtime(done.redeemed_at).strftime("%Y-%m-%d %H:%M")
    assert exc.value.messages[0] == f"该凭证已于{when}在国和药房使用,不能重复购买"
    assert stock(plain).redeemed == 5
    assert AuditEvent.objects.filter(action="voucher_redeem").count() == 1


def test_expired_voucher_is_refused(world, plain):
    r, v = _issued(world, plain)
    with pytest.raises(ValidationError) as exc:
        services.voucher_redeem(actor=acting(world.pharmacy_clerk), number=v.number,
                                id_number=holder_id(r), now=v.expires_at)
    assert "过期" in exc.value.messages[0]
    assert Voucher.objects.get(pk=v.pk).status == VoucherStatus.ISSUED and stock(plain).redeemed == 0


def test_mistyped_voucher_number_is_caught_by_the_check_character(world, plain):
    _r, v = _issued(world, plain)
    wrong = v.number[:-2] + v.number[-1] + v.number[-2]
    if wrong == v.number:
        return
    with pytest.raises(ValidationError) as exc:
        services.voucher_redeem(actor=acting(world.pharmacy_clerk), number=wrong, id_number=holder_id(_r))
    assert "凭证号有误" in exc.value.messages[0]


@pytest.mark.parametrize(("user", "error"), [
    ("clerk_b", Voucher.DoesNotExist),
    ("staff_a1", PermissionDenied),
    ("street_officer", PermissionDenied),
    ("no_role", PermissionDenied),
])
def test_only_the_pharmacys_own_clerk_redeems(world, plain, user, error):
    r, v = _issued(world, plain)
    actor = getattr(plain, user, None) or getattr(world, user)
    events = AuditEvent.objects.count()
    with pytest.raises(error):
        services.voucher_redeem(actor=acting(actor), number=v.number, id_number=holder_id(r))
    assert Voucher.objects.get(pk=v.pk).status == VoucherStatus.ISSUED
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(("user", "error"), [
    ("clerk_b", "DoesNotExist"),
    ("street_officer_b", "DoesNotExist"),
    ("staff_a1", PermissionDenied),
    ("volunteer", PermissionDenied),
])
def test_deliveries_only_by_the_pharmacys_clerk_or_its_officers(world, plain, user, error):
    from xiuhua.masks.models import Pharmacy

    actor = getattr(plain, user, None) or getattr(world, user)
    events = AuditEvent.objects.count()
    with pytest.raises(Pharmacy.DoesNotExist if error == "DoesNotExist" else error):
        deliver(world, plain, 10, actor=actor)
    assert StockDelivery.objects.count() == 0 and AuditEvent.objects.count() == events
    deliver(world, plain, 10, actor=world.street_officer)
    deliver(world, plain, 10, actor=world.district_officer)
    assert stock(plain).delivered == 20


@pytest.mark.postgres
def test_issuing_updates_reservations_heap_only(world, plain):
    """No index covers a reservation's status, so moving a page full of reservations to ISSUED
    writes no index entries (bench/allocation.py depends on it)."""
    from django.db import connection

    queue(world, plain, 40)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'masks_reservation'")
        assert cursor.fetchone()[0] == ["fillfactor=50"]
        counts = "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'masks_reservation'"
        cursor.execute(counts)
        updated_before, hot_before = cursor.fetchone()
        deliver(world, plain, 200)
        cursor.execute(counts)
        updated, hot = cursor.fetchone()
    assert Reservation.objects.filter(status=ReservationStatus.ISSUED).count() == 40
    assert (updated - updated_before, hot - hot_before) == (40, 40)
