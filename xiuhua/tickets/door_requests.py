"""Door-QR requests (紧急关怀) as a service: who may ask without a proven phone, the per-door and
per-address limits, the form's idempotency key and the resident's photo, written in one
transaction with the ticket.

The household row is locked while the key is looked up, the limits are counted and the ticket is
written, so two requests of one door are taken one after the other (design rule 4). Before that,
without locks, the key and the limits are looked at once more cheaply: a repeated or refused
request never gets as far as decoding its photo, and no lock is held while a photo is decoded.
"""

from __future__ import annotations

import base64
import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from xiuhua.core.crypto import mask_phone
from xiuhua.core.images import PhotoError, photo_as_jpeg, photo_check
from xiuhua.core.locks import lock_keys
from xiuhua.residents.models import Household

from . import services
from .models import MEDICAL_CATEGORIES, Source, Ticket, Urgency

# Limits on door requests. A household in real trouble may need a few things at once (dialysis,
# medicine, food), so three an hour and six a day; more than that from one door is a prank or a
# script, and the committee is better reached by phone. Many households share one address on
# mobile networks (carrier NAT) and compound Wi-Fi, so the address limit is only a backstop
# against floods. Counted in the database: they hold across gunicorn workers and machines.
HOUSEHOLD_PER_HOUR = 3
HOUSEHOLD_PER_DAY = 6
ADDRESS_PER_HOUR = 20
ADDRESS_PER_DAY = 60
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_MESSAGES = {
    "too_big": gettext_lazy("照片不能超过5MB,请重新拍摄或不附照片"),
    "unreadable": gettext_lazy("无法识别该照片,请上传JPG或PNG照片,或不附照片"),
}


def client_hashes_prune(*, now: dt.datetime | None = None) -> int:
    """Forget the hashed client address of door requests once the per-address limit no longer
    needs it (a day); run by `manage.py tickets_sweep`. Returns how many were blanked."""
    now = now or timezone.now()
    return Ticket.objects.filter(received_at__lt=now - DAY).exclude(client_hash="").update(client_hash="")


EMERGENCY_HINT = gettext_lazy("情况危急请直接拨打120(急救)或12345(市民热线)。")


class Refused(Exception):
    """A request that is not taken: the message says why, `status_code` is the response's."""

    def __init__(self, message: str, status_code: int = 429):
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class PhoneNeeded(Refused):
    """A request that is not an urgent medical one, from a door whose resident has not proven a
    phone: the page offers to prove one."""

    def __init__(self):
        super().__init__(
            _("除紧急医疗求助外,其他求助须先验证手机号码:请在下方获取短信验证码,验证后再提交。") + str(EMERGENCY_HINT),
            status_code=403,
        )


def _check_phone(category: str, urgency: str, phone: str, verified_phone: str | None) -> None:
    """No login for an urgent medical request; any other needs a phone proven by SMS code, and is
    answered on that phone."""
    if urgency == Urgency.URGENT and category in MEDICAL_CATEGORIES:
        return
    if verified_phone is None:
        raise PhoneNeeded
    if phone != verified_phone:
        raise ValidationError(
            {"phone": _("请填写已验证的手机号 %(phone)s,或先验证这个号码") % {"phone": mask_phone(verified_phone)}}
        )


def door_photo_check(upload) -> None:
    """The form's check of a photo: size, format and dimensions from its header; nothing is
    decoded before the request has passed its limits. Raises ValidationError(message)."""
    try:
        photo_check(upload, max_bytes=MAX_PHOTO_BYTES)
    except PhotoError as refused:
        raise ValidationError(PHOTO_MESSAGES.get(str(refused.code), refused.message)) from None


def _door_photo(upload):
    try:
        return photo_as_jpeg(upload, max_bytes=MAX_PHOTO_BYTES)
    except PhotoError as refused:
        raise ValidationError({"photo": [PHOTO_MESSAGES.get(str(refused.code), refused.message)]}) from None


def _check_limits(household: Household, address: str, now: dt.datetime) -> None:
    """Refused when the door or the address reached a limit."""
    door_tickets = Ticket.objects.filter(household=household, source=Source.DOOR_QR)
    if door_tickets.filter(received_at__gt=now - HOUR).count() >= HOUSEHOLD_PER_HOUR:
        raise Refused(
            ngettext("这一户1小时内已提交%(count)d次求助,请耐心等待工作人员联系,稍后再提交。",
                     "这一户1小时内已提交%(count)d次求助,请耐心等待工作人员联系,稍后再提交。",
                     HOUSEHOLD_PER_HOUR) % {"count": HOUSEHOLD_PER_HOUR}
            + str(EMERGENCY_HINT)
        )
    if door_tickets.filter(received_at__gt=now - DAY).count() >= HOUSEHOLD_PER_DAY:
        raise Refused(
            ngettext("这一户今天已提交%(count)d次求助,请等待工作人员联系,或致电居委会。",
                     "这一户今天已提交%(count)d次求助,请等待工作人员联系,或致电居委会。",
                     HOUSEHOLD_PER_DAY) % {"count": HOUSEHOLD_PER_DAY}
            + str(EMERGENCY_HINT)
        )
    if not address:
        return
    from_address = Ticket.objects.filter(client_hash=address)
    if (
        from_address.filter(received_at__gt=now - HOUR).count() >= ADDRESS_PER_HOUR
        or from_address.filter(received_at__gt=now - DAY).count() >= ADDRESS_PER_DAY
    ):
        raise Refused(_("当前网络提交求助过于频繁,请稍后再试。") + str(EMERGENCY_HINT))


