from django.db import migrations, models


def photos_are_photos(apps, schema_editor):
    """Pledges stored before signatures existed are all photos."""
    CaseStep = apps.get_model("isolation", "CaseStep")
    CaseStep.objects.exclude(pledge_photo="").update(pledge_kind="photo")


class Migration(migrations.Migration):

    dependencies = [
        ("isolation", "0005_pledge_photo"),
    ]

    operations = [
        migrations.AddField(
            model_name="casestep",
            name="pledge_kind",
            field=models.CharField(
                blank=True, choices=[("photo", "承诺书照片"), ("signature", "屏幕签名")], max_length=10,
                verbose_name="承诺方式",
            ),
        ),
        migrations.RunPython(photos_are_photos, migrations.RunPython.noop, elidable=True),
    ]
