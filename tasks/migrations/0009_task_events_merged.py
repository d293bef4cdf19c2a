"""A task's progress in input events: `events_merged`, the input events of its deriv jobs whose outputs are all
in finished merges. Existing tasks are counted from their jobs (the rollups follow in monitoring 0004)."""

from django.db import migrations, models
from django.db.models import BigIntegerField, Exists, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce


def count_merged_inputs(apps, schema_editor):
    Job, JobOutput, ProductionTask = (apps.get_model("tasks", m) for m in ("Job", "JobOutput", "ProductionTask"))
    waiting = Q(merged_into__isnull=True) | ~Q(merged_into__status="finished")
    not_merged = JobOutput.objects.filter(waiting, job=OuterRef("pk"), merged=False, events__gt=0, bytes__gt=0)
    merged = (
        Job.objects.filter(task=OuterRef("pk"), job_type="deriv", status="finished")
        .filter(Exists(JobOutput.objects.filter(job=OuterRef("pk"))))
        .exclude(Exists(not_merged))
        .order_by()
        .values("task")
        .annotate(v=Sum("nevents"))
        .values("v")[:1]
    )
    ProductionTask.objects.filter(jobs_finished__gt=0).update(
        events_merged=Coalesce(Subquery(merged), Value(0), output_field=BigIntegerField())
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0008_job_rows_cheaper_to_write"),
    ]

    operations = [
        migrations.AddField(
            model_name="productiontask",
            name="events_merged",
            field=models.BigIntegerField(default=0, help_text="input events whose outputs are all merged"),
        ),
        migrations.RunPython(count_merged_inputs, migrations.RunPython.noop),
    ]
