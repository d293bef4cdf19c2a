"""Speed of the task engine on PostgreSQL: writing job rows, and applying the simulated grid's job updates.

Each figure is measured in the same run next to the naive way (one ORM call per row) and the physical limit
(raw COPY / one bare UPDATE). Needs PostgreSQL: point DATABASE_URL at a bench database (e.g. deft_bench_4);
it is migrated and its job tables are emptied. Run alone (`python bench/bench_execution.py`) or via bench/run.py.
"""

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deft.settings")
# `make bench` runs with DEBUG=0 (no query log slowing us down); a throwaway key lets settings load.
os.environ.setdefault("SECRET_KEY", "bench-only-" + os.urandom(16).hex())

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, F  # noqa: E402
from django.utils import timezone  # noqa: E402

JOBS = 50_000  # rows written by jobs_create and by COPY
NAIVE_JOBS = 2_000  # rows written one by one (extrapolated as a rate)
UPDATES_JOBS = 20_000  # jobs the simulated grid starts, then ends: 40,000 updates
NAIVE_UPDATES = 2_000


def skipped(reason: str) -> list[dict]:
    names = ("job rows written (jobs_create)", "simulated grid job updates applied (counters exact)")
    return [{"benchmark": n, "ours": None, "unit": "rows/s", "target": f"skipped ({reason})"} for n in names]


def run() -> list[dict]:
    if not settings.DATABASE_IS_POSTGRES:
        return skipped("needs PostgreSQL")
    call_command("migrate", verbosity=0)
    world = make_world()
    rows = [bench_jobs_create(world), bench_updates(world)]
    clean()
    return rows


def make_world():
    from catalog.models import Dataset, Site, StorageEndpoint
    from deft.models import PhysicsGroup
    from tests.factories import ProductionRequestFactory, ProductionTaskFactory, PTagFactory, UserFactory

    clean()
    group, _ = PhysicsGroup.objects.get_or_create(name="PHYS-BENCH", defaults={"code": "BENCH"})
    site, _ = Site.objects.get_or_create(name="BENCH-SITE", defaults={"tier": "T1", "slots": 10**6})
    for token in ("PRODDISK", "DATADISK"):
        StorageEndpoint.objects.get_or_create(
            name=f"BENCH-SITE_{token}", defaults={"site": site, "token_type": token, "capacity_bytes": 10**18}
        )
    dataset, _ = Dataset.objects.get_or_create(
        name="mc14_8TeV.999999.Bench.merge.AOD.e1_s2_r3", defaults={"project": "mc14_8TeV", "number": 999999}
    )
    request = ProductionRequestFactory(group=group, requester=UserFactory(username="bench"))
    ptag = PTagFactory(name="p9999")
    tasks = [
        ProductionTaskFactory(request=request, group=group, input_dataset=dataset, ptag=ptag, status="running")
        for _ in range(20)
    ]
    from tasks.engine.definition import output_datasets_ensure

    for task in tasks:  # as defining them does
        output_datasets_ensure(task=task)
    return {"site": site, "tasks": tasks}


def clean():
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tasks_joboutput, tasks_job CASCADE")
        cursor.execute(
            "DELETE FROM catalog_replica WHERE endpoint_id IN (SELECT id FROM catalog_storageendpoint "
            "WHERE name LIKE 'BENCH-SITE%%')"
        )
        cursor.execute("DELETE FROM catalog_file WHERE lfn LIKE 'DAOD_%%'")
        cursor.execute(
            "UPDATE tasks_productiontask SET jobs_defined=0, jobs_assigned=0, jobs_running=0, "
            "jobs_finished=0, jobs_failed=0, jobs_cancelled=0, events_processed=0, events_done=0"
        )


def job_specs(world, n):
    from tasks.models import Job

    tasks = world["tasks"]
    inputs = [[f"AOD.{i:08d}._000001.pool.root.1", 195847, i, 5000] for i in range(3)]
    return [Job(task=tasks[i % len(tasks)], nevents=15_000, inputs=inputs, priority=560) for i in range(n)]


def rate(n, seconds):
    return round(n / seconds)


