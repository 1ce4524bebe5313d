"""`manage.py sms_templates`: every message template the system sends, one per line as
CODE<TAB>text, for registering them with the SMS provider (Chinese providers send only
templates they have approved, under the sign in SMS_SIGN_NAME)."""

from django.core.management.base import BaseCommand

from xiuhua.sms.texts import all_templates


class Command(BaseCommand):
    help = "List the SMS templates to register with the provider."

    def handle(self, *args, **options):
        for template in all_templates():
            self.stdout.write(f"{template.code}\t{template.text}")
