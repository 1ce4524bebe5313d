"""Forms of the work-order staff pages: they parse input; the services decide.

Fields the services check themselves (a reply, a satisfaction score, a reason to reopen) are
optional here, so the service's own Chinese message is the one shown.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import cast

from django import forms
from django.core import signing
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from xiuhua.accounts.models import Membership
from xiuhua.places.addresses import room_key
from xiuhua.places.models import Kind, OrgUnit
from xiuhua.residents.selectors import find_building, find_household

from .calendar import DeadlineClass
from .departments import NAME_MAX, RuleChange
from .models import Category, Department, Source, Urgency
from .services import MAX_EXTENSION_DAYS

# Board


EXTENSION_DAYS_RANGE = ngettext_lazy("延期天数为1-%(max)d个工作日", "延期天数为1-%(max)d个工作日", "max") % {
    "max": MAX_EXTENSION_DAYS}


class State:
    """The board's deadline filter (the long overdue are among the overdue)."""

    OVERDUE = "overdue"
    SOON = "soon"
    OK = "ok"
    EXTENSION = "extension"
    WAITING = "waiting"
    WAITING_LATE = "waiting_late"
    CHOICES = [
        ("", _("全部")),
        (WAITING, _("紧急待受理")),
        (WAITING_LATE, _("紧急超时未受理")),
        (OVERDUE, _("已超时")),
        (SOON, _("即将到期")),
        (OK, _("未到期")),
        (EXTENSION, _("申请延期待批")),
    ]


def committees_under(unit: OrgUnit) -> QuerySet:
    return OrgUnit.objects.filter(kind=Kind.COMMITTEE, path__startswith=unit.path).select_related("parent")


def departments_under(unit: OrgUnit) -> QuerySet:
    """Departments of the streets at or under the unit (none for a committee)."""
    if unit.kind == Kind.COMMITTEE:
        return Department.objects.none()
    streets = OrgUnit.objects.filter(kind=Kind.STREET, path__startswith=unit.path)
    return Department.objects.filter(street__in=streets).select_related("street").order_by("street__path", "name")


class _UnitChoice(forms.ModelChoiceField):
    """Units or departments, labelled with the unit above them when several of those are listed."""

    def __init__(self, *args, with_parent: bool = False, **kwargs):
        self.with_parent = with_parent
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj) -> str:
        if not self.with_parent:
            return str(obj.name)
        # A compound is labelled with its committee, a committee or department with its street.
        above = obj.parent if isinstance(obj, OrgUnit) else obj.street
        return f"{above.name} · {obj.name}" if above is not None else str(obj.name)


