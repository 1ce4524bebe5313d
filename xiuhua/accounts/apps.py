from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "xiuhua.accounts"
    label = "accounts"
    verbose_name = "账号"
