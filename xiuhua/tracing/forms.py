"""Forms of the tracing pages: they parse input; the services decide."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xiuhua.places.models import OrgUnit

from . import services
from .models import EntryStatus, ListSource, TracingBatch
from .workflows import REPORT_ACTIONS

_LOCAL_DT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_DT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
_EXTENSIONS = (".xlsx", ".csv")


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("清单文件(.xlsx 或 .csv,不超过10MB)"),
        widget=forms.FileInput(attrs={"accept": ",".join(_EXTENSIONS)}),
        error_messages={"required": _("请选择清单文件"), "empty": _("文件是空的")},
    )
    source = forms.ChoiceField(label=_("来源"), choices=ListSource.choices)
    reference = forms.CharField(
        label=_("批次名称"), max_length=100, error_messages={"required": _("请填写批次名称")}
    )
    received_at = forms.DateTimeField(
        label=_("清单到达时间"), widget=_LOCAL_DT, input_formats=_DT_FORMATS,
        error_messages={"required": _("请填写清单到达时间"), "invalid": _("请填写正确的日期和时间")},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # The size the upload handler counted: a file too large is refused before it is read.
        if upload.size > services.MAX_FILE_BYTES:
            raise ValidationError(_("文件超过10MB,请拆分后上传"))
        if not upload.name.lower().endswith(_EXTENSIONS):
            raise ValidationError(_("请上传 .xlsx 或 .csv 文件(旧版 .xls 请先另存为 .xlsx)"))
        return upload


class ReportForm(forms.Form):
    status = forms.ChoiceField(
        label=_("落实结果"),
        # The outcomes the workflow declares a committee may report.
        choices=[(outcome, EntryStatus(outcome).label) for outcome in REPORT_ACTIONS],
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择落实结果"), "invalid_choice": _("请选择落实结果")},
    )
    note = forms.CharField(
        label=_("说明"),
        max_length=200,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("不在该地址或信息有误时必须填写"),
    )


class AssignForm(forms.Form):
    """Send an entry to a committee of the officer's street, or to another street's queue."""

    to = forms.TypedChoiceField(
        label=_("分派给"),
        coerce=int,
        error_messages={"required": _("请选择居委会或街道"), "invalid_choice": _("请选择居委会或街道")},
    )
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

    def __init__(self, *args, committees: list[OrgUnit], streets: list[OrgUnit], **kwargs):
        super().__init__(*args, **kwargs)
        self.units = {u.pk: u for u in (*committees, *streets)}
        choices: list = [("", _("请选择"))]
        if committees:
            choices.append((_("本街道居委会"), [(c.pk, c.name) for c in committees]))
        if streets:
            choices.append((_("转至其他街道"), [(s.pk, s.name) for s in streets]))
        self.fields["to"].choices = choices  # type: ignore[attr-defined]

    def clean_to(self) -> OrgUnit:
        return self.units[self.cleaned_data["to"]]


class BatchFilterForm(forms.Form):
    """The worklist's and the triage queue's one filter: which list (批次). A list the user cannot
    see is not offered, and one sent anyway is left out, as if none were picked."""

    batch = forms.ModelChoiceField(label=_("清单"), queryset=TracingBatch.objects.none(), required=False,
                                   empty_label=_("全部清单"))

    def __init__(self, *args, batches, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["batch"]
        field.queryset = batches.order_by("-received_at", "-pk")  # type: ignore[attr-defined]
        field.label_from_instance = lambda b: f"{b.reference}({timezone.localtime(b.received_at):%m-%d %H:%M})"  # type: ignore[attr-defined]

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        return {name: value for name, value in self.cleaned_data.items() if value}
