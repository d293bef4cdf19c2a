"""Make a job row cheaper to insert: no index duplicated by a composite one, partial indexes on what new jobs
lack, and on PostgreSQL the one-to-one `previous` kept unique by a partial index (NULLs need no entry).
A job output's lfn is unique by a constraint, without the LIKE index Django adds to `unique=True` fields.

The FK constraints all stay. Django's state still says `unique=True` for `previous` (it is a OneToOneField);
only the database object differs, so the partial index is made here by hand, on PostgreSQL only (SQLite
cannot drop an inline UNIQUE without rebuilding the table, and its speed is not the point there).
"""

import django.db.models.deletion
from django.db import migrations, models

PREVIOUS_UNIQUE = "tasks_job_previous_id_key"  # the name Django gave the OneToOneField's UNIQUE constraint


def previous_unique_partial(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE tasks_job DROP CONSTRAINT {PREVIOUS_UNIQUE}")
    schema_editor.execute(
        f"CREATE UNIQUE INDEX {PREVIOUS_UNIQUE} ON tasks_job (previous_id) WHERE previous_id IS NOT NULL"
    )


def previous_unique_full(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX {PREVIOUS_UNIQUE}")
    schema_editor.execute(f"ALTER TABLE tasks_job ADD CONSTRAINT {PREVIOUS_UNIQUE} UNIQUE (previous_id)")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_dataset_name_trigram"),
        ("tasks", "0005_seed_error_rules"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="job",
            name="job_site_status",
        ),
        migrations.RemoveIndex(
            model_name="job",
            name="job_status_ended",
        ),
        migrations.AlterField(
            model_name="job",
            name="ended_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="job",
            name="error_rule",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="tasks.errorrule",
            ),
        ),
        migrations.AlterField(
            model_name="job",
            name="site",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="jobs",
                to="catalog.site",
            ),
        ),
        migrations.AlterField(
            model_name="job",
            name="task",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="jobs",
                to="tasks.productiontask",
            ),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("site__isnull", False)), fields=["site", "status"], name="job_site_status"
            ),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("ended_at__isnull", False)), fields=["status", "ended_at"], name="job_status_ended"
            ),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("error_rule__isnull", False)), fields=["error_rule"], name="job_error_rule"
            ),
        ),
        migrations.RunPython(previous_unique_partial, previous_unique_full),
        migrations.AddConstraint(
            model_name="joboutput",
            constraint=models.UniqueConstraint(fields=("lfn",), name="output_lfn_unique"),
        ),
        migrations.AlterField(
            model_name="joboutput",
            name="lfn",
            field=models.CharField(max_length=255),
        ),
    ]
