"""How tasks end, and how they react to what people asked (retry, abort, soft finish).

A task ends once no job is active and nothing more will be tried: `done` when every input event was
processed and every output merged, `finished` when some merged output exists, `failed` when none does.
Before it ends, its merged outputs are replicated to its destination (the rules must be OK or STUCK).
`toabort` tasks end `aborted` once their jobs stopped; `toretry` tasks get new attempts for the inputs that
did not succeed, then run again.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import Dataset, DatasetStatus, ReplicationRule, RuleState
from tasks.engine.executors import get_executor
from tasks.engine.merge_moves import pending_outputs, unmerged_delete
from tasks.engine.moves import jobs_create, jobs_move, tasks_move
from tasks.engine.replication import replication_rules_create
from tasks.models import Job, JobOutput, JobType, ProductionTask, TaskDataset
from tasks.states import JobStatus, TaskStatus

NO_ACTIVE_JOBS = Q(jobs_defined=0, jobs_assigned=0, jobs_running=0)
ENDING_STATUSES = (TaskStatus.DEFINED, TaskStatus.RUNNING)


def tasks_end(*, limit: int = 500) -> dict:
    """End the tasks that have nothing left to do; aborting tasks end `aborted`."""
    report = {"aborted": tasks_abort_finish(limit=limit)}
    soft_finish_stop(limit=limit)
    ids = list(
        ProductionTask.objects.filter(NO_ACTIVE_JOBS, status__in=ENDING_STATUSES).values_list("pk", flat=True)[:limit]
    )
    for task in ProductionTask.objects.filter(pk__in=ids).select_related("group"):
        outcome = task_end(task=task)
        if outcome:
            report[outcome] = report.get(outcome, 0) + 1
    return report


def task_end(*, task: ProductionTask) -> str:
    """End one task whose jobs are all over; returns its final status, or '' while it still waits."""
    if pending_outputs().filter(job__task=task, events__gt=0).exists():
        return ""  # the merge planner has not seen them yet
    rules = replication_rules_create(task=task)
    if ReplicationRule.objects.filter(pk__in=[r.pk for r in rules], state=RuleState.REPLICATING).exists():
        return ""
    move = outcome_move(task)
    with transaction.atomic():
        if not tasks_move(task_ids=[task.pk], move=move, values={"ended_at": timezone.now()}):
            return ""
        if move == "complete":  # a finished or failed task keeps unmerged files that a retry may still merge
            unmerged_delete(outputs=JobOutput.objects.filter(job__task=task))
        merged = TaskDataset.objects.filter(task=task, merged=True).values("dataset")
        Dataset.objects.filter(pk__in=merged, status=DatasetStatus.OPEN).update(status=DatasetStatus.CLOSED)
    return {"complete": "done", "end_partly": "finished", "fail": "failed"}[move]


def outcome_move(task: ProductionTask) -> str:
    unmerged_left = (
        JobOutput.objects.filter(job__task=task, merged=False, events__gt=0)
        .exclude(merged_into__status=JobStatus.FINISHED)
        .exists()
    )
    if task.events_total and task.events_processed >= task.events_total and not unmerged_left:
        return "complete"
    return "end_partly" if task.events_done > 0 else "fail"


def tasks_abort_finish(*, limit: int) -> int:
    """Aborting tasks: stop what still runs (idempotent), and end those whose jobs have all stopped."""
    aborting = ProductionTask.objects.filter(status=TaskStatus.TOABORT)
    busy = list(aborting.exclude(NO_ACTIVE_JOBS).values_list("pk", flat=True)[:limit])
    if busy:
        jobs_stop(task_ids=busy, statuses=(JobStatus.DEFINED,), kill=(JobStatus.ASSIGNED, JobStatus.RUNNING))
    idle = list(aborting.filter(NO_ACTIVE_JOBS).values_list("pk", flat=True)[:limit])
    moved = tasks_move(task_ids=idle, move="aborted", values={"ended_at": timezone.now()}) if idle else []
    if moved:
        unmerged_delete(outputs=JobOutput.objects.filter(job__task_id__in=moved))
    return len(moved)


def soft_finish_stop(*, limit: int) -> None:
    """A soft finish starts no new deriv work: defined deriv jobs are cancelled, running ones may end."""
    ids = list(
        ProductionTask.objects.filter(soft_finish=True, status__in=ENDING_STATUSES, jobs_defined__gt=0).values_list(
            "pk", flat=True
        )[:limit]
    )
    if ids:
        jobs_stop(task_ids=ids, statuses=(JobStatus.DEFINED,), job_type=JobType.DERIV)


def jobs_stop(*, task_ids, statuses, kill=(), job_type=None) -> None:
    jobs = Job.objects.filter(task_id__in=task_ids)
    if job_type:
        jobs = jobs.filter(job_type=job_type)
    jobs_move(job_ids=list(jobs.filter(status__in=statuses).values_list("pk", flat=True)), move="cancel")
    to_kill = list(jobs.filter(status__in=kill).values_list("pk", flat=True)) if kill else []
    if to_kill:
        get_executor().kill(to_kill)


def tasks_retry_inputs(*, limit: int = 100) -> dict:
    """Tasks asked to retry: a new attempt for each input whose last attempt failed or was cancelled."""
    ids = list(ProductionTask.objects.filter(status=TaskStatus.TORETRY).values_list("pk", flat=True)[:limit])
    created = 0
    for task in ProductionTask.objects.filter(pk__in=ids):
        with transaction.atomic():
            # The compare-and-set first: it locks the task, so a task aborted meanwhile gets no new jobs.
            if not tasks_move(task_ids=[task.pk], move="start", values={"ended_at": None}):
                continue
            created += task_retry_inputs(task=task)
            merged = TaskDataset.objects.filter(task=task, merged=True).values("dataset")
            Dataset.objects.filter(pk__in=merged).update(status=DatasetStatus.OPEN)
    return {"tasks": len(ids), "jobs": created}


def task_retry_inputs(*, task: ProductionTask) -> int:
    last_failed = Job.objects.filter(
        task=task, status__in=(JobStatus.FAILED, JobStatus.CANCELLED), next_attempt__isnull=True
    ).order_by("pk")
    # A person asked: the failure budget starts again; the attempt number keeps counting.
    new = [
        Job(
            task=task,
            job_type=job.job_type,
            attempt=job.attempt + 1,
            previous=job,
            priority=task.priority,
            memory_mb=job.memory_mb,
            inputs=job.inputs,
            nevents=job.nevents,
        )
        for job in last_failed
    ]
    created = jobs_create(jobs=new) if new else []
    for job in created:
        if job.job_type == JobType.MERGE:
            JobOutput.objects.filter(merged_into_id=job.previous_id).update(merged_into=job)
    return len(created)
