"""One alert per reading: alerts gain their list of reasons, and the open alerts a single contact
raised (a fever and a symptom from one reading were two alerts, each to close) become one.

Every alert gets reasons = [its kind]. Where a contact has several alerts, they become one: the
open one with the lowest id when any is open (it still needs closing, now once), else the one
closed last (keeping who closed it, when, and every closing note); reasons in the order
fever, symptoms, misses; the others are deleted. Their raising and closing stay in the audit
trail. Nothing personal is read or logged.
"""

from collections import defaultdict

from django.db import migrations, models
from django.db.models import Count

ORDER = ("fever", "symptoms", "misses")


def merge_alerts_of_one_reading(apps, schema_editor):
    Alert = apps.get_model("isolation", "Alert")
    for kind in ORDER:
        Alert.objects.filter(kind=kind).update(reasons=[kind])
    contacts = (
        Alert.objects.values("contact_id").annotate(n=Count("pk")).filter(n__gt=1).values_list("contact_id", flat=True)
    )
    groups = defaultdict(list)
    for alert in Alert.objects.filter(contact_id__in=list(contacts)).order_by("contact_id", "pk"):
        groups[alert.contact_id].append(alert)
    for alerts in groups.values():
        reasons = [kind for kind in ORDER if any(a.kind == kind for a in alerts)]
        open_ = [a for a in alerts if a.handled_at is None]
        if open_:
            keep = open_[0]
        else:
            keep = max(alerts, key=lambda a: (a.handled_at, a.pk))
            notes = []
            for a in sorted(alerts, key=lambda a: (a.handled_at, a.pk)):
                if a.handled_note and a.handled_note not in notes:
                    notes.append(a.handled_note)
            keep.handled_note = ";".join(notes)[:200]
        keep.kind, keep.reasons = reasons[0], reasons
        keep.raised_at = min(a.raised_at for a in alerts)
        # The others go first: (contact, kind) is still unique until 0010.
        Alert.objects.filter(pk__in=[a.pk for a in alerts if a.pk != keep.pk]).delete()
        keep.save(update_fields=["kind", "reasons", "raised_at", "handled_note"])


class Migration(migrations.Migration):

    dependencies = [
        ("isolation", "0008_self_registrations_wait_for_staff"),
    ]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="reasons",
            field=models.JSONField(default=list, verbose_name="预警原因"),
        ),
        migrations.RunPython(merge_alerts_of_one_reading, migrations.RunPython.noop),
    ]
