"""What the task and job pages show, read in a few queries (the page contexts of tasks/views)."""

from collections import defaultdict

from django.db.models import Count, Q, Sum
from django.shortcuts import get_object_or_404
from django.template import TemplateDoesNotExist
from django.template.loader import get_template

from catalog.models import ReplicationRule
from deft import permissions
from deft.audit import audit_history
from tasks.models import ErrorCode, Job, JobType, ProductionTask, TaskDataset
from tasks.states import JOB_ACTIVE, JobStatus

ERROR_SUMMARY_TEMPLATE = "tasks/inc/error_summary.html"
STEPS = (JobType.DERIV, JobType.MERGE)


def template_exists(name: str) -> bool:
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


def audit_of(obj, limit=100):
    return audit_history(obj, limit=limit, newest_first=True)


# --- task -----------------------------------------------------------------------------------------------------


def jobs_by_step(task) -> dict[str, dict]:
    """step -> {status: {"all": n, "latest": n, "events": events of latest}}; `latest` skips retried attempts."""
    rows = (
        task.jobs.order_by()
        .values("job_type", "status")
        .annotate(
            n=Count("pk"),
            latest=Count("pk", filter=Q(next_attempt__isnull=True)),
            events=Sum("nevents", filter=Q(next_attempt__isnull=True)),
        )
    )
    steps: dict[str, dict] = defaultdict(dict)
    for r in rows:
        steps[r["job_type"]][r["status"]] = {"all": r["n"], "latest": r["latest"], "events": r["events"] or 0}
    return steps


def step_state(statuses: dict) -> str:
    """One word (or two) for a step, from its latest attempts: running, finished, failed, partly failed."""
    latest = {s: v["latest"] for s, v in statuses.items() if v["latest"]}
    if not latest:
        return "not started"
    if any(latest.get(s) for s in JOB_ACTIVE):
        return "running"
    failed, finished = latest.get(JobStatus.FAILED, 0), latest.get(JobStatus.FINISHED, 0)
    if failed and finished:
        return f"partly failed ({failed} of {failed + finished})"
    if failed:
        return "failed"
    return "finished" if finished else "cancelled"


def step_headline(steps: dict) -> tuple[str, bool]:
    """E.g. "deriv finished, merge failed": plain words, so a failed merge never hides behind a finished deriv."""
    states = [(step, step_state(steps.get(step, {}))) for step in STEPS]
    text = ", ".join(f"{step} {state}" for step, state in states)
    return text, any("failed" in state for _, state in states)


def task_segments(task, steps) -> list[tuple[str, str, float, int]]:
    """(css, label, percent, events) of the task's input events: done, merging, running, failed, not started."""
    total = task.events_total
    if not total:
        return []
    deriv = steps.get(JobType.DERIV, {})
    done = min(task.events_merged, total)
    merging = max(min(task.events_processed, total) - done, 0)
    running = sum(deriv.get(s, {}).get("events", 0) for s in JOB_ACTIVE)
    failed = deriv.get(JobStatus.FAILED, {}).get("events", 0)
    running = min(running, total - done - merging)
    failed = min(failed, total - done - merging - running)
    rest = total - done - merging - running - failed
    parts = [
        ("done", "merged", done),
        ("merging", "processed, merging", merging),
        ("running", "running", running),
        ("failed", "failed", failed),
        ("notstarted", "not started", rest),
    ]
    return [(css, label, 100 * n / total, n) for css, label, n in parts if n]


def error_summary_of(task) -> list[dict]:
    """Failed jobs of the task by class and code, with the registry's name and description."""
    rows = list(
        task.jobs.filter(status=JobStatus.FAILED)
        .order_by()
        .values("error_class", "error_source", "error_code")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    codes = ErrorCode.objects.filter(
        source__in={r["error_source"] for r in rows}, code__in={r["error_code"] for r in rows}
    )
    names = {(c.source, c.code): c for c in codes}
    for r in rows:
        r["registry"] = names.get((r["error_source"], r["error_code"]))
    return rows


def task_context(user, pk) -> dict:
    qs = ProductionTask.objects.select_related("group", "ptag", "input_dataset", "request", "slice")
    task = get_object_or_404(permissions.visible(user, qs), pk=pk)
    steps = jobs_by_step(task)
    headline, bad = step_headline(steps)
    outputs = list(TaskDataset.objects.filter(task=task, merged=True).select_related("dataset").order_by("format"))
    rules = ReplicationRule.objects.filter(dataset__in=[o.dataset_id for o in outputs]).select_related("endpoint")
    return {
        "task": task,
        "object": task,
        "title": f"Task {task.pk}",
        "steps": [(step, steps.get(step, {}), step_state(steps.get(step, {}))) for step in STEPS],
        "job_statuses": JobStatus.values,
        "headline": headline,
        "headline_bad": bad,
        "segments": task_segments(task, steps),
        "outputs": outputs,
        "rules": rules,
        "retries": task.jobs.filter(attempt__gt=1).select_related("previous", "site", "previous__site")[:100],
        "failed_jobs": task.jobs.filter(status=JobStatus.FAILED).select_related("site").order_by("-id")[:50],
        "jobs": task.jobs.select_related("site").order_by("id")[:200],
        "audit": audit_of(task),
        "error_summary": error_summary_of(task),
        "error_summary_template": ERROR_SUMMARY_TEMPLATE if template_exists(ERROR_SUMMARY_TEMPLATE) else None,
    }


# --- job ------------------------------------------------------------------------------------------------------


def attempt_chain(job, limit=50) -> list[Job]:
    """Every attempt of this job's input, first to last (a chain is at most the task's max attempts long)."""
    before, current = [], job
    while current.previous_id and len(before) < limit:
        current = Job.objects.select_related("site").get(pk=current.previous_id)
        before.append(current)
    after = []
    current = job
    while len(after) < limit:
        current = Job.objects.select_related("site").filter(previous=current).first()
        if current is None:
            break
        after.append(current)
    return [*reversed(before), job, *after]


def job_context(user, pk) -> dict:
    qs = Job.objects.select_related("task", "site", "task__group")
    job = get_object_or_404(permissions.visible(user, qs), pk=pk)
    error = None
    if job.error_source and job.error_code is not None:
        error = ErrorCode.objects.filter(source=job.error_source, code=job.error_code).first()
    outputs = list(job.outputs.select_related("merged_into").order_by("format", "id"))
    return {
        "job": job,
        "object": job,
        "title": f"{job.job_type} job {job.pk}",
        "inputs": [dict(zip(("lfn", "run", "lumiblock", "events"), row, strict=False)) for row in job.inputs or []],
        "merge_inputs": job.merge_inputs.select_related("job").order_by("id")[:500]
        if job.job_type == JobType.MERGE
        else [],
        "outputs": outputs,
        "chain": attempt_chain(job),
        "error": error,
        "duration": (job.ended_at - job.started_at) if job.started_at and job.ended_at else None,
    }
