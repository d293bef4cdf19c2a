"""Aborting 10,000 tasks with 200,000 jobs, from the click (API POST) to the operation done, on PostgreSQL.

Beside it, from the same run and the same rows (reloaded with COPY before each measurement):
- the naive way: a per-object loop, `save()` per task and per job (measured on a subset and extrapolated);
- the physical limit: a hand-written raw SQL UPDATE of the jobs and of the tasks (counters included).
Running jobs are "killed" through a null executor, so the figure is the portal's own work.
Run: DATABASE_URL=postgres://.../deft_bench_6 DEBUG=0 SECRET_KEY=... python bench/run.py actions
"""

import json
import sys
import time

import django

TASKS = 10_000
BENCH_INPUT = "mc14_8TeV.999999.Bench.merge.AOD.e1_s1_r1"  # by name: other benches' inputs share the number
LOOP_TASKS = 200  # the per-object loop is measured on this many tasks and extrapolated to TASKS
# Per task, 20 jobs: half the tasks have running jobs (they stay `toabort` until the executor reports),
# the other half only waiting ones (they become `aborted` at once).
MIX_IDLE = {"finished": 10, "defined": 5, "assigned": 5}
MIX_BUSY = {"finished": 10, "running": 4, "defined": 3, "assigned": 3}


def run() -> list[dict]:
    django.setup()
    from django.conf import settings

    name = "abort 10,000 tasks / 200,000 jobs (POST + worker to done)"
    if not settings.DATABASE_IS_POSTGRES:
        return [{"benchmark": f"{name}: skipped (needs PostgreSQL)", "ours": None, "unit": "s"}]
    prepare()
    request, actor = fixtures()
    post, work = measure_ours(request, actor)
    raw = measure_raw_sql(request)
    loop = measure_loop(request)
    print(
        f"  ours: POST {post:.3f} s + worker {work:.3f} s; raw SQL {raw:.3f} s; "
        f"loop {loop:.3f} s extrapolated from {LOOP_TASKS} tasks",
        file=sys.stderr,
    )
    return [
        {
            "benchmark": f"{name}; loop: {LOOP_TASKS} tasks measured, x{TASKS // LOOP_TASKS} extrapolated",
            "ours": post + work,
            "baseline": loop,
            "limit": raw,
            "unit": "s",
            "target": "<= 5 s, >= 50x faster than the loop, <= 2x raw SQL",
        },
        {
            "benchmark": "POST /api/tasks/actions/ for 10,000 tasks by filter -> 202",
            "ours": post,
            "unit": "s",
            "target": "< 0.2 s",
        },
    ]


def prepare():
    from django.core.management import call_command

    from deft.celery import app
    from tasks.engine.executors import base

    call_command("migrate", verbosity=0)
    app.conf.broker_url = "memory://"  # the POST queues into memory; the worker part runs in this process
    app.conf.task_always_eager = False
    base.BACKENDS["bench-null"] = "bench.bench_actions.NullExecutor"
    from django.conf import settings

    settings.DEFT_EXECUTOR = "bench-null"


def fixtures():
    from django.contrib.auth import get_user_model

    from catalog.models import Dataset
    from deft.models import Membership, PhysicsGroup, Role
    from requests_app.models import ProductionRequest, PTag

    group, _ = PhysicsGroup.objects.get_or_create(
        name="PHYS-BENCH", defaults={"code": "BENCH", "egroup": "bench@example.org", "destination": "type=GROUPDISK"}
    )
    actor, _ = get_user_model().objects.get_or_create(username="bench-prodmgr")
    Membership.objects.get_or_create(user=actor, group=None, role=Role.PRODUCTION_MANAGER)
    request = ProductionRequest.objects.filter(group=group).first() or ProductionRequest.objects.create(
        group=group, requester=actor, description="bench"
    )
    Dataset.objects.get_or_create(
        name=BENCH_INPUT,
        defaults={
            "project": "mc14_8TeV",
            "number": 999999,
            "physics_short": "Bench",
            "prod_step": "merge",
            "data_type": "AOD",
            "tags": "e1_s1_r1",
        },
    )
    PTag.objects.get_or_create(name="p9999", defaults={"cache": "AtlasDerivation 19.1.4.7"})
    return request, actor


