"""The heart of the counters: every job and task status change goes through these services.

Each is a compare-and-set (rows not in the move's sources are left alone and not counted), and moves the
task's counters in the same transaction, aggregated per task, so that counters always equal a recount.
Rows are locked (`select_for_update`) before they are counted, so two workers racing on the same job
cannot both count its move.
"""

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from operator import attrgetter, itemgetter

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from deft.bulk import bulk_insert_values, int_array
from tasks.engine import observers
from tasks.models import TASK_COUNTER_FIELDS, Job, JobType, ProductionTask
from tasks.states import JOB_MOVES, TASK_MOVES, JobStatus

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
# The task's own counter columns; deltas may carry more keys (failures by class) for the rollups only.
COUNTER_FIELDS = TASK_COUNTER_FIELDS
TASK_COUNTERS = frozenset(COUNTER_FIELDS)


def apply_task_deltas(deltas: dict[int, Counter]) -> int:
    """Add each task's counter deltas, then pass them on to the rollups. Tasks are locked in id order, so that
    concurrent batches cannot deadlock. Returns how many of the tasks exist (and were updated).

    Deltas may carry more keys than the task's counters (failures by class): only the rollups read those."""
    deltas = {pk: Counter({f: n for f, n in d.items() if n}) for pk, d in deltas.items()}
    deltas = {pk: d for pk, d in deltas.items() if d}
    if not deltas:
        return 0
    counted = {pk: {f: n for f, n in d.items() if f in TASK_COUNTERS} for pk, d in deltas.items()}
    found = _add_counters_postgres(counted) if connection.vendor == "postgresql" else _add_counters_sqlite(counted)
    observers.notify("on_task_counters", deltas)
    return found


def _add_counters_postgres(deltas: dict[int, dict[str, int]]) -> int:
    """One statement: lock in id order, then UPDATE ... FROM unnest() of one array literal per counter."""
    ids = sorted(deltas)
    fields = sorted({f for d in deltas.values() for f in d}) or ["jobs_defined"]
    table = ProductionTask._meta.db_table
    sets = ", ".join(f"{f} = t.{f} + d.{f}" for f in fields)
    arrays = ", ".join(["%s::bigint[]"] * (len(fields) + 1))
    sql = (
        f"UPDATE {table} t SET {sets} "
        f"FROM (SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE) locked "
        f"JOIN unnest({arrays}) AS d(id, {', '.join(fields)}) ON d.id = locked.id WHERE t.id = locked.id"
    )
    params = [ids, int_array(ids), *(int_array([deltas[pk].get(f, 0) for pk in ids]) for f in fields)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _add_counters_sqlite(deltas: dict[int, dict[str, int]]) -> int:
    """One UPDATE per distinct delta (SQLite holds one write lock for the whole database: order is moot)."""
    by_delta: dict[tuple, list[int]] = defaultdict(list)
    for task_id, delta in deltas.items():
        by_delta[tuple(sorted(delta.items()))].append(task_id)
    found = 0
    for delta, task_ids in by_delta.items():
        tasks = ProductionTask.objects.filter(pk__in=task_ids)
        found += tasks.update(**{f: F(f) + n for f, n in delta}) if delta else tasks.count()
    return found


def jobs_create(*, jobs: list[Job], batch_size: int = 5000) -> list[Job]:
    """Insert new jobs (status `defined`) and count them on their tasks; the objects get their ids.

    A job's task is checked here, once per task of the batch (the database has no FK constraint for it: it
    would check every row on its own): a missing task raises IntegrityError and nothing is written."""
    if not jobs:
        return []
    if connection.vendor != "postgresql":
        with transaction.atomic():
            created = Job.objects.bulk_create(jobs, batch_size=batch_size)
            deltas = deltas_of_new(created)
            tasks_check(found=apply_task_deltas(deltas), task_ids=set(deltas))
        return created
    now = timezone.now()
    fields = [f.attname for f in Job._meta.concrete_fields if not f.primary_key]
    row_of = itemgetter(*fields)  # read from each instance's __dict__: no descriptor calls, one C call per job
    with transaction.atomic():
        for job in jobs:
            job.created = job.updated = now
        ids = bulk_insert_values(Job, fields, [row_of(job.__dict__) for job in jobs])
        deltas = deltas_of_new(jobs)
        tasks_check(found=apply_task_deltas(deltas), task_ids=set(deltas))
    for job, pk in zip(jobs, ids, strict=True):
        job.pk = pk
        job._state.adding, job._state.db = False, "default"
    return jobs


def tasks_check(*, found: int, task_ids: set[int]) -> None:
    """Raise (rolling the jobs back) unless each of the jobs' tasks was found when counting them."""
    if found != len(task_ids):
        existing = set(ProductionTask.objects.filter(pk__in=task_ids).values_list("pk", flat=True))
        raise IntegrityError(f"jobs of tasks that do not exist: {sorted(task_ids - existing)[:10]}")


def deltas_of_new(jobs: list[Job]) -> dict[int, Counter]:
    deltas: dict[int, Counter] = defaultdict(Counter)
    for (task_id, status), n in Counter(map(attrgetter("task_id", "status"), jobs)).items():
        deltas[task_id][COUNTER_OF[status]] += n
    return deltas


def jobs_move(
    *, job_ids: Iterable[int], move: str, values: dict | None = None, per_job: dict[int, dict] | None = None
) -> list[int]:
    """Move jobs by a verb of JOB_MOVES; returns the ids that moved (others were not in a source status).

    `values` are set on every moved job; `per_job` maps a job id to fields of its own (site, error ...).
    """
    return [pk for pk, *_ in jobs_move_rows(job_ids=job_ids, move=move, values=values, per_job=per_job)]


def jobs_move_rows(
    *, job_ids: Iterable[int], move: str, values: dict | None = None, per_job: dict[int, dict] | None = None
) -> list[tuple]:
    """`jobs_move`, returning a row (id, task id, old status, job type, events, site id) per moved job, in id
    order, so that callers need not read the jobs again. The site is the one before `values` or `per_job`."""
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
                .values_list("pk", "task_id", "status", "job_type", "nevents", "site_id")
            )
            if rows:
                moved = [pk for pk, *_ in rows]
                Job.objects.filter(pk__in=moved).update(status=target, updated=now, **stamp, **(values or {}))
        if not rows:
            return []
        if per_job:
            update_each([pk for pk, *_ in rows], per_job)
        deltas = deltas_of(rows, target)
        if target == JobStatus.FAILED:
            count_failure_classes(deltas, rows, values, per_job)
        apply_task_deltas(deltas)
        # The rows' sites are current unless this move set some: then the ledger reads them back.
        sets_site = any({"site", "site_id"} & set(fields) for fields in [values or {}, *(per_job or {}).values()])
        observers.notify("on_jobs_moved", rows, target, sites=None if sets_site else {row[0]: row[5] for row in rows})
    return rows


