"""Job rows cheaper to write (issue 4).

- `inputs` is JSON kept as text on PostgreSQL (as on SQLite) instead of `jsonb`: only ever read whole, in Python.
- No FK constraint from a job to its task: the database checked each new row on its own at commit;
  `jobstate.jobs_create` checks the tasks of a batch at once instead. Django still cascades deletes.
- A job output's `merged_into` is indexed only once set (new outputs add no entry).
On SQLite the first two only rebuild the table.
"""

import deft.fields
import django.db.models.deletion
from django.db import migrations, models


def inputs_as_text(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE tasks_job ALTER COLUMN inputs TYPE text")


def inputs_as_jsonb(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE tasks_job ALTER COLUMN inputs TYPE jsonb USING inputs::jsonb")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_files_and_replicas_cheaper_inserts"),
        ("tasks", "0007_task_indexes_for_cheap_moves"),
    ]

    operations = [
        # Django sees the same internal type (JSONField) and would change the column without a USING, which
        # PostgreSQL refuses on the way back: the column's type changes here by hand (SQLite: both are text).
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="job",
                    name="inputs",
                    field=deft.fields.JSONTextField(blank=True, default=list),
                ),
            ],
            database_operations=[migrations.RunPython(inputs_as_text, inputs_as_jsonb)],
        ),
        migrations.AlterField(
            model_name="job",
            name="task",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="jobs",
                to="tasks.productiontask",
            ),
        ),
        migrations.AlterField(
            model_name="joboutput",
            name="merged_into",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="merge_inputs",
                to="tasks.job",
            ),
        ),
        migrations.AddIndex(
            model_name="joboutput",
            index=models.Index(
                condition=models.Q(("merged_into__isnull", False)), fields=["merged_into"], name="output_merged_into"
            ),
        ),
    ]
