"""Rollups and samples sum `events_merged` (tasks 0009). On a database that already had tasks, run
`manage.py rebuild_rollups --rollups-only` once after migrating, so that the rollups count them too (a migration
must not run today's rebuild code against yesterday's tables)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0003_rollups_within_a_scope"),
        ("tasks", "0009_task_events_merged"),
    ]

    operations = [
        migrations.AddField(model_name="rollup", name="events_merged", field=models.BigIntegerField(default=0)),
        migrations.AddField(model_name="sample", name="events_merged", field=models.BigIntegerField(default=0)),
    ]