def move_returning(job_ids: list[int], move: str, stamps: dict) -> list[tuple]:
    """PostgreSQL: lock (in id order), compare-and-set and read the old statuses in one statement."""
    table = Job._meta.db_table
    sets = ", ".join(f"{field} = %s" for field in stamps)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS j SET status = %s, {sets} FROM ("
            f"  SELECT id, status FROM {table} WHERE id = ANY(%s) AND status = ANY(%s) ORDER BY id FOR UPDATE"
            ") AS old WHERE j.id = old.id RETURNING j.id, j.task_id, old.status, j.job_type, j.nevents, j.site_id",
            # str(): plain text for the driver, not the TextChoices enum
            [str(JOB_MOVES[move].target), *stamps.values(), job_ids, sorted(str(s) for s in JOB_MOVES[move].sources)],
        )
        return sorted(cursor.fetchall())


def deltas_of(rows, target) -> dict[int, Counter]:
    deltas: dict[int, Counter] = defaultdict(Counter)
    for _pk, task_id, status, job_type, nevents, *_ in rows:
        deltas[task_id][COUNTER_OF[status]] -= 1
        deltas[task_id][COUNTER_OF[target]] += 1
        if target == JobStatus.FINISHED:
            deltas[task_id][EVENTS_OF[job_type]] += nevents
    return deltas


def count_failure_classes(deltas, rows, values, per_job) -> None:
    """Failures by error class, for the rollups only (`failed_<class>`; tasks do not keep them)."""
    for pk, task_id, *_ in rows:
        fields = {**(values or {}), **((per_job or {}).get(pk) or {})}
        deltas[task_id][observers.failure_field(fields.get("error_class"))] += 1


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
        observers.notify("on_task_status", {pk: (old, spec.target) for pk, old in rows})
    return moved


# --- Set-based variants for bulk actions (issue 6): the same guarantees, a few statements per batch of tasks.