def bench_jobs_create(world) -> dict:
    from tasks.engine.moves import jobs_create
    from tasks.models import Job, ProductionTask

    jobs = job_specs(world, JOBS)
    start = time.perf_counter()
    jobs_create(jobs=jobs)
    ours = rate(JOBS, time.perf_counter() - start)
    exact = counters_exact()
    clean()

    naive = job_specs(world, NAIVE_JOBS)
    start = time.perf_counter()
    for job in naive:  # the per-row way: one INSERT and one counter UPDATE per job
        with transaction.atomic():
            job.save()
            ProductionTask.objects.filter(pk=job.task_id).update(jobs_defined=F("jobs_defined") + 1)
    baseline = rate(NAIVE_JOBS, time.perf_counter() - start)
    clean()

    limit = copy_rate(world, Job)
    clean()
    return {
        "benchmark": f"job rows written (jobs_create, {JOBS:,} jobs)",
        "ours": ours,
        "baseline": baseline,
        "limit": limit,
        "unit": "rows/s",
        "target": f">= 30,000 rows/s; counters exact: {exact}",
    }


def copy_rate(world, Job) -> int:
    """The limit: raw COPY of the same rows (every column the model has, no ids returned, no counters)."""
    fields = [f for f in Job._meta.concrete_fields if not f.primary_key]
    sample = job_specs(world, 1)[0]
    sample.created = sample.updated = timezone.now()
    values = {f.column: f.get_db_prep_save(getattr(sample, f.attname), connection) for f in fields}
    tasks = world["tasks"]
    columns = list(values)
    copy_sql = f"COPY tasks_job ({', '.join(columns)}) FROM STDIN"
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for i in range(JOBS):
            values["task_id"] = tasks[i % len(tasks)].pk
            copy.write_row([values[c] for c in columns])
    return rate(JOBS, time.perf_counter() - start)


def submitted_jobs(world, n):
    """n jobs assigned to the bench site and handed to the simulated grid."""
    from tasks.engine.executors.simulated import SimulatedGrid
    from tasks.engine.moves import jobs_create, jobs_move

    ids = [j.pk for j in jobs_create(jobs=job_specs(world, n))]
    jobs_move(job_ids=ids, move="assign", values={"site_id": world["site"].pk})
    SimulatedGrid().submit(ids)
    return ids


def bench_updates(world) -> dict:
    from tasks.engine.executors.simulated import SimulatedGrid
    from tasks.engine.job_updates import job_updates_apply
    from tasks.models import Job, ProductionTask

    ids = submitted_jobs(world, UPDATES_JOBS)
    grid, applied = SimulatedGrid(), 0
    start = time.perf_counter()
    while updates := grid.poll(limit=5000):  # every job starts ...
        job_updates_apply(updates=updates)
        applied += len(updates)
        if applied >= UPDATES_JOBS:
            break
    elapsed = time.perf_counter() - start
    Job.objects.filter(pk__in=ids).update(executor_due=timezone.now() - timedelta(seconds=1))
    start = time.perf_counter()
    ended = 0
    while ended < UPDATES_JOBS and (updates := grid.poll(limit=5000)):  # ... and ends, writing its outputs
        job_updates_apply(updates=updates)
        ended += sum(1 for u in updates if u.status in ("finished", "failed"))
        applied += len(updates)
    elapsed += time.perf_counter() - start
    ours = rate(applied, elapsed)
    exact = counters_exact()
    clean()

    ids = submitted_jobs(world, NAIVE_UPDATES)
    start = time.perf_counter()
    for job in Job.objects.filter(pk__in=ids):  # per row: save the job, then bump its task's counters
        with transaction.atomic():
            job.status = "running"
            job.save()
            ProductionTask.objects.filter(pk=job.task_id).update(
                jobs_assigned=F("jobs_assigned") - 1, jobs_running=F("jobs_running") + 1
            )
    baseline = rate(NAIVE_UPDATES, time.perf_counter() - start)
    clean()

    ids = submitted_jobs(world, UPDATES_JOBS)
    start = time.perf_counter()
    with connection.cursor() as cursor:  # the limit: one bare UPDATE, no counters, no outputs
        cursor.execute("UPDATE tasks_job SET status = 'running' WHERE id = ANY(%s)", [ids])
    limit = rate(UPDATES_JOBS, time.perf_counter() - start)
    return {
        "benchmark": f"simulated grid job updates applied ({applied:,}: start, then finish/fail with outputs)",
        "ours": ours,
        "baseline": baseline,
        "limit": limit,
        "unit": "updates/s",
        "target": f">= 5,000 updates/s; counters exact: {exact}",
    }


def counters_exact() -> bool:
    from tasks.engine.moves import COUNTER_OF
    from tasks.models import Job, ProductionTask

    counts = {(t, s): n for t, s, n in Job.objects.values_list("task_id", "status").annotate(n=Count("id")).order_by()}
    for task in ProductionTask.objects.filter(request__group__name="PHYS-BENCH"):
        for status, field in COUNTER_OF.items():
            if getattr(task, field) != counts.get((task.pk, status), 0):
                return False
    return True


if __name__ == "__main__":
    for row in run():
        print(row)