class BoardFilterForm(forms.Form):
    """Querystring filters, each limited to what the active membership may see; an invalid one
    is reported and left out."""

    committee = _UnitChoice(
        label=_("居委会"), queryset=OrgUnit.objects.none(), required=False, empty_label=_("全部"),
        error_messages={"invalid_choice": _("请选择您辖区内的居委会")},
    )
    department = _UnitChoice(
        label=_("职能部门"), queryset=Department.objects.none(), required=False, empty_label=_("全部"),
        error_messages={"invalid_choice": _("请选择您可以查看的部门")},
    )
    category = forms.ChoiceField(
        label=_("类别"), required=False, choices=[("", _("全部")), *Category.choices],
        error_messages={"invalid_choice": _("请选择类别")},
    )
    state = forms.ChoiceField(
        label=_("时限"), required=False, choices=State.CHOICES,
        error_messages={"invalid_choice": _("请选择时限状态")},
    )

    def __init__(self, *args, membership: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        unit = membership.org_unit
        committee = cast(_UnitChoice, self.fields["committee"])
        department = cast(_UnitChoice, self.fields["department"])
        if membership.role == "department_staff":
            del self.fields["committee"]
            mine = Department.objects.filter(members=membership).order_by("name")
            if mine.count() > 1:
                department.queryset = mine
                department.label = _("我的部门")
            else:
                del self.fields["department"]
        elif unit.kind == Kind.COMMITTEE:
            del self.fields["committee"]
            del self.fields["department"]
        else:
            several = unit.kind != Kind.STREET
            committee.queryset = committees_under(unit).order_by("path")
            committee.with_parent = several
            department.queryset = departments_under(unit)
            department.with_parent = several

    def filters(self) -> dict:
        """The valid filters (an invalid field is dropped, and its error shown)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


# Intake

INTAKE_SALT = "xiuhua.tickets.intake"
INTAKE_KEY_MAX_AGE = 12 * 3600


def intake_key(user) -> str:
    """A one-time key for one rendered intake form: signed, bound to the user, with the time the
    form was issued (microseconds). A ticket this user took in since then with the same content
    is this form's ticket, so sending the form again cannot make a second one."""
    payload = {"u": user.pk, "t": time.time_ns() // 1000, "n": secrets.token_hex(8)}
    return signing.dumps(payload, salt=INTAKE_SALT)


def intake_key_issued(key: str, user) -> dt.datetime | None:
    """When the key was issued, or None when it is forged, someone else's or too old."""
    try:
        payload = signing.loads(key or "", salt=INTAKE_SALT, max_age=INTAKE_KEY_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("u") != user.pk or not isinstance(payload.get("t"), int):
        return None
    return dt.datetime.fromtimestamp(payload["t"] / 1_000_000, tz=dt.UTC)


STAFF_SOURCES = [(s.value, s.label) for s in (Source.CALL, Source.WALK_IN, Source.HOTLINE)]


class IntakeForm(forms.Form):
    """A call, a walk-in or a 12345 order typed in by staff."""

    source = forms.ChoiceField(
        label=_("来源"), choices=STAFF_SOURCES, initial=Source.CALL, widget=forms.RadioSelect,
        error_messages={"required": _("请选择来源"), "invalid_choice": _("请选择来源")},
    )
    category = forms.ChoiceField(
        label=_("类别"), choices=[("", _("请选择")), *Category.choices],
        error_messages={"required": _("请选择类别"), "invalid_choice": _("请选择类别")},
    )
    urgency = forms.ChoiceField(
        label=_("紧急程度"), choices=Urgency.choices, initial=Urgency.NORMAL, widget=forms.RadioSelect,
        error_messages={"required": _("请选择紧急程度"), "invalid_choice": _("请选择紧急程度")},
    )
    description = forms.CharField(
        label=_("诉求内容"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("请写明需要什么帮助"), "max_length": _("诉求内容不能超过2000字")},
    )
    committee = forms.ModelChoiceField(
        label=_("居委会"), queryset=OrgUnit.objects.none(), empty_label=_("请选择"),
        error_messages={"required": _("请选择居委会"), "invalid_choice": _("请选择您辖区内的居委会")},
    )
    compound = _UnitChoice(
        label=_("小区"), queryset=OrgUnit.objects.none(), required=False, empty_label=_("不填门牌"),
        error_messages={"invalid_choice": _("请选择所选居委会的小区")},
    )
    building = forms.CharField(
        label=_("楼号"), max_length=20, required=False, widget=forms.TextInput(attrs={"placeholder": _("如 5号")}),
    )
    room = forms.CharField(
        label=_("室号"), max_length=20, required=False,
        widget=forms.TextInput(attrs={"placeholder": _("如 302"), "inputmode": "numeric"}),
    )
    requester_name = forms.CharField(label=_("联系人"), max_length=50, required=False)
    requester_phone = forms.CharField(
        label=_("手机号"), max_length=20, required=False,
        help_text=_("留了手机号的,会收到登记短信和查看进度的链接"),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    external_number = forms.CharField(
        label=_("12345工单号"), max_length=40, required=False, widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    deadline_class = forms.ChoiceField(
        label=_("办理时限类别"), required=False,
        choices=[("", _("按类别和紧急程度")), *[c for c in DeadlineClass.choices if c[0] != DeadlineClass.EMERGENCY]],
        help_text=_("12345工单按派单上的时限类别填写"),
        error_messages={"invalid_choice": _("请选择办理时限类别")},
    )

    def __init__(self, *args, membership: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        unit = membership.org_unit
        committees = committees_under(unit).order_by("path")
        committee = cast(forms.ModelChoiceField, self.fields["committee"])
        committee.queryset = committees
        if unit.kind == Kind.COMMITTEE:
            committee.empty_label = None
            committee.initial = unit.pk
        compound = cast(_UnitChoice, self.fields["compound"])
        compound.queryset = (
            OrgUnit.objects.filter(kind=Kind.COMPOUND, committee__in=committees).select_related("parent")
            .order_by("path")
        )
        compound.with_parent = unit.kind != Kind.COMMITTEE  # several committees: "居委会 · 小区"

    def clean(self):
        data = super().clean()
        if data.get("source") == Source.HOTLINE:
            if not (data.get("external_number") or "").strip():
                self.add_error("external_number", _("请填写12345工单号"))
            if not data.get("deadline_class"):
                self.add_error("deadline_class", _("请按12345派单选择办理时限类别"))
        else:
            data["external_number"] = ""
        data["household"] = self._household(data)
        return data

    def _household(self, data):
        compound, building_text, room = data.get("compound"), data.get("building"), data.get("room")
        if compound is None and not building_text and not room:
            return None
        committee = data.get("committee")
        if compound is None:
            self.add_error("compound", _("填写门牌时请选择小区"))
            return None
        if committee is not None and compound.committee_id != committee.pk:
            self.add_error("compound", _("请选择所选居委会的小区"))
            return None
        if not building_text:
            self.add_error("building", _("请填写楼号"))
        if not room:
            self.add_error("room", _("请填写室号"))
        if not building_text or not room:
            return None
        building = find_building(compound, building_text)
        if building is None:
            self.add_error("building", _("%(compound)s没有“%(building)s”这个楼号,请核对")
                           % {"compound": compound.name, "building": building_text})
            return None
        household = find_household(building, room)
        if household is None:
            self.add_error("room", _("花名册中没有%(address)s这一户,请核对室号")
                           % {"address": _("%(compound)s%(building)s%(room)s室") % {
                               "compound": compound.name, "building": building.name, "room": room_key(room)}})
            return None
        return household

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "source": data["source"], "category": data["category"], "urgency": data["urgency"],
            "description": data["description"], "committee": data["committee"], "household": data["household"],
            "requester_name": data["requester_name"], "requester_phone": data["requester_phone"],
            "external_number": data["external_number"], "deadline_class": data["deadline_class"] or None,
        }


# Moves (TRANSITIONS)


class NoteForm(forms.Form):
    note = forms.CharField(label=_("备注"), max_length=500, required=False)

    def service_kwargs(self) -> dict:
        return {"note": self.cleaned_data["note"]}


class DispatchForm(NoteForm):
    RULE = "rule"
    to = forms.ChoiceField(
        label=_("派往"), error_messages={"required": _("请选择派往的部门或居委会"),
                                          "invalid_choice": _("请选择派往的部门或居委会")},
    )

    def __init__(self, *args, street: OrgUnit | None, rule_label: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.departments = {str(d.pk): d for d in Department.objects.filter(street=street).order_by("name")}
        self.committees = {
            str(c.pk): c for c in OrgUnit.objects.filter(kind=Kind.COMMITTEE, parent=street).order_by("path")
        }
        rule = _("按派单规则") + (f"({rule_label})" if rule_label else "")
        choices: list = [(self.RULE, rule)]
        if self.departments:
            choices.append((_("职能部门"), [(f"d{k}", d.name) for k, d in self.departments.items()]))
        if self.committees:
            choices.append((_("居委会"), [(f"c{k}", c.name) for k, c in self.committees.items()]))
        cast(forms.ChoiceField, self.fields["to"]).choices = choices
        self.fields["to"].initial = self.RULE
        self.order_fields(["to", "note"])

    def service_kwargs(self) -> dict:
        to = self.cleaned_data["to"]
        return {
            "note": self.cleaned_data["note"],
            "department": self.departments.get(to[1:]) if to.startswith("d") else None,
            "committee": self.committees.get(to[1:]) if to.startswith("c") else None,
        }


class ReplyForm(forms.Form):
    reply = forms.CharField(
        label=_("给居民的答复"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}),
    )

    def service_kwargs(self) -> dict:
        return {"reply": self.cleaned_data["reply"]}


SATISFACTION_CHOICES = [(5, _("5 非常满意")), (4, _("4 满意")), (3, _("3 一般")), (2, _("2 不满意")),
                        (1, _("1 非常不满意"))]


class CallBackForm(NoteForm):
    satisfaction = forms.TypedChoiceField(
        label=_("满意度"), choices=SATISFACTION_CHOICES, coerce=int, required=False, empty_value=None,
        widget=forms.RadioSelect, error_messages={"invalid_choice": _("请选择满意度(1-5)")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(["satisfaction", "note"])

    def service_kwargs(self) -> dict:
        return {"note": self.cleaned_data["note"], "satisfaction": self.cleaned_data["satisfaction"]}


class ReopenForm(NoteForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["note"].label = _("重新打开的原因")


class ReclassifyForm(forms.Form):
    category = forms.ChoiceField(label=_("类别"), choices=Category.choices)
    urgency = forms.ChoiceField(label=_("紧急程度"), choices=Urgency.choices)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)


class UrgeForm(forms.Form):
    note = forms.CharField(
        label=_("催办要求"), max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("如:请今天18点前联系居民并反馈")}),
        error_messages={"required": _("请写明催办的要求")},
    )


ACTION_FORMS: dict[str, type[forms.Form]] = {
    "accept": NoteForm,
    "dispatch": DispatchForm,
    "redispatch": DispatchForm,
    "start": NoteForm,
    "reply": ReplyForm,
    "close": NoteForm,
    "call_back": CallBackForm,
    "reopen": ReopenForm,
}


class ExtensionRequestForm(forms.Form):
    days = forms.IntegerField(
        label=_("延期(工作日)"), required=False, min_value=1, max_value=MAX_EXTENSION_DAYS,
        error_messages={
            "invalid": EXTENSION_DAYS_RANGE,
            "min_value": EXTENSION_DAYS_RANGE,
            "max_value": EXTENSION_DAYS_RANGE,
        },
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_EXTENSION_DAYS, "inputmode": "numeric"}),
    )
    reason = forms.CharField(label=_("延期理由"), max_length=300, required=False)

    def service_kwargs(self) -> dict:
        return {"days": self.cleaned_data["days"], "reason": self.cleaned_data["reason"]}


class ExtensionDecideForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("批准")), ("refuse", _("不批准"))],
        error_messages={"required": _("请选择批准或不批准"), "invalid_choice": _("请选择批准或不批准")},
    )
    note = forms.CharField(label=_("审批意见(不批准时必填)"), max_length=300, required=False)

    def service_kwargs(self) -> dict:
        return {"approve": self.cleaned_data["decision"] == "approve", "note": self.cleaned_data["note"]}