def jobs_cancel_of_tasks(
    *,
    task_ids: list[int],
    statuses: Iterable[str],
    apply: bool = True,
    task_statuses: Iterable[str] | None = None,
    skip_locked: bool = False,
) -> dict[int, Counter]:
    """Cancel every job of these tasks that is in `statuses` (a subset of the cancel move's sources).

    Compare-and-set like `jobs_move`, and moves the task counters in the same transaction, but with a few
    statements for thousands of tasks instead of one UPDATE per task. Jobs are locked in primary-key order,
    as `jobs_move` locks them, so the two never deadlock. Returns the counter deltas per task; with
    `apply=False` the caller applies them in the same transaction (e.g. with `tasks_move_counting`).
    `task_statuses` keeps only the tasks in those statuses (read in the same statement, without a lock: the
    caller's compare-and-set on the tasks decides). `skip_locked` leaves alone the jobs another transaction
    holds, for a caller that already holds task locks (it must never wait for a job lock, or it could
    deadlock with `jobs_move`, which locks jobs before tasks).
    """
    statuses = sorted(set(statuses) & JOB_MOVES["cancel"].sources)
    if not task_ids or not statuses:
        return {}
    if not apply and not connection.in_atomic_block:
        raise RuntimeError("apply=False needs the caller's transaction, or the counters would lag the jobs")
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            rows = _cancel_returning_postgres(task_ids, statuses, now, task_statuses, skip_locked)
        else:  # SQLite takes one write lock for the whole database: read, then update, is already atomic.
            jobs = Job.objects.filter(task_id__in=task_ids, status__in=statuses)
            if task_statuses is not None:
                jobs = jobs.filter(task__status__in=sorted(task_statuses))
            rows = list(jobs.values_list("task_id", "status", "site_id").annotate(n=Count("id")).order_by())
            jobs.update(status=JobStatus.CANCELLED, updated=now, ended_at=now)
        deltas: dict[int, Counter] = defaultdict(Counter)
        for task_id, status, _site_id, n in rows:
            deltas[task_id][COUNTER_OF[status]] -= n
            deltas[task_id][COUNTER_OF[JobStatus.CANCELLED]] += n
        observers.notify("on_jobs_cancelled", rows)
        if apply:
            apply_task_deltas(deltas)
    return deltas


