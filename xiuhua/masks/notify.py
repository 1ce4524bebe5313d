"""Texts of the mask module queued in the SMS outbox (xiuhua.sms), in the same transaction as the
change they announce. Issuing texts every holder of a new voucher who left a mobile: its number,
the pharmacy and its address, and until when it is valid ("到货后将短信通知您", as promised on
the reservation page). Thousands of vouchers are queued with bulk INSERTs (sms_send_many)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xiuhua.sms.services import BulkMessage, sms_send_many
from xiuhua.sms.texts import register_purpose, register_template

from .codes import format_voucher_number

VOUCHER_ISSUED = register_template(
    "XH_MASK_VOUCHER", "口罩购买凭证{number}已发放,请于{until}前凭证件到{pharmacy}({address})购买。"
)
PURPOSE = register_purpose("mask_voucher", _("口罩购买凭证"))


def until_text(when: dt.datetime) -> str:
    local = timezone.localtime(when)
    return f"{local.month}月{local.day}日{local:%H:%M}"


def vouchers_issued_texts(*, pharmacy, rows: list[tuple[int, str, str, int]], expires_at: dt.datetime) -> int:
    """rows: (reservation id, phone, voucher number, committee id). One text per voucher whose
    reservation has a mobile; returns how many were queued."""
    until = until_text(expires_at)
    messages = [
        BulkMessage(
            to=phone,
            params={"number": format_voucher_number(number), "until": until, "pharmacy": pharmacy.name,
                    "address": pharmacy.address},
            idempotency_key=f"{PURPOSE}:{number}",
            committee_id=committee_id,
        )
        for _reservation_id, phone, number, committee_id in rows
        if phone
    ]
    return sms_send_many(template=VOUCHER_ISSUED.code, purpose=PURPOSE, messages=messages)
