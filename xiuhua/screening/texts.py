"""The screening plan's SMS: each household's call slot (sms.texts; the provider approves the text
word for word, so it is not translated). Registered on import; apps.py imports this module in
ready() so the staff SMS page can label the purpose."""

from django.utils.translation import gettext_lazy as _

from xiuhua.sms.texts import register_purpose, register_template

SLOT = register_template(
    "XH_SCREEN_SLOT", "核酸筛查:请{building}居民{day}{start}-{end}到{site}采样,带好手机或采样码,戴好口罩。"
)
SLOT_PURPOSE = register_purpose("screening_slot", _("核酸筛查时段通知"))