def _lock_address(address: str) -> None:
    """One lock row per address, so that two doors behind one address cannot both pass its limit."""
    if address:
        lock_keys(f"help:{address}")


def follow_token_of(key: str) -> str:
    """The follow-up secret of the request a door form makes: a keyed hash of the form's hidden
    key, so whoever sends that form again (a double tap, a resubmitted page, a second tab) is led
    to the request it made, though the secret itself is never stored. Only the form's holder
    knows the key, as only the requester knows the secret; a reissued link (staff) replaces it."""
    digest = salted_hmac("xiuhua.tickets.door-follow", key, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def _again(ticket: Ticket, key: str) -> tuple[Ticket, str, bool]:
    """What the same form sent again gets: its ticket and, while its link is the form's own, the
    follow-up secret."""
    token = follow_token_of(key)
    if not constant_time_compare(services.token_hash(token), ticket.follow_token_hash):
        token = ""
    return ticket, token, False


def _made_by_this_form(key: str, household: Household) -> Ticket | None:
    """The ticket this form's key already made; a key of another door's form is refused."""
    existing = Ticket.objects.filter(submission_key=key).first()
    if existing is not None and existing.household_id != household.pk:
        raise Refused(_("页面已过期,请重新提交"), status_code=400)
    return existing


def door_request_submit(
    *, household: Household, category: str, urgency: str, description: str, phone: str, photo,
    submission_key: str, client_hash: str, verified_phone: str | None, now: dt.datetime | None = None,
) -> tuple[Ticket, str, bool]:
    """(ticket, follow-up token, True) for a new request; (ticket, its follow-up token, False)
    when this form's key already made one (the token is "" once staff reissued the link). Raises
    Refused (PhoneNeeded: no proven phone for a request that needs one) or ValidationError (the
    phone's, the photo's, the service's); writes nothing then.
    `photo` is the uploaded file as the form checked it (door_photo_check) or None; `client_hash`
    the caller's hashed address (blank when unknown); `verified_phone` the phone the resident
    proved by SMS code in this session, or None."""
    _check_phone(category, urgency, phone, verified_phone)
    key, address = submission_key, client_hash
    saved = ""
    now = now or timezone.now()
    # First without locks, so that a repeated or refused request costs no photo decoding.
    existing = _made_by_this_form(key, household)
    if existing is not None:
        return _again(existing, key)
    _check_limits(household, address, now)
    picture = _door_photo(photo) if photo is not None else None
    try:
        with transaction.atomic():
            # One door's requests are taken one at a time (SQLite: the IMMEDIATE transaction).
            Household.objects.select_for_update().filter(pk=household.pk).values_list("pk", flat=True).first()
            existing = _made_by_this_form(key, household)
            if existing is not None:
                return _again(existing, key)
            _lock_address(address)
            _check_limits(household, address, now)
            ticket, token = services.ticket_create(
                actor=None, source=Source.DOOR_QR, category=category, urgency=urgency,
                description=description, committee=household.committee, household=household,
                requester_phone=phone, now=now, submission_key=key, follow_token=follow_token_of(key),
            )
            if not token:  # the key was committed by a parallel request meanwhile
                if ticket.household_id != household.pk:
                    raise Refused(_("页面已过期,请重新提交"), status_code=400)
                return _again(ticket, key)
            ticket.client_hash = address
            if picture is not None:
                ticket.photo.save(picture.name, picture, save=False)
                saved = ticket.photo.name
            ticket.save(update_fields=["client_hash", "photo"])
    except IntegrityError:
        # The same key, committed by a parallel request after we looked.
        _delete_file(saved)
        existing = Ticket.objects.filter(submission_key=key, household=household).first()
        if existing is None:
            raise Refused(_("页面已过期,请重新提交"), status_code=400) from None
        return _again(existing, key)
    except BaseException:
        _delete_file(saved)
        raise
    return ticket, token, True


def _delete_file(name: str) -> None:
    if name:
        Ticket._meta.get_field("photo").storage.delete(name)  # type: ignore[attr-defined]
