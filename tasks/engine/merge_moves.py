"""Merge jobs and cleanup: unmerged outputs are grouped into merge jobs of about 4 GB, and deleted from the
site's PRODDISK once their merge succeeded (a failed merge keeps them for its retry).

The grouping rules are `merge_planning.plan_merges`'s (pure); this module picks the outputs, decides when the
remainder may be merged (when no deriv job of the task can still add to it) and writes the jobs.
"""

from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Sum

from catalog.models import Replica, StorageEndpoint
from tasks.engine.merge_planning import plan_merges
from tasks.engine.moves import apply_task_deltas, jobs_create
from tasks.models import Job, JobOutput, JobType, ProductionTask
from tasks.states import JOB_ACTIVE, JobStatus, TaskStatus

MERGED_TASK_STATUSES = (TaskStatus.DEFINED, TaskStatus.RUNNING, TaskStatus.TORETRY)
# Tasks whose unmerged files are of no more use; finished and failed tasks keep theirs for a retry.
CLEANED_TASK_STATUSES = (TaskStatus.DONE, TaskStatus.ABORTED, TaskStatus.OBSOLETE, TaskStatus.BROKEN)


@dataclass(frozen=True)
class PendingOutput:
    """An unmerged output as plan_merges sees it."""

    id: int
    format: str
    bytes: int
    events: int
    job_ok: bool = True


def merge_limits() -> dict:
    return {
        "max_bytes": int(getattr(settings, "DEFT_MERGE_MAX_BYTES", 4_000_000_000)),
        "max_files": int(getattr(settings, "DEFT_MERGE_MAX_FILES", 50)),
    }


def pending_outputs():
    """Unmerged outputs of finished deriv jobs that no merge job reads yet (the partial index's rows)."""
    return JobOutput.objects.filter(merged=False, merged_into__isnull=True, deleted=False)


def merges_plan(*, limit: int = 200) -> dict:
    """Create merge jobs for up to `limit` tasks with pending unmerged outputs; one transaction per task."""
    task_ids = list(
        pending_outputs()
        .filter(job__task__status__in=MERGED_TASK_STATUSES)
        .values_list("job__task_id", flat=True)
        .distinct()
        .order_by("job__task_id")[:limit]
    )
    still_deriving = set(
        Job.objects.filter(task_id__in=task_ids, job_type=JobType.DERIV, status__in=JOB_ACTIVE)
        .values_list("task_id", flat=True)
        .distinct()
    )
    report = Counter()
    for task_id in task_ids:
        made = task_merges_plan(task_id=task_id, final=task_id not in still_deriving)
        report["merge_jobs"] += made
    return dict(report)


def task_merges_plan(*, task_id: int, final: bool) -> int:
    """Merge jobs for one task's pending outputs; with `final`, the remainder too (and what can never be
    merged, such as empty files, is deleted so nothing is left on PRODDISK)."""
    with transaction.atomic():
        # The task is locked and its status checked before any job is made: an abort that got the task first has
        # its merges refused; one that comes later waits for this transaction and cancels what it made.
        task = ProductionTask.objects.select_for_update().filter(pk=task_id, status__in=MERGED_TASK_STATUSES).first()
        if task is None:
            return 0
        rows = pending_outputs().filter(job__task_id=task_id).select_for_update().order_by("pk")
        outputs = [PendingOutput(*row) for row in rows.values_list("pk", "format", "bytes", "events")]
        plans = plan_merges(outputs, final=final, **merge_limits())
        jobs = [
            Job(
                task_id=task_id,
                job_type=JobType.MERGE,
                priority=task.priority,
                memory_mb=task.memory_mb,
                nevents=p.events,
            )
            for p in plans
        ]
        created = jobs_create(jobs=jobs) if jobs else []
        for job, plan in zip(created, plans, strict=True):
            JobOutput.objects.filter(pk__in=list(plan.output_ids), merged_into__isnull=True).update(merged_into=job)
        if final:
            planned = {pk for plan in plans for pk in plan.output_ids}
            unmerged_delete(outputs=JobOutput.objects.filter(pk__in=[o.id for o in outputs if o.id not in planned]))
    return len(created)


def unmerged_delete(*, outputs, chunk: int = 5000) -> int:
    """Delete unmerged files: their replicas go, the endpoints' used bytes drop, the outputs say `deleted`."""
    rows = list(outputs.filter(merged=False, deleted=False).values_list("pk", "file_id"))
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        file_ids = [file_id for _, file_id in part if file_id]
        replicas = list(Replica.objects.filter(file_id__in=file_ids).values_list("pk", "endpoint_id", "file__bytes"))
        freed: Counter = Counter()
        for _pk, endpoint_id, size in replicas:
            freed[endpoint_id] += size
        Replica.objects.filter(pk__in=[pk for pk, _, _ in replicas]).delete()
        for endpoint_id, size in sorted(freed.items()):
            StorageEndpoint.objects.filter(pk=endpoint_id).update(used_bytes=F("used_bytes") - size)
        JobOutput.objects.filter(pk__in=[pk for pk, _ in part]).update(deleted=True)
    return len(rows)


def outputs_not_merged():
    """The outputs of a deriv job (OuterRef) that hold data and are not in a finished merge yet."""
    waiting = Q(merged_into__isnull=True) | ~Q(merged_into__status=JobStatus.FINISHED)
    return JobOutput.objects.filter(waiting, job=OuterRef("pk"), merged=False, events__gt=0, bytes__gt=0)


def merged_deriv_jobs():
    """Finished deriv jobs that recorded their outputs, all of whose outputs with data are in finished merges
    (or that wrote only empty files): their input is done."""
    jobs = Job.objects.filter(job_type=JobType.DERIV, status=JobStatus.FINISHED)
    return jobs.filter(Exists(JobOutput.objects.filter(job=OuterRef("pk")))).exclude(Exists(outputs_not_merged()))


def inputs_settle(*, job_ids) -> None:
    """Deriv jobs among `job_ids` that are now merged: their input events count in `events_merged`.

    Call with the jobs whose outputs a merge just finished (or that just finished with nothing to merge), in
    the transaction of that move: a job counts once, when the finish of its last merge (or its own) is seen."""
    if not job_ids:
        return
    settled = (
        merged_deriv_jobs()
        .filter(pk__in=sorted(job_ids))
        .order_by()
        .values_list("task_id")
        .annotate(events=Sum("nevents"))
    )
    deltas = {task_id: Counter(events_merged=events) for task_id, events in settled if events}
    if deltas:
        apply_task_deltas(deltas)


def unmerged_cleanup(*, limit: int = 20_000) -> int:
    """Catch-up sweep: unmerged files read by a finished merge, or of a task done with them, are deleted."""
    leftovers = JobOutput.objects.filter(merged=False, deleted=False).filter(
        Q(merged_into__status=JobStatus.FINISHED) | Q(job__task__status__in=CLEANED_TASK_STATUSES)
    )
    ids = list(leftovers.values_list("pk", flat=True)[:limit])
    if not ids:
        return 0
    with transaction.atomic():
        return unmerged_delete(outputs=JobOutput.objects.filter(pk__in=ids))
