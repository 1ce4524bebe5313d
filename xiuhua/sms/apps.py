from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "xiuhua.sms"
    label = "sms"
    verbose_name = "短信"
