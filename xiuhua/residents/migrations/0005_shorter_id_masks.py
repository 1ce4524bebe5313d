"""Stored masked identity numbers keep the first 3 and last 2 characters, no longer the last 4
(docs/architecture.md, masking rule); derived from the stored masks, nothing is decrypted."""

from django.db import migrations

from xiuhua.core.remask import shorten_masked_column, shorten_masks_in_text_column


def shorten(apps, schema_editor):
    shorten_masked_column(apps.get_model("residents", "Resident"))
    shorten_masks_in_text_column(apps.get_model("residents", "RosterExport"), "description")
    shorten_masks_in_text_column(apps.get_model("residents", "RosterProblem"), "message")


class Migration(migrations.Migration):
    dependencies = [("residents", "0004_resident_name_trigram")]

    # Backwards keeps the shorter masks: the old form showed more than it should.
    operations = [migrations.RunPython(shorten, migrations.RunPython.noop, elidable=True)]
