"""The heart of the counters: every job and task status change goes through these services.

Each is a compare-and-set (rows not in the move's sources are left alone and not counted), and moves the
task's counters in the same transaction, aggregated per task, so that counters always equal a recount.
Rows are locked (`select_for_update`) before they are counted, so two workers racing on the same job
cannot both count its move.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from monitoring import rollups

from .bulk import COPY_THRESHOLD, insert_rows
from .models import Job, JobType, ProductionTask
from .states import JOB_MOVES, TASK_MOVES, JobStatus

COUNTER_OF = {
    JobStatus.DEFINED: "jobs_defined",
    JobStatus.ASSIGNED: "jobs_assigned",
    JobStatus.RUNNING: "jobs_running",
    JobStatus.FINISHED: "jobs_finished",
    JobStatus.FAILED: "jobs_failed",
    JobStatus.CANCELLED: "jobs_cancelled",
}
# The events a finished job adds to its task: deriv jobs count as processed input, merge jobs as done output
# (a task's events come from merged outputs only; unmerged ones never count).
EVENTS_OF = {JobType.DERIV: "events_processed", JobType.MERGE: "events_done"}


COUNTER_FIELDS = (*COUNTER_OF.values(), *EVENTS_OF.values())


def apply_task_deltas(deltas: dict[int, Counter]) -> None:
    """Add each task's counter deltas (one statement on PostgreSQL, one UPDATE per task elsewhere), then pass
    them on to the rollups."""
    if connection.vendor == "postgresql" and len(deltas) > 1:
        update_counters_at_once(deltas)
    else:
        for task_id, delta in sorted(deltas.items()):  # sorted: tasks are locked in one order, no deadlocks
            changes = {field: F(field) + n for field, n in delta.items() if n}
            if changes:
                ProductionTask.objects.filter(pk=task_id).update(**changes)
    rollups.on_task_counters(deltas)


def update_counters_at_once(deltas: dict[int, Counter]) -> None:
    """Lock the tasks in id order (so concurrent batches cannot deadlock), then one UPDATE ... FROM unnest()."""
    ids = sorted(deltas)
    table = ProductionTask._meta.db_table
    sets = ", ".join(f"{f} = t.{f} + v.{f}" for f in COUNTER_FIELDS)
    arrays = ", ".join("%s::bigint[]" for _ in COUNTER_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids])
        cursor.execute(
            f"UPDATE {table} AS t SET {sets} FROM unnest(%s::bigint[], {arrays}) AS v(id, {', '.join(COUNTER_FIELDS)})"
            " WHERE t.id = v.id",
            [ids, *([deltas[pk][f] for pk in ids] for f in COUNTER_FIELDS)],
        )


def jobs_create(*, jobs: list[Job], batch_size: int = 5000) -> list[Job]:
    """Insert new jobs (status `defined`) and count them on their tasks."""
    with transaction.atomic():
        if connection.vendor == "postgresql" and len(jobs) >= COPY_THRESHOLD:
            created = copy_jobs(jobs)
        else:
            created = Job.objects.bulk_create(jobs, batch_size=batch_size)
        deltas: dict[int, Counter] = defaultdict(Counter)
        for job in created:
            deltas[job.task_id][COUNTER_OF[job.status]] += 1
        apply_task_deltas(deltas)
    return created


def copy_jobs(jobs: list[Job]) -> list[Job]:
    """Insert jobs with COPY; the objects get their ids, as from bulk_create."""
    now = timezone.now()
    for job in jobs:
        job.created = job.updated = now
    fields = [f.attname for f in Job._meta.concrete_fields if f.attname != "id"]
    ids = insert_rows(Job, fields, [tuple(getattr(job, f) for f in fields) for job in jobs])
    for job, pk in zip(jobs, ids, strict=True):
        job.pk = pk
        job._state.adding, job._state.db = False, "default"
    return jobs


def jobs_move(
    *, job_ids: Iterable[int], move: str, values: dict | None = None, per_job: dict[int, dict] | None = None
) -> list[int]:
    """Move jobs by a verb of JOB_MOVES; returns the ids that moved (others were not in a source status).

    `values` are set on every moved job; `per_job` maps a job id to fields of its own (site, error ...).
    """
    target = JOB_MOVES[move].target
    now = timezone.now()
    stamp = {"started_at": now} if target == JobStatus.RUNNING else {}
    if target in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELLED):
        stamp = {"ended_at": now}
    job_ids = list(job_ids)
    if not job_ids:
        return []
    with transaction.atomic():
        if connection.vendor == "postgresql" and not values:
            rows = move_returning(job_ids, move, {"updated": now, **stamp})
        else:
            rows = list(
                Job.objects.select_for_update()
                .filter(pk__in=job_ids, status__in=JOB_MOVES[move].sources)
                .order_by("pk")
                .values_list("pk", "task_id", "status", "job_type", "nevents")
            )
            if rows:
                moved = [pk for pk, *_ in rows]
                Job.objects.filter(pk__in=moved).update(status=target, updated=now, **stamp, **(values or {}))
        if not rows:
            return []
        moved = [pk for pk, *_ in rows]
        if per_job:
            update_each(moved, per_job)
        apply_task_deltas(deltas_of(rows, target))
    return moved


def move_returning(job_ids: list[int], move: str, stamps: dict) -> list[tuple]:
    """PostgreSQL: lock (in id order), compare-and-set and read the old statuses in one statement."""
    table = Job._meta.db_table
    sets = ", ".join(f"{field} = %s" for field in stamps)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS j SET status = %s, {sets} FROM ("
            f"  SELECT id, status FROM {table} WHERE id = ANY(%s) AND status = ANY(%s) ORDER BY id FOR UPDATE"
            ") AS old WHERE j.id = old.id RETURNING j.id, j.task_id, old.status, j.job_type, j.nevents",
            # str(): plain text for the driver, not the TextChoices enum
            [str(JOB_MOVES[move].target), *stamps.values(), job_ids, sorted(str(s) for s in JOB_MOVES[move].sources)],
        )
        return sorted(cursor.fetchall())


def deltas_of(rows, target) -> dict[int, Counter]:
    deltas: dict[int, Counter] = defaultdict(Counter)
    for _pk, task_id, status, job_type, nevents in rows:
        deltas[task_id][COUNTER_OF[status]] -= 1
        deltas[task_id][COUNTER_OF[target]] += 1
        if target == JobStatus.FINISHED:
            deltas[task_id][EVENTS_OF[job_type]] += nevents
    return deltas


def update_each(moved: list[int], per_job: dict[int, dict]) -> None:
    """Per-job fields, grouped by identical values so most batches are a handful of UPDATEs."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for pk in moved:
        fields = per_job.get(pk)
        if fields:
            groups[tuple(sorted(fields.items()))].append(pk)
    for fields, pks in groups.items():
        Job.objects.filter(pk__in=pks).update(**dict(fields))


def tasks_move(*, task_ids: Iterable[int], move: str, values: dict | None = None) -> list[int]:
    """Move tasks by a verb of TASK_MOVES (compare-and-set); returns the ids that moved."""
    spec = TASK_MOVES[move]
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            ProductionTask.objects.select_for_update()
            .filter(pk__in=list(task_ids), status__in=spec.sources)
            .order_by("pk")
            .values_list("pk", "status")
        )
        if not rows:
            return []
        moved = [pk for pk, _ in rows]
        ProductionTask.objects.filter(pk__in=moved).update(status=spec.target, updated=now, **(values or {}))
        rollups.on_task_status({pk: (old, spec.target) for pk, old in rows})
    return moved