def _cancel_returning_postgres(
    task_ids, statuses, now, task_statuses, skip_locked
) -> list[tuple[int, str, int | None, int]]:
    job, task = Job._meta.db_table, ProductionTask._meta.db_table
    params = [list(task_ids), list(statuses)]
    of_tasks = ""
    if task_statuses is not None:
        of_tasks = f"AND task_id IN (SELECT id FROM {task} WHERE id = ANY(%s) AND status = ANY(%s))"
        params += [list(task_ids), sorted(str(s) for s in task_statuses)]
    # The locked rows are counted, not the UPDATE's: once locked, their status cannot change before the UPDATE.
    # Updating by an id array walks the primary key; joining the CTE made PostgreSQL hash the whole job table.
    sql = f"""
        WITH locked AS (
            SELECT id, task_id, status, site_id FROM {job}
            WHERE task_id = ANY(%s) AND status = ANY(%s) {of_tasks}
            ORDER BY id FOR UPDATE {"SKIP LOCKED" if skip_locked else ""}
        ), moved AS (
            UPDATE {job} SET status = %s, updated = %s, ended_at = %s WHERE id = ANY(ARRAY(SELECT id FROM locked))
        )
        SELECT task_id, status, site_id, count(*) FROM locked GROUP BY task_id, status, site_id"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, str(JobStatus.CANCELLED), now, now])
        return cursor.fetchall()


def jobs_running_of_tasks(*, task_ids: list[int]) -> list[int]:
    """The running jobs of these tasks (to kill through the executor), read with one array parameter."""
    if not task_ids:
        return []
    if connection.vendor != "postgresql":
        jobs = Job.objects.filter(task_id__in=task_ids, status=JobStatus.RUNNING)
        return list(jobs.values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Job._meta.db_table} WHERE task_id = ANY(%s) AND status = %s ORDER BY id",
            [list(task_ids), str(JobStatus.RUNNING)],
        )
        return [pk for (pk,) in cursor.fetchall()]


def jobs_set_of_tasks(*, task_ids: list[int], statuses: Iterable[str], values: dict) -> int:
    """Set fields (not the status) on the jobs of these tasks in `statuses`, locking them in primary-key order."""
    if not task_ids:
        return 0
    jobs = Job.objects.filter(task_id__in=task_ids, status__in=sorted(statuses))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            locked = jobs.select_for_update().order_by("pk").values("pk")
            return Job.objects.filter(pk__in=locked).update(updated=timezone.now(), **values)
        return jobs.update(updated=timezone.now(), **values)


def tasks_move_counting(
    *, task_ids: list[int], move: str, deltas: dict[int, Counter], idle_move: str | None = None
) -> dict[int, str]:
    """`tasks_move` and `apply_task_deltas` in one pass over the task rows (one UPDATE on PostgreSQL).

    Tasks are locked and moved by `move` (compare-and-set); their counters take `deltas` in the same UPDATE.
    With `idle_move`, a moved task left with no active job goes on at once to that move's target (abort:
    `toabort` -> `aborted`). Deltas of tasks that did not move are still applied. Returns {task id: new status}.
    """
    rows = tasks_move_counting_rows(task_ids=task_ids, move=move, deltas=deltas, idle_move=idle_move)
    return {pk: new for pk, new, _waiting in rows}


def tasks_move_counting_rows(
    *, task_ids: list[int], move: str, deltas: dict[int, Counter], idle_move: str | None = None
) -> list[tuple[int, str, int]]:
    """`tasks_move_counting`, returning (task id, new status, defined + assigned jobs left) per moved task.

    Jobs left waiting after the caller cancelled them were created (or brokered) by a transaction that
    committed after the cancel's snapshot: the caller cancels them now that it holds the task (see abort).
    """
    spec = TASK_MOVES[move]
    if connection.vendor != "postgresql":
        moved = tasks_move(task_ids=task_ids, move=move)
        apply_task_deltas(deltas)
        if idle_move:
            idle = ProductionTask.objects.filter(pk__in=moved, jobs_defined=0, jobs_assigned=0, jobs_running=0)
            idle_ids = list(idle.values_list("pk", flat=True))
            tasks_move(task_ids=idle_ids, move=idle_move, values={"ended_at": timezone.now()})
        rows = ProductionTask.objects.filter(pk__in=moved).values_list("pk", "status", "jobs_defined", "jobs_assigned")
        return sorted((pk, status, defined + assigned) for pk, status, defined, assigned in rows)
    with transaction.atomic():
        rows = _move_counting_postgres(sorted(task_ids), spec, deltas, idle_move)
        moved = {pk for pk, *_ in rows}
        apply_task_deltas({pk: d for pk, d in deltas.items() if pk not in moved})
        observers.notify(
            "on_task_changes",
            counters={pk: d for pk, d in deltas.items() if pk in moved},
            statuses={pk: (old, new) for pk, old, new, _, _ in rows},
            signatures={pk: signature for pk, _, _, _, signature in rows},
        )
    return [(pk, new, waiting) for pk, _old, new, waiting, _ in rows]


def _move_counting_postgres(task_ids, spec, deltas, idle_move) -> list[tuple[int, str, str, int, tuple]]:
    """Lock (in id order), compare-and-set, add the counters and read the old statuses in one statement; each
    moved task comes back with its rollup signature, so the rollups need not read the tasks again."""
    if not task_ids:
        return []
    fields = sorted(COUNTER_OF.values())
    table = ProductionTask._meta.db_table
    now = timezone.now()
    counters = ", ".join(f"{f} = t.{f} + d.{f}" for f in fields)
    arrays = ", ".join(["%s::bigint[]"] * (len(fields) + 1))
    if idle_move:
        active = " + ".join(f"t.{f} + d.{f}" for f in ("jobs_defined", "jobs_assigned", "jobs_running"))
        status = f"CASE WHEN {active} = 0 THEN %s ELSE %s END"
        ended = f"CASE WHEN {active} = 0 THEN %s::timestamptz ELSE t.ended_at END"
        head = [str(TASK_MOVES[idle_move].target), str(spec.target), now]
    else:
        status, ended, head = "%s", "t.ended_at", [str(spec.target)]
    sql = (
        f"UPDATE {table} t SET status = {status}, ended_at = {ended}, updated = %s, {counters} "
        f"FROM (SELECT id, status FROM {table} WHERE id = ANY(%s) AND status = ANY(%s) "
        "ORDER BY id FOR UPDATE) old "
        f"JOIN unnest({arrays}) AS d(id, {', '.join(fields)}) ON d.id = old.id "
        "WHERE t.id = old.id RETURNING t.id, old.status, t.status, t.jobs_defined + t.jobs_assigned, "
        "t.request_id, t.group_id, t.project, t.ptag_id, t.formats::text"
    )
    sources = sorted(str(s) for s in spec.sources)
    none = Counter()
    params = [int_array(task_ids)] + [int_array([deltas.get(pk, none)[f] for pk in task_ids]) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*head, now, task_ids, sources, *params])
        rows = cursor.fetchall()
    formats = {text: json.loads(text) for text in {row[-1] for row in rows}}  # a handful of distinct lists
    return sorted(
        (pk, old, new, waiting, observers.signature_of(request_id, group_id, project, ptag_id, formats[text]))
        for pk, old, new, waiting, request_id, group_id, project, ptag_id, text in rows
    )
