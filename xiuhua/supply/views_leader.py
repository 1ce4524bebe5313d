"""The group-buy leader's phone pages, and residents' complaints, after the one phone sign-in
(core.resident_phone.PhoneSignIn).

    /supply/lead/                         the phone form                              (public)
    /supply/lead/code/, verify/, logout/  the sign-in steps                           (public)
    /supply/lead/home/                    apply, my documents and filings              (resident_phone)
    /supply/lead/apply/                   POST: apply for the compound of one of the phone's residents
    /supply/lead/<leader>/document/       add a document (photo optional)
    /supply/lead/<leader>/file/           a new filing with its items
    /supply/lead/filing/<filing>/         one of my filings; resubmit when sent back
    /supply/lead/complain/                a resident's complaint about an approved filing

The leader is known by the proven phone matching an approved leader row (a living resident of that
compound); a leader or filing of another phone is the same 404 as a missing one.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from xiuhua.core.crypto import mask_name
from xiuhua.core.forms import apply_errors
from xiuhua.core.policy import public
from xiuhua.core.resident_phone import PhoneForm, PhoneSignIn, resident_phone, verified_phone
from xiuhua.residents.models import Resident

from . import services
from .models import ComplaintKind, DocKind, Filing, FilingStatus, Leader, Offer, OfferStatus, offer_items_prefetch

OTP_PURPOSE = "groupbuy_leader"
ITEM_ROWS = 8
_BIG = {"class": "big"}


def _start_page(request, _place, form: PhoneForm, status: int = 200):
    return render(request, "supply/lead/start.html", {"form": form, "phone": verified_phone(request)},
                  status=status)


sign_in = PhoneSignIn(
    purpose=OTP_PURPOSE,
    place=lambda request: None,
    phone_page=lambda request, place, form: _start_page(request, place, form, status=400),
    verify_template="supply/lead/verify.html",
    verify_context=lambda place: {},
    start=lambda place: redirect("supply:lead_start"),
    verify=lambda place: redirect("supply:lead_verify"),
    done=lambda place: redirect("supply:lead_home"),
)

_need_phone = resident_phone(template="supply/lead/need_phone.html")


@public
@require_http_methods(["GET"])
def lead_start(request):
    if verified_phone(request):
        return redirect("supply:lead_home")
    return _start_page(request, None, PhoneForm())


def _residents(phone: str):
    return (Resident.objects.filter(mobile=phone, living_status__in=services.LIVING)
            .select_related("household__building__parent").order_by("pk"))


def _my_leader(request, pk: int) -> Leader:
    leader = services.leaders_for_phone(request.resident_phone).filter(pk=pk).first()
    if leader is None:
        raise Http404
    return leader


def _my_filing(request, pk: int) -> Filing:
    filing = (Filing.objects.filter(pk=pk, leader__in=services.leaders_for_phone(request.resident_phone))
              .select_related("leader__compound").first())
    if filing is None:
        raise Http404
    return filing


@_need_phone
@require_http_methods(["GET"])
def lead_home(request):
    phone = request.resident_phone
    residents = list(_residents(phone))
    applications = {(a.resident_id, a.compound_id): a for a in
                    Leader.objects.filter(resident__in=residents).select_related("compound")}
    rows = []
    for resident in residents:
        compound = resident.household.building.parent
        rows.append({"resident": resident, "name": mask_name(resident.name), "compound": compound,
                     "leader": applications.get((resident.pk, compound.pk))})
    now = timezone.now()
    leaders = []
    for leader in services.leaders_for_phone(phone):
        documents = services.current_documents(leader, now)
        leaders.append({
            "leader": leader, "ban": services.leader_banned(leader),
            "documents": [(kind.label, documents.get(kind)) for kind in DocKind],
            "filings": leader.filings.order_by("-submitted_at")[:20],
            # What to bring: each offer's packs ordered per item.
            "offers": Offer.objects.filter(filing__leader=leader).exclude(status=OfferStatus.CANCELLED)
            .prefetch_related(offer_items_prefetch()).order_by("-created_at")[:10],
        })
    return render(request, "supply/lead/home.html", {"rows": rows, "leaders": leaders, "now": now})


@_need_phone
@require_POST
def lead_apply(request):
    resident = _residents(request.resident_phone).filter(pk=request.POST.get("resident") or 0).first()
    if resident is None:
        raise Http404
    try:
        services.leader_apply(actor=None, resident=resident, phone=request.resident_phone,
                              note=request.POST.get("note", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("申请已提交,居委会审核后即可报备团购"))
    return redirect("supply:lead_home")


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("证件类型"), choices=DocKind.choices)
    number = forms.CharField(label=gettext_lazy("证件编号"), max_length=60, required=False)
    holder = forms.CharField(label=gettext_lazy("持有人(司机姓名、供货单位或车牌)"), max_length=100, required=False)
    taken_at = forms.DateTimeField(label=gettext_lazy("核酸采样时间(司机核酸证明填写)"), required=False,
                                   widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    valid_until = forms.DateField(label=gettext_lazy("有效期至(许可证、通行证填写)"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))
    photo = forms.FileField(label=gettext_lazy("照片(可选)"), required=False)

    def clean(self):
        """A permit or pass whose printed date is past is refused by that date (the service
        refuses it too, by the same rule: valid to the end of the printed day, Beijing time)."""
        data = super().clean()
        day = data.get("valid_until")
        if data.get("kind") != DocKind.DRIVER_TEST and day is not None:
            ends = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=services.SHANGHAI)
            if ends <= timezone.now():
                self.add_error("valid_until", _("该证件有效期至%(day)s,已过期,请提供有效的证件") % {
                    "day": day.isoformat()})
        return data


@_need_phone
@require_http_methods(["GET", "POST"])
def lead_document(request, leader_pk: int):
    leader = _my_leader(request, leader_pk)
    form = DocumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.document_add(actor=None, phone=request.resident_phone, leader=leader, kind=data["kind"],
                                  number=data["number"], holder=data["holder"], taken_at=data["taken_at"],
                                  valid_until=data["valid_until"], photo=data["photo"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("证件已登记"))
            return redirect("supply:lead_home")
    return render(request, "supply/lead/document.html", {"leader": leader, "form": form},
                  status=400 if form.errors else 200)


class FilingForm(forms.Form):
    supplier = forms.CharField(label=gettext_lazy("供货商"), max_length=100, required=False)
    supplier_licence = forms.CharField(label=gettext_lazy("营业执照/食品经营许可证号"), max_length=60, required=False)
    driver_name = forms.CharField(label=gettext_lazy("司机姓名"), max_length=30, required=False)
    driver_phone = forms.CharField(label=gettext_lazy("司机电话"), max_length=20, required=False,
                                   widget=forms.TextInput(attrs={"inputmode": "tel"}))
    vehicle_plate = forms.CharField(label=gettext_lazy("车牌号"), max_length=20, required=False)
    window_start = forms.DateTimeField(label=gettext_lazy("送达开始"), required=False,
                                       widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    window_end = forms.DateTimeField(label=gettext_lazy("送达结束"), required=False,
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


ITEM_FIELDS = ("name", "unit", "pack_quantity", "price", "contents")


def items_from(post, rows: int = ITEM_ROWS) -> list[dict]:
    return [{f: str(post.get(f"item-{n}-{f}", ""))[:2000] for f in ITEM_FIELDS} for n in range(rows)]


def items_initial(filing: Filing | None) -> list[dict]:
    rows = [{f: "" for f in ITEM_FIELDS} for _n in range(ITEM_ROWS)]
    if filing is not None:
        for n, item in enumerate(filing.items.all()[:ITEM_ROWS]):
            rows[n] = {"name": item.name, "unit": item.unit, "pack_quantity": f"{item.pack_quantity.normalize():f}",
                       "price": f"{item.price}", "contents": item.contents}
    return rows


def filing_form_data(form: FilingForm, post) -> dict:
    data = dict(form.cleaned_data)
    data["items"] = items_from(post)
    return data


def filing_initial(filing: Filing) -> dict:
    return {"supplier": filing.supplier, "supplier_licence": filing.supplier_licence,
            "driver_name": filing.driver_name, "driver_phone": filing.driver_phone,
            "vehicle_plate": filing.vehicle_plate,
            "window_start": timezone.localtime(filing.window_start).strftime("%Y-%m-%dT%H:%M"),
            "window_end": timezone.localtime(filing.window_end).strftime("%Y-%m-%dT%H:%M")}


@_need_phone
@require_http_methods(["GET", "POST"])
def lead_file(request, leader_pk: int):
    leader = _my_leader(request, leader_pk)
    form = FilingForm(request.POST or None)
    items = items_from(request.POST) if request.method == "POST" else items_initial(None)
    if request.method == "POST" and form.is_valid():
        try:
            filing = services.filing_submit(actor=None, phone=request.resident_phone, leader=leader,
                                            data=filing_form_data(form, request.POST))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("报备已提交,编号 %(n)s,请等待居委会审核") % {"n": filing.number})
            return redirect("supply:lead_filing", filing.pk)
    return render(request, "supply/lead/file.html", {"leader": leader, "form": form, "items": items},
                  status=400 if form.errors else 200)


@_need_phone
@require_http_methods(["GET", "POST"])
def lead_filing(request, filing_pk: int):
    filing = _my_filing(request, filing_pk)
    editable = filing.status == FilingStatus.CHANGES_REQUESTED
    form = FilingForm(request.POST or None, initial=filing_initial(filing))
    items = items_from(request.POST) if request.method == "POST" else items_initial(filing)
    if request.method == "POST":
        if not editable:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.filing_resubmit(actor=None, phone=request.resident_phone, filing=filing,
                                         data=filing_form_data(form, request.POST))
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("已重新提交,请等待居委会审核"))
                return redirect("supply:lead_filing", filing.pk)
    return render(request, "supply/lead/filing.html", {
        "filing": filing, "form": form, "items": items, "editable": editable,
    }, status=400 if form.errors else 200)


class ComplaintForm(forms.Form):
    filing = forms.TypedChoiceField(label=gettext_lazy("团购"), coerce=int)
    kind = forms.ChoiceField(label=gettext_lazy("投诉类型"), choices=ComplaintKind.choices)
    text = forms.CharField(label=gettext_lazy("情况说明"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, filings, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["filing"].choices = [
            (f.pk, f"{f.number} {f.supplier} {timezone.localtime(f.window_start):%m-%d}") for f in filings]


def complaint_filings(phone: str):
    committees = _residents(phone).values("committee_id")
    since = timezone.now() - dt.timedelta(days=14)
    return (Filing.objects.filter(committee_id__in=committees, status=FilingStatus.APPROVED,
                                  window_start__gte=since).order_by("-window_start")[:50])


@_need_phone
@require_http_methods(["GET", "POST"])
def lead_complain(request):
    filings = list(complaint_filings(request.resident_phone))
    form = ComplaintForm(request.POST or None, filings=filings)
    if request.method == "POST" and form.is_valid():
        filing = next(f for f in filings if f.pk == form.cleaned_data["filing"])
        try:
            services.complaint_file(actor=None, phone=request.resident_phone, filing=filing,
                                    kind=form.cleaned_data["kind"], text=form.cleaned_data["text"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("投诉已提交,居委会会处理并联系您"))
            return redirect("supply:lead_home")
    return render(request, "supply/lead/complain.html", {"form": form, "filings": filings},
                  status=400 if form.errors else 200)
