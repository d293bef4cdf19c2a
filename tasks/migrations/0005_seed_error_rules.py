"""Seed the diagnostic rules that split the catch-all codes (tasks/error_catalog.default_rules)."""

from django.db import migrations


def seed(apps, schema_editor):
    from tasks.errors.registry import default_rules

    ErrorRule = apps.get_model("tasks", "ErrorRule")
    if ErrorRule.objects.exists():
        return
    ErrorRule.objects.bulk_create([ErrorRule(**rule) for rule in default_rules()])


class Migration(migrations.Migration):
    dependencies = [("tasks", "0004_error_rules_and_failure_fields")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
