"""A trigram index on residents' names, on PostgreSQL only.

Staff search names by any part ("秀英"); `name LIKE '%秀英%'` over a district's million residents
is a sequential scan (200-300 ms). With pg_trgm, names of three or more characters come back in
about a millisecond. pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may
create it. SQLite has no equivalent and needs none at its scale.
"""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS resident_name_trgm ON residents_resident USING gin (name gin_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS resident_name_trgm")


class Migration(migrations.Migration):
    dependencies = [("residents", "0003_drop_unscoped_search_indexes")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
