"""Stored masked identity numbers keep the first 3 and last 2 characters, no longer the last 4
(docs/architecture.md, masking rule); derived from the stored masks, nothing is decrypted."""

from django.db import migrations

from xiuhua.core.remask import shorten_masked_column


def shorten(apps, schema_editor):
    shorten_masked_column(apps.get_model("masks", "Reservation"))


class Migration(migrations.Migration):
    dependencies = [("masks", "0005_reservation_phone_index")]

    # Backwards keeps the shorter masks: the old form showed more than it should.
    operations = [migrations.RunPython(shorten, migrations.RunPython.noop, elidable=True)]
