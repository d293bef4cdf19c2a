"""Applying what the executor reports: job moves in batches, outputs into the catalog, failures into retries.

A batch of updates is grouped by target status, so that thousands of jobs move in a handful of statements
(`moves.jobs_move` keeps the counters exact). Outputs of a finished deriv job go to the unmerged (`.um`)
dataset on the site's PRODDISK; those of a merge job to the merged dataset on the site's DATADISK, and the
unmerged files the merge read are deleted. A failed job is classified and its input retried as a new job
(attempt + 1) when the retry policy says so.
"""

from collections import Counter, defaultdict
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import Dataset, File, Replica, ReplicaState, StorageEndpoint, TokenType
from deft.bulk import bulk_insert_values
from tasks.engine import software_pause
from tasks.engine.definition import output_datasets_ensure
from tasks.engine.executors.base import JobUpdate
from tasks.engine.merge_moves import inputs_settle, unmerged_delete
from tasks.engine.moves import jobs_create, jobs_move, jobs_move_rows
from tasks.errors import classification as errors
from tasks.models import Job, JobOutput, JobType, ProductionTask, TaskDataset
from tasks.states import JobStatus, TaskStatus

# Retries are made for these tasks; a paused task's retries wait for its resume. Aborting, soft-finishing
# and ended tasks get none.
RETRYING_TASK_STATUSES = (TaskStatus.DEFINED, TaskStatus.RUNNING, TaskStatus.TORETRY, TaskStatus.PAUSED)


def job_updates_apply(*, updates: list[JobUpdate]) -> Counter:
    """Apply a poll's updates in one transaction; returns how many jobs moved to each status."""
    by_status: dict[str, list[JobUpdate]] = defaultdict(list)
    for update in updates:
        by_status[update.status].append(update)
    done: Counter = Counter()
    with transaction.atomic():
        done["cancelled"] = len(jobs_move(job_ids=ids_of(by_status[JobStatus.CANCELLED]), move="cancel"))
        done["running"] = len(jobs_move(job_ids=ids_of(by_status[JobStatus.RUNNING]), move="start"))
        done["finished"] = jobs_finish(by_status[JobStatus.FINISHED])
        done["failed"], done["retried"] = jobs_fail(by_status[JobStatus.FAILED])
    return done


def ids_of(updates: list[JobUpdate]) -> list[int]:
    return [u.job_id for u in updates]


# --- finished jobs and their outputs -------------------------------------------------------------------


def jobs_finish(updates: list[JobUpdate]) -> int:
    rows = jobs_move_rows(job_ids=ids_of(updates), move="finish")
    if rows:
        jobs = {pk: (task_id, job_type, site_id) for pk, task_id, _old, job_type, _events, site_id in rows}
        outputs_record(updates=[u for u in updates if u.job_id in jobs], jobs=jobs)
    return len(rows)


def outputs_record(*, updates: list[JobUpdate], jobs: dict[int, tuple]) -> None:
    """JobOutput rows, catalog Files and Replicas for finished jobs; endpoint and dataset totals follow.
    `jobs` maps each job id to (task id, job type, site id), as the finishing move returned them."""
    datasets = output_datasets({task_id for task_id, _, _ in jobs.values()})
    endpoints = site_endpoints({site_id for _, _, site_id in jobs.values() if site_id})
    files, outputs, places = [], [], []  # files[i] is written for outputs[kept[i]], placed at places[i]
    kept = []
    for update in updates:
        task_id, job_type, site_id = jobs[update.job_id]
        merged = job_type == JobType.MERGE
        for out in update.outputs:
            empty = not holds_data(out)
            # An empty file is never merged: nothing is kept on disk, the row only records that it was written.
            outputs.append([update.job_id, out.format, out.lfn, merged, out.bytes, out.events, None, None, empty])
            if empty and not merged:
                continue
            files.append((datasets[task_id, out.format, merged], out.lfn, out.bytes, out.events, []))
            kept.append(len(outputs) - 1)
            places.append(endpoints.get((site_id, TokenType.DATADISK if merged else TokenType.PRODDISK)))
    file_ids = bulk_insert_values(File, FILE_FIELDS, files)
    for index, file_id in zip(kept, file_ids, strict=True):
        outputs[index][6] = file_id
    bulk_insert_values(JobOutput, OUTPUT_FIELDS, [tuple(o) for o in outputs], returning=False)
    replicas_add(
        [(file_id, file[2], endpoint) for file_id, file, endpoint in zip(file_ids, files, places, strict=True)]
    )
    datasets_add([(file[0], file[2], file[3]) for file in files])
    merges_done = [u.job_id for u in updates if jobs[u.job_id][1] == JobType.MERGE]
    # Input is done for deriv jobs that wrote nothing to merge, and for those whose last merge just finished.
    settled = {u.job_id for u in updates if jobs[u.job_id][1] == JobType.DERIV and not any(map(holds_data, u.outputs))}
    merged_by_these = JobOutput.objects.filter(merged_into__in=merges_done)
    if merges_done:
        settled.update(merged_by_these.values_list("job_id", flat=True))
    inputs_settle(job_ids=settled)
    if merges_done:
        unmerged_delete(outputs=merged_by_these.filter(deleted=False))


def holds_data(output) -> bool:
    """An output file with events and bytes: it is merged; an empty one is only recorded."""
    return output.events > 0 and output.bytes > 0


FILE_FIELDS = ("dataset_id", "lfn", "bytes", "events", "lumiblocks")
OUTPUT_FIELDS = ("job_id", "format", "lfn", "merged", "bytes", "events", "file_id", "merged_into_id", "deleted")


