"""Seed the error-code registry from the real pilot and transform tables (tasks/error_data/README.md)."""

from django.db import migrations


def seed(apps, schema_editor):
    from tasks.errors.registry import seed_rows

    ErrorCode = apps.get_model("tasks", "ErrorCode")
    existing = set(ErrorCode.objects.values_list("source", "code"))
    ErrorCode.objects.bulk_create(
        [ErrorCode(**row) for row in seed_rows() if (row["source"], row["code"]) not in existing]
    )


class Migration(migrations.Migration):
    dependencies = [("tasks", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
