"""The resident search results as a working list: their columns, declared once for the page's
table header and the Excel download (core.sheets), and the values each row gives the download:
exactly what the results page shows (the number masked, the birth year beside it where the number
holds the date), never more."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from xiuhua.core.lookups import LookupKey
from xiuhua.core.sheets import Column, list_columns

from .forms import SearchForm
from .models import Resident

SEARCH_COLUMNS = list_columns(
    Column(gettext_lazy("姓名"), width=10), Column(gettext_lazy("性别"), width=6),
    Column(gettext_lazy("出生日期"), width=11), Column(gettext_lazy("证件号码"), width=20),
    Column(gettext_lazy("手机号"), width=13), Column(gettext_lazy("地址"), width=24),
    Column(gettext_lazy("标签"), width=16), Column(gettext_lazy("状态"), width=8),
)


def search_filters_text(form: SearchForm, key: str | None) -> str:
    """The search in words for the printed page and the file: a name as typed; a personal key
    (phone, identity number or their end, address) only by its kind, so the query itself is not
    written into a file that travels or into the audit event."""
    data = form.cleaned_data
    parts = []
    if data.get("q"):
        shown = data["q"] if key is None else _("按%(kind)s查询") % {"kind": LookupKey(key).label}
        parts.append(_("%(label)s:%(value)s") % {"label": _("查询"), "value": shown})
    for name in ("tag", "status"):
        if data.get(name):
            field = form.fields[name]
            parts.append(_("%(label)s:%(value)s") % {
                "label": field.label, "value": dict(field.choices).get(data[name], data[name])})  # type: ignore[attr-defined]
    return ";".join(str(p) for p in parts) or _("全部居民")


def search_rows(residents: Iterable[Resident]) -> Iterator[list]:
    for r in residents:
        tags = "、".join(str(t.get_tag_display()) for t in r.tags.all())
        yield [
            r.name, r.get_sex_display(), r.birth_shown, r.id_masked, r.mobile, r.household.address, tags or "—",
            r.get_living_status_display(),
        ]