# Departments and routing rules


class DepartmentForm(forms.Form):
    name = forms.CharField(
        label=_("部门名称"), max_length=NAME_MAX, required=False,
        widget=forms.TextInput(attrs={"placeholder": _("如 社区卫生服务中心")}),
    )


def member_label(membership: Membership) -> str:
    return f"{membership.user} · {membership.get_role_display()}"


class _MembershipChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return member_label(obj)


class MemberForm(forms.Form):
    membership = _MembershipChoice(
        label=_("添加成员"), queryset=Membership.objects.none(), empty_label=_("请选择"),
        error_messages={"required": _("请选择要添加的人员"), "invalid_choice": _("只能添加本街道的在岗人员")},
    )

    def __init__(self, *args, candidates: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["membership"]).queryset = candidates


class RemoveMemberForm(forms.Form):
    membership = forms.ModelChoiceField(
        queryset=Membership.objects.none(), error_messages={"invalid_choice": _("该人员不是本部门成员"),
                                                            "required": _("该人员不是本部门成员")},
    )

    def __init__(self, *args, department: Department, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["membership"]).queryset = department.members.all()


class HeadForm(forms.Form):
    head = _MembershipChoice(
        label=_("负责人"), queryset=Membership.objects.none(), required=False, empty_label=_("(无)"),
        error_messages={"invalid_choice": _("负责人须是本部门成员")},
    )

    def __init__(self, *args, department: Department, **kwargs):
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["head"])
        field.queryset = department.members.filter(active=True).select_related("user").order_by("pk")
        field.initial = department.head_id