def output_datasets(task_ids: set[int]) -> dict[tuple, int]:
    """(task id, format, merged) -> dataset id; creates the datasets of tasks that lack some."""
    rows = TaskDataset.objects.filter(task_id__in=task_ids).values_list("task_id", "format", "merged", "dataset_id")
    found = {(t, f, m): d for t, f, m, d in rows}
    for task in ProductionTask.objects.filter(pk__in=task_ids).select_related("ptag", "input_dataset"):
        if any((task.pk, f, m) not in found for f in task.formats for m in (True, False)):
            output_datasets_ensure(task=task)
            found.update({(task.pk, td.format, td.merged): td.dataset_id for td in task.datasets.all()})
    return found


def site_endpoints(site_ids: set[int]) -> dict[tuple, StorageEndpoint]:
    """(site id, token type) -> the site's endpoint of that type (the first by name if it has several)."""
    found = {}
    for endpoint in StorageEndpoint.objects.filter(site_id__in=site_ids).order_by("-name"):
        found[endpoint.site_id, endpoint.token_type] = endpoint
    for (site_id, token), endpoint in list(found.items()):  # a site without a DATADISK keeps merged files on PRODDISK
        if token == TokenType.PRODDISK:
            found.setdefault((site_id, TokenType.DATADISK), endpoint)
    return found


def replicas_add(placed: list[tuple[int, int, StorageEndpoint | None]]) -> None:
    """Replicas of (file id, bytes) at endpoints; their bytes are added to each endpoint's used space."""
    placed = [(file_id, size, endpoint) for file_id, size, endpoint in placed if endpoint is not None]
    now = timezone.now()
    rows = [(file_id, endpoint.pk, ReplicaState.AVAILABLE, now) for file_id, _, endpoint in placed]
    bulk_insert_values(Replica, ("file_id", "endpoint_id", "state", "created"), rows, returning=False)
    used: Counter = Counter()
    for _, size, endpoint in placed:
        used[endpoint.pk] += size
    for endpoint_id, size in sorted(used.items()):  # one UPDATE per endpoint, always in the same order
        StorageEndpoint.objects.filter(pk=endpoint_id).update(used_bytes=F("used_bytes") + size)


def datasets_add(files: list[tuple[int, int, int]]) -> None:
    """Dataset totals (files, events, bytes) follow the (dataset id, bytes, events) of the files added."""
    totals: dict[int, Counter] = defaultdict(Counter)
    for dataset_id, size, events in files:
        totals[dataset_id].update(files=1, events=events, bytes=size)
    if connection.vendor == "postgresql" and len(totals) > 1:  # one statement, rows locked in id order
        ids, table = sorted(totals), Dataset._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids])
            cursor.execute(
                f"UPDATE {table} AS d SET files = d.files + v.files, events = d.events + v.events, "
                "bytes = d.bytes + v.bytes FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) "
                "AS v(id, files, events, bytes) WHERE d.id = v.id",
                [ids, *([totals[pk][f] for pk in ids] for f in ("files", "events", "bytes"))],
            )
        return
    for dataset_id, t in sorted(totals.items()):
        Dataset.objects.filter(pk=dataset_id).update(
            files=F("files") + t["files"], events=F("events") + t["events"], bytes=F("bytes") + t["bytes"]
        )


# --- failed jobs and their retries ---------------------------------------------------------------------


def jobs_fail(updates: list[JobUpdate]) -> tuple[int, int]:
    """Classify each failure, store it on the job, and retry the inputs the policy says to retry."""
    if not updates:
        return 0, 0
    codes = errors.registry()
    classified = {
        u.job_id: errors.classify_failure(
            source=u.error_source, code=u.error_code, diagnostic=u.error_diag, codes=codes
        )
        for u in updates
    }
    fields = {u.job_id: errors.failure_fields(classified[u.job_id], u.error_diag) for u in updates}
    moved = jobs_move(job_ids=list(fields), move="fail", per_job=fields)
    failed = Job.objects.filter(pk__in=moved).select_related("task")
    retried = retries_create(jobs=failed, classified=classified)
    # Tasks failing mostly on software errors are paused and their group told (once per task).
    software_pause.tasks_check_software_failures(task_ids={job.task_id for job in failed})
    return len(moved), retried


def retries_create(*, jobs, classified: dict) -> int:
    """New attempts for failed jobs whose input the policy retries; the others leave a word on their task."""
    now = timezone.now()
    new_jobs, gave_up = [], {}
    for job in jobs:
        task = job.task
        if task.status not in RETRYING_TASK_STATUSES or task.soft_finish:
            continue
        decision = errors.decide_retry(
            job=job, classification=classified[job.pk], max_attempts=task.max_attempts, max_failures=task.max_failures
        )
        if not decision.retry:
            gave_up[task.pk] = (
                f"{job.job_type} job {job.pk} failed ({job.error_source} {job.error_code}): {decision.reason}"
            )
            continue
        new_jobs.append(next_attempt(job, decision, now))
    created = jobs_create(jobs=new_jobs) if new_jobs else []
    for new in created:
        if new.job_type == JobType.MERGE:  # the retry of a merge reads the same unmerged files
            JobOutput.objects.filter(merged_into_id=new.previous_id).update(merged_into=new)
    for task_id, message in sorted(gave_up.items()):
        ProductionTask.objects.filter(pk=task_id).update(error_dialog=message)
    return len(created)


def next_attempt(job: Job, decision: errors.RetryDecision, now) -> Job:
    return Job(
        task_id=job.task_id,
        job_type=job.job_type,
        attempt=job.attempt + 1,
        previous=job,
        priority=job.task.priority,
        inputs=job.inputs,
        nevents=job.nevents,
        **decision.retry_fields(job),  # failure counts carried on; more memory or wall time if asked
        not_before=now + timedelta(seconds=decision.delay_seconds) if decision.delay_seconds else None,
    )
