"""A task whose failures are mostly software errors is paused, and its group told once: retrying will fail again."""

from collections import Counter, defaultdict

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from deft import notifications
from deft.audit import audit_record
from tasks.engine import moves
from tasks.errors.summaries import task_error_summary
from tasks.models import ErrorClass, Job, ProductionTask
from tasks.states import JobStatus

# --- tasks whose failures are mostly software errors ------------------------------------------------------


def software_pause_thresholds() -> tuple[int, float]:
    return (
        getattr(settings, "DEFT_SOFTWARE_PAUSE_MIN", 10),
        getattr(settings, "DEFT_SOFTWARE_PAUSE_FRACTION", 0.5),
    )


def failure_counts(task_ids) -> dict[int, Counter]:
    """task id -> failed jobs by error class (one grouped query over the failed jobs of these tasks)."""
    counts: dict[int, Counter] = defaultdict(Counter)
    rows = (
        Job.objects.filter(task_id__in=list(task_ids), status=JobStatus.FAILED)
        .values_list("task_id", "error_class")
        .annotate(n=Count("id"))
        .order_by()
    )
    for task_id, klass, n in rows:
        counts[task_id][klass] += n
    return counts


def mostly_software(counts: Counter, *, minimum: int, fraction: float) -> bool:
    software, total = counts[ErrorClass.SOFTWARE], sum(counts.values())
    return software >= minimum and total > 0 and software / total > fraction


def tasks_check_software_failures(*, task_ids) -> list[int]:
    """Pause the tasks whose failures are mostly software errors and tell each group's e-group, once per task.

    Returns the ids paused now. A task told before is left alone (a person resumed it knowingly).
    """
    minimum, fraction = software_pause_thresholds()
    untold = ProductionTask.objects.filter(pk__in=list(task_ids), software_alert_at__isnull=True)
    counts = failure_counts(untold.values_list("pk", flat=True))
    candidates = [pk for pk, c in counts.items() if mostly_software(c, minimum=minimum, fraction=fraction)]
    if not candidates:
        return []
    with transaction.atomic():
        paused = moves.tasks_move(task_ids=candidates, move="pause")
        # tasks_move locked the paused rows until commit, and a concurrent check finds them paused already:
        # only this check tells their groups.
        untold_paused = ProductionTask.objects.filter(pk__in=paused, software_alert_at__isnull=True)
        told = list(untold_paused.values_list("pk", flat=True))
        ProductionTask.objects.filter(pk__in=told).update(software_alert_at=timezone.now())
        for task in ProductionTask.objects.filter(pk__in=told).select_related("group"):
            _record_software_pause(task, counts[task.pk])
    return told


def _record_software_pause(task: ProductionTask, counts: Counter) -> None:

    summary = task_error_summary(task)
    software, total = counts[ErrorClass.SOFTWARE], sum(counts.values())
    comment = f"paused: {software} of {total} failures are software errors"
    audit_record(
        actor=None,
        verb="pause_software_failures",
        obj=task,
        comment=comment,
        details={"software_failures": software, "failures": total},
    )
    notifications.mail_after_commit(
        lambda: notifications.mail_software_failures(task=task, summary=summary, reason=comment)
    )