STREET_COLUMN = "street"


class RoutingRulesForm(forms.Form):
    """The rules of one street as a table: a category per row; the whole street and each
    committee's exception per column; a cell is a department, or empty for no rule. Each cell
    carries the value it was shown with, so saving changes only the cells this officer changed
    (and leaves alone what someone else changed meanwhile)."""

    def __init__(self, *args, street: OrgUnit, rules, **kwargs):
        super().__init__(*args, **kwargs)
        self.street = street
        self.departments = {str(d.pk): d for d in Department.objects.filter(street=street).order_by("name")}
        self.committees = list(OrgUnit.objects.filter(kind=Kind.COMMITTEE, parent=street).order_by("path"))
        current = {(r.category, r.committee_id): str(r.department_id) for r in rules}
        options = [(k, d.name) for k, d in self.departments.items()]
        self.columns: list[tuple[str, OrgUnit | None]] = [(STREET_COLUMN, None)] + [
            (str(c.pk), c) for c in self.committees
        ]
        for category, _label in Category.choices:
            for col, committee in self.columns:
                was = current.get((category, committee.pk if committee else None), "")
                empty = _("无规则(派回本居委会)") if committee is None else _("同全街道")
                name = f"r_{category}_{col}"
                self.fields[name] = forms.ChoiceField(
                    label="", required=False, choices=[("", empty), *options], initial=was,
                    error_messages={"invalid_choice": _("只能派往本街道的部门")},
                )
                self.fields[f"w_{category}_{col}"] = forms.CharField(
                    required=False, initial=was, widget=forms.HiddenInput,
                )

    def rows(self):
        """(category label, [(cell field, its hidden 'was' field, column name)]) for the template."""
        names = [c.name if c is not None else _("全街道") for _col, c in self.columns]
        for category, label in Category.choices:
            yield label, [
                (self[f"r_{category}_{col}"], self[f"w_{category}_{col}"], name)
                for (col, _c), name in zip(self.columns, names, strict=True)
            ]

    def changes(self) -> list[RuleChange]:
        changed = []
        for category, _label in Category.choices:
            for col, committee in self.columns:
                value = self.cleaned_data.get(f"r_{category}_{col}") or ""
                was = self.cleaned_data.get(f"w_{category}_{col}") or ""
                if value != was:
                    changed.append(RuleChange(category, committee, self.departments.get(value)))
        return changed
