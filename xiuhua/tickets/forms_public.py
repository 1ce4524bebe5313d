"""Forms of the resident's door pages: the request itself and the typed door code."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from xiuhua.core.phones import PhoneError, normalise_mobile

from .door_requests import door_photo_check
from .models import Category, Urgency

SUBMISSION_KEY = re.compile(r"^[A-Za-z0-9_-]{16,40}$")

_BIG = {"class": "big"}

URGENCY_CHOICES = [
    (Urgency.URGENT, _("紧急:今天就需要(如今天要透析、药已断)")),
    (Urgency.NORMAL, _("一般:几天内解决即可")),
]


class DoorRequestForm(forms.Form):
    """What the resident needs. The address comes from the door code, not from the form."""

    category = forms.ChoiceField(
        label=_("需要什么帮助"), choices=Category.choices, widget=forms.RadioSelect,
        error_messages={"required": _("请选择需要什么帮助"), "invalid_choice": _("请选择需要什么帮助")},
    )
    urgency = forms.ChoiceField(
        label=_("紧急程度"), choices=URGENCY_CHOICES, widget=forms.RadioSelect,
        error_messages={"required": _("请选择紧急程度"), "invalid_choice": _("请选择紧急程度")},
    )
    description = forms.CharField(
        label=_("具体情况"), max_length=1000,
        error_messages={"required": _("请写明需要什么帮助"), "max_length": _("请不要超过1000字")},
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("如:周三上午7点要去医院透析,需要车辆接送")}),
    )
    phone = forms.CharField(
        label=_("联系手机"), max_length=20, error_messages={"required": _("请填写联系手机,工作人员会打给您")},
        widget=forms.TextInput(attrs=_BIG | {"inputmode": "tel", "autocomplete": "tel"}),
    )
    photo = forms.FileField(
        label=_("照片(可不附,如药盒、病历)"), required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}),
    )
    submission_key = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_phone(self) -> str:
        try:
            phone = normalise_mobile(self.cleaned_data["phone"])
        except PhoneError as exc:
            raise ValidationError(str(exc)) from None
        if not phone:
            raise ValidationError(_("请填写联系手机,工作人员会打给您"))
        return phone

    def clean_submission_key(self) -> str:
        key = self.cleaned_data.get("submission_key") or ""
        if not SUBMISSION_KEY.match(key):
            raise ValidationError(_("页面已过期,请重新提交"))
        return key

    def clean_photo(self) -> UploadedFile | None:
        """At most 5 MB, JPEG or PNG, of sane dimensions, judged from the file's header only: it is
        decoded and kept as a fresh JPEG by door_request_submit, once the request passed its limits."""
        upload = self.cleaned_data.get("photo")
        if not upload:
            return None
        door_photo_check(upload)
        return upload


class DoorCodeForm(forms.Form):
    """The code printed on the door card, for those who cannot scan it."""

    code = forms.CharField(
        label=_("门牌求助码"), max_length=30,
        error_messages={"required": _("请填写门上卡片印的求助码")},
        widget=forms.TextInput(attrs=_BIG | {"placeholder": _("如 1234-K7M2Q9XA"), "autocapitalize": "characters",
                                             "autocomplete": "off"}),
    )
