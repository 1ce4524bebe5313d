from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MAX_FILE_BYTES = 20 * 1024 * 1024  # 100,000 rows of a lab's CSV are ~4 MB
_EXTENSIONS = (".xlsx", ".csv")


class LabFileForm(forms.Form):
    file = forms.FileField(
        label=_("检测结果文件(.xlsx 或 .csv,不超过20MB)"),
        widget=forms.FileInput(attrs={"accept": ",".join(_EXTENSIONS)}),
        error_messages={"required": _("请选择检测结果文件"), "empty": _("文件是空的")},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:  # counted by the upload handler, before anything is read
            raise ValidationError(_("文件超过20MB,请拆分后上传"))
        if not upload.name.lower().endswith(_EXTENSIONS):
            raise ValidationError(_("请上传 .xlsx 或 .csv 文件(旧版 .xls 请先另存为 .xlsx)"))
        return upload


class RetestForm(forms.Form):
    barcode = forms.CharField(label=_("单管试管条码"), max_length=60,
                              error_messages={"required": _("请扫描或输入试管条码")},
                              widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}))