def load(request):
    """10,000 running tasks and 200,000 jobs, by COPY, counters matching the jobs."""
    from django.db import connection
    from django.utils import timezone

    from catalog.models import Dataset
    from deft.models import AuditEvent
    from requests_app.models import PTag
    from tasks.models import Job, Operation, ProductionTask

    dataset, ptag = Dataset.objects.get(name=BENCH_INPUT), PTag.objects.get(name="p9999")
    now = timezone.now()
    with connection.cursor() as cursor:
        # Jobs have no FK constraint to their task (migration tasks 0008): a task TRUNCATE does not cascade to them.
        cursor.execute(f"TRUNCATE {ProductionTask._meta.db_table}, {Job._meta.db_table} CASCADE")
    AuditEvent.objects.all().delete()
    Operation.objects.all().delete()
    mixes = [MIX_IDLE if i % 2 == 0 else MIX_BUSY for i in range(TASKS)]
    task_values = {
        "request_id": request.pk,
        "group_id": request.group_id,
        "project": "mc14_8TeV",
        "input_dataset_id": dataset.pk,
        "ptag_id": ptag.pk,
        "formats": '["DAOD_SUSY1"]',
        "status": "running",
        "events_total": 100_000,
        "created": now,
        "updated": now,
    }
    rows = []
    for i, mix in enumerate(mixes):
        counters = {f"jobs_{s}": n for s, n in mix.items()}
        rows.append({**task_values, **counters, "name": f"bench.task.{i:05d}"})
    copy_rows(ProductionTask, rows)
    task_ids = list(ProductionTask.objects.filter(request=request).order_by("pk").values_list("pk", flat=True))
    job_values = {"job_type": "deriv", "inputs": "[]", "nevents": 5000, "created": now, "updated": now}
    pairs = zip(task_ids, mixes, strict=True)
    jobs = ({**job_values, "task_id": t, "status": s} for t, mix in pairs for s, n in mix.items() for _ in range(n))
    copy_rows(Job, jobs)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {ProductionTask._meta.db_table}; ANALYZE {Job._meta.db_table}")
    return task_ids


def copy_rows(model, rows):
    """COPY rows (dicts of column values) into a model's table; other columns take the model's defaults."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {f.column: default_of(f) for f in fields}
    columns = [f.column for f in fields]
    sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.connection.cursor().copy(sql) as copy:
        for row in rows:
            merged = {**defaults, **row}
            copy.write_row([merged[c] for c in columns])


def default_of(field):
    if field.null and not field.has_default():
        return None
    value = field.get_default()
    return json.dumps(value) if field.get_internal_type() == "JSONField" else value


def measure_ours(request, actor) -> tuple[float, float]:
    from rest_framework.test import APIClient

    from tasks.models import Operation
    from tasks.operations.task_actions import operation_run

    load(request)
    api = APIClient()
    api.force_authenticate(actor)
    # A running server has its code loaded and its broker connection open: one small action first, not measured.
    api.post("/api/tasks/actions/", {"action": "resume", "filter": {"request": request.pk}}, format="json")
    started = time.perf_counter()
    response = api.post(
        "/api/tasks/actions/", {"action": "abort", "filter": {"request": request.pk}, "comment": "bench"}, format="json"
    )
    post = time.perf_counter() - started
    assert response.status_code == 202, response.content
    started = time.perf_counter()
    op = operation_run(operation_id=response.json()["id"])
    work = time.perf_counter() - started
    assert (op.status, op.done) == ("done", TASKS), (op.status, op.done, op.messages)
    assert Operation.objects.get(pk=op.pk).status == "done"
    return post, work


def measure_raw_sql(request) -> float:
    from django.db import connection, transaction

    from tasks.models import Job, ProductionTask

    task_ids = load(request)
    tasks, jobs = ProductionTask._meta.db_table, Job._meta.db_table
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {jobs} SET status = 'cancelled', updated = now(), ended_at = now() "
            "WHERE task_id = ANY(%s) AND status IN ('defined', 'assigned')",
            [task_ids],
        )
        cursor.execute(
            f"UPDATE {tasks} SET status = CASE WHEN jobs_running = 0 THEN 'aborted' ELSE 'toabort' END, "
            "jobs_cancelled = jobs_cancelled + jobs_defined + jobs_assigned, jobs_defined = 0, jobs_assigned = 0, "
            "updated = now() WHERE id = ANY(%s) AND status = 'running'",
            [task_ids],
        )
    return time.perf_counter() - started


def measure_loop(request) -> float:
    """The naive way: load each task, save each of its waiting jobs, fix its counters, save it."""
    from tasks.models import ProductionTask

    task_ids = load(request)[:LOOP_TASKS]
    started = time.perf_counter()
    for task in ProductionTask.objects.filter(pk__in=task_ids):
        for job in task.jobs.filter(status__in=["defined", "assigned"]):
            setattr(task, f"jobs_{job.status}", getattr(task, f"jobs_{job.status}") - 1)
            task.jobs_cancelled += 1
            job.status = "cancelled"
            job.save()
        task.status = "toabort" if task.jobs_running else "aborted"
        task.save()
    return (time.perf_counter() - started) * TASKS / LOOP_TASKS


class NullExecutor:
    """Accepts kills and does nothing: the benchmark measures the portal, not a grid."""

    name = "null"

    def submit(self, job_ids):
        pass

    def kill(self, job_ids):
        pass

    def poll(self):
        return []
