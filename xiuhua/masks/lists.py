"""The verification queue (核实队列) as a working list: its columns, declared once for the page's
table header and the Excel download (core.sheets), its one filter (the channel) and the values
each row gives the download: what the page shows, identity numbers masked."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django import forms
from django.utils.translation import gettext_lazy as _

from xiuhua.core.sheets import DATETIME, Column, list_columns

from .models import Channel, Reservation

VERIFY_QUEUE_COLUMNS = list_columns(
    Column(_("预约号"), width=14), Column(_("姓名"), width=10), Column(_("证件号码"), width=20),
    Column(_("手机号"), width=13), Column(_("填写的地址"), width=26), Column(_("渠道"), width=10),
    Column(_("排序时间"), DATETIME, width=16),
)


class VerifyQueueFilter(forms.Form):
    channel = forms.ChoiceField(label=_("渠道"), required=False, choices=[("", _("全部渠道")), *Channel.choices])

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        return {name: value for name, value in self.cleaned_data.items() if value}


def verify_queue_rows(reservations: Iterable[Reservation]) -> Iterator[list]:
    for r in reservations:
        yield [r.number, r.name, r.id_masked, r.phone, r.address_text, r.get_channel_display(), r.order_at]
