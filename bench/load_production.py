"""Load a big production into a PostgreSQL bench database with COPY: 100,000 tasks and 2,000,000 jobs in minutes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/deft_bench_7 python bench/load_production.py --tasks 100000

Groups, people, sites and p-tags come from the demo seed; requests (100 tasks each), input datasets, tasks and jobs
are written with `COPY` (psycopg's `cursor.copy`), with explicit ids so jobs can point at their tasks and retries at
the attempt before. Task counters are computed while the jobs are generated, then the rollups are rebuilt from the
tasks (`monitoring.rebuild.rollups_rebuild`). Refuses to run on a database whose name does not start `deft_bench`.
"""

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deft.settings")

TASKS_PER_REQUEST = 100
# task status -> share of tasks; then how its deriv jobs end up (statuses with weights)
TASK_MIX = [
    ("done", 0.40),
    ("running", 0.25),
    ("finished", 0.08),
    ("failed", 0.04),
    ("aborted", 0.04),
    ("defined", 0.14),
    ("registered", 0.05),
]
DERIV_MIX = {
    "done": [("finished", 1.0)],
    "running": [("finished", 0.5), ("running", 0.2), ("assigned", 0.1), ("defined", 0.1), ("failed", 0.1)],
    "finished": [("finished", 0.8), ("failed", 0.2)],
    "failed": [("failed", 1.0)],
    "aborted": [("finished", 0.3), ("cancelled", 0.6), ("failed", 0.1)],
    "defined": [("defined", 1.0)],
}
ERRORS = [("pilot", 1099, "site"), ("pilot", 1212, "resource"), ("trf", 65, "software"), ("pilot", 1137, "site")]
EVENTS_PER_JOB = 5000


def pick(rng, mix):
    r, acc = rng.random(), 0.0
    for value, weight in mix:
        acc += weight
        if r < acc:
            return value
    return mix[-1][0]


def setup():
    import django

    django.setup()
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql" or not name.startswith("deft_bench"):
        raise SystemExit(f"refusing to load into {connection.vendor} database {name!r}: use a deft_bench_* database")
    return connection


def reset(connection):
    tables = ["monitoring_sample", "monitoring_rollup", "monitoring_sitejobs", "tasks_joboutput", "tasks_job"]
    tables += ["tasks_taskdataset"]
    tables += ["tasks_productiontask", "requests_app_slice", "requests_app_productionrequest", "catalog_dataset"]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def make_requests(n_requests, groups, requester):
    from requests_app.models import ProductionRequest

    rows = [
        ProductionRequest(
            group=groups[i % len(groups)],
            requester=requester,
            description=f"bench request {i}",
            status="working",
            project="mc14_8TeV",
        )
        for i in range(n_requests)
    ]
    return ProductionRequest.objects.bulk_create(rows, batch_size=2000)


def copy_rows(connection, columns: "Columns", rows):
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor under Django's wrapper
        with raw.copy(columns.copy_sql) as copy:
            for row in rows:
                copy.write_row(columns.row(row))


def dataset_rows(n, offset, now):
    for i in range(1, n + 1):
        number = 100000 + i
        tags = "e1727_s1933_s1911_r5591_r5625"
        yield {
            "id": offset + i,
            "name": f"mc14_8TeV.{number}.Bench_{i % 997}.merge.AOD.{tags}",
            "project": "mc14_8TeV",
            "number": number,
            "physics_short": f"Bench_{i % 997}",
            "prod_step": "merge",
            "data_type": "AOD",
            "tags": tags,
            "is_container": False,
            "events": EVENTS_PER_JOB * 18,
            "files": 18,
            "bytes": 18 * 5 * 10**9,
            "status": "closed",
            "created": now,
        }


class Columns:
    """A model's columns for COPY, from the model itself: the loader names what it sets, every other column gets
    the field's default (so a field added to the model never breaks the load)."""

    def __init__(self, model, connection):
        self.table = model._meta.db_table
        fields = model._meta.concrete_fields
        self.names = [f.column for f in fields]
        self.attnames = [f.attname for f in fields]
        self.defaults = {f.attname: f.get_db_prep_save(f.get_default(), connection) for f in fields}
        self.copy_sql = f"COPY {self.table} ({', '.join(self.names)}) FROM STDIN"

    def row(self, values: dict) -> tuple:
        unknown = values.keys() - self.defaults.keys()
        assert not unknown, f"{self.table} has no column {unknown}"
        return tuple(values[a] if a in values else self.defaults[a] for a in self.attnames)


def jobs_of(task_id, task_status, n_deriv, rng, sites, next_id, now):
    """The jobs of one task (deriv, retries of some failures, merges) and the task's counters."""
    counts, jobs = Counter(), []
    if task_status == "registered":
        return jobs, counts, next_id
    for i in range(n_deriv):
        status = pick(rng, DERIV_MIX[task_status])
        jobs.append(job_row(next_id, task_id, "deriv", status, 1, None, rng, sites, now, i))
        next_id += 1
        if status == "failed" and task_status in ("running", "finished") and rng.random() < 0.5:
            retry_status = pick(rng, [("finished", 0.7), ("running", 0.2), ("failed", 0.1)])
            jobs.append(job_row(next_id, task_id, "deriv", retry_status, 2, next_id - 1, rng, sites, now, i))
            next_id += 1
    finished = sum(1 for j in jobs if j["status"] == "finished")
    if finished and task_status in ("done", "running", "finished"):
        merge_status = "finished" if task_status != "running" else pick(rng, [("finished", 0.6), ("running", 0.4)])
        if task_status == "finished" and rng.random() < 0.2:
            merge_status = "failed"
        jobs.append(job_row(next_id, task_id, "merge", merge_status, 1, None, rng, sites, now, 0, finished))
        next_id += 1
    for j in jobs:
        counts[f"jobs_{j['status']}"] += 1
        if j["status"] == "finished":
            counts["events_processed" if j["job_type"] == "deriv" else "events_done"] += j["nevents"]
    return jobs, counts, next_id


def job_row(pk, task_id, job_type, status, attempt, previous, rng, sites, now, i, merged_jobs=1):
    nevents = EVENTS_PER_JOB * (merged_jobs if job_type == "merge" else 1)
    row = {"id": pk, "task_id": task_id, "job_type": job_type, "status": status, "attempt": attempt}
    row |= {"previous_id": previous, "nevents": nevents, "created": now, "updated": now}
    if status != "defined":
        row["site_id"] = rng.choice(sites)
    if job_type == "deriv":
        row["inputs"] = json.dumps([[f"AOD.{task_id:07d}._{i:06d}.pool.root.1", 200842, i + 1, nevents]])
    if status == "failed":
        source, code, error_class = rng.choice(ERRORS)
        row |= {"failures": 1, "error_source": source, "error_code": code, "error_diag": "diag"}
        row["error_class"] = error_class
    # Ended jobs spread over the last week, as a steady production leaves them (not all in the last hour).
    if status in ("finished", "failed", "cancelled"):
        row["ended_at"] = now - timedelta(minutes=rng.randrange(7 * 24 * 60))
    if status in ("running", "finished", "failed"):
        row["started_at"] = row.get("ended_at", now) - timedelta(hours=2)
    return row


def task_row(task_id, request, status, ptag_id, formats, counts, offset, jobs_per_task, now):
    from tasks.models import TASK_COUNTER_FIELDS  # the task counters the rollups sum: jobs_*, events_*

    counters = {f: counts[f] for f in TASK_COUNTER_FIELDS} | {"events_total": EVENTS_PER_JOB * (jobs_per_task - 2)}
    return {
        "id": task_id,
        "request_id": request.pk,
        "group_id": request.group_id,
        "project": "mc14_8TeV",
        "name": f"bench.task.{task_id}",
        "input_dataset_id": offset + task_id,
        "ptag_id": ptag_id,
        "formats": json.dumps(formats[: 1 + task_id % 2]),
        "status": status,
        **counters,
        "created": now,
        "updated": now,
    }


def load(*, n_tasks: int, jobs_per_task: int = 22, seed: int = 7) -> dict:
    connection = setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.db.models import Max
    from django.utils import timezone

    from catalog.models import Dataset, Site
    from deft.demo import seed_demo
    from deft.models import PhysicsGroup
    from monitoring.rebuild import rollups_rebuild
    from requests_app.models import PTag
    from tasks.models import Job, ProductionTask

    timings = {}
    start = time.monotonic()
    reset(connection)
    seed_demo(datasets=0, password="deft-demo")
    groups = list(PhysicsGroup.objects.order_by("pk"))
    ptags = list(PTag.objects.order_by("pk").values_list("pk", "formats"))
    sites = list(Site.objects.values_list("pk", flat=True))
    requester = get_user_model().objects.get(username="prodmgr")
    requests = make_requests(-(-n_tasks // TASKS_PER_REQUEST), groups, requester)
    timings["seed"] = time.monotonic() - start

    rng, now = random.Random(seed), timezone.now()
    offset = Dataset.objects.aggregate(m=Max("pk"))["m"] or 0  # the demo seed's own datasets come first
    start = time.monotonic()
    copy_rows(connection, Columns(Dataset, connection), dataset_rows(n_tasks, offset, now))
    timings["datasets"] = time.monotonic() - start

    start = time.monotonic()
    task_rows, job_total = [], 0
    # One transaction: Django's foreign keys are deferred, so jobs may be copied before their tasks.
    with transaction.atomic(), connection.cursor() as cursor:
        job_columns = Columns(Job, connection)
        with cursor.cursor.copy(job_columns.copy_sql) as copy:
            next_id = 1
            for task_id in range(1, n_tasks + 1):
                status = pick(rng, TASK_MIX)
                jobs, counts, next_id = jobs_of(task_id, status, jobs_per_task - 2, rng, sites, next_id, now)
                for job in jobs:
                    copy.write_row(job_columns.row(job))
                job_total += len(jobs)
                request = requests[(task_id - 1) // TASKS_PER_REQUEST]
                ptag_id, formats = ptags[task_id % len(ptags)]
                task_rows.append(
                    task_row(task_id, request, status, ptag_id, formats, counts, offset, jobs_per_task, now)
                )
        copy_rows(connection, Columns(ProductionTask, connection), task_rows)
    timings["tasks+jobs"] = time.monotonic() - start

    start = time.monotonic()
    with connection.cursor() as cursor:
        for table in ("catalog_dataset", "tasks_productiontask", "tasks_job"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cursor.execute("ANALYZE")
    timings["analyze"] = time.monotonic() - start
    start = time.monotonic()
    rollups_rebuild()
    timings["rollups"] = time.monotonic() - start
    return {"tasks": n_tasks, "jobs": job_total, **{k: round(v, 1) for k, v in timings.items()}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--jobs-per-task", type=int, default=22)
    args = parser.parse_args()
    print(load(n_tasks=args.tasks, jobs_per_task=args.jobs_per_task))
