"""Requests: dataset pattern search over 100,000 datasets, and registering a 10,000-slice request's tasks.

Run on PostgreSQL with its own database, e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/deft_bench_3 SECRET_KEY=bench .venv/bin/python bench/run.py requests

- search: the first page (50 rows, ordered by name, with the total count) of `mc14_8TeV.*.AOD.*` with the
  trigram index, against the same query with index scans disabled (sequential scan), and the raw SQL as limit.
- registration: our worker (bulk INSERTs per 5,000-slice batch) against a per-row ORM `create()` loop over the same
  rows, and raw `COPY` of the same rows as the limit. Plus the approval HTTP request itself.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.run import median_of  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deft.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

DATASETS = 100_000
SLICES = 10_000
PATTERN = "mc14_8TeV.*.AOD.*"
PROJECTS = ["mc14_8TeV", "mc15_13TeV", "mc16_13TeV", "data12_8TeV", "data15_13TeV"]
TYPES = ["AOD", "EVNT", "HITS", "RDO", "ESD", "DAOD_SUSY1", "DAOD_TOPQ1", "NTUP_PILEUP"]
PHYSICS = ["PowhegPythia_P2011C_ttbar", "Sherpa_CT10_Zee", "Sherpa_CT10_Wmunu", "Pythia8_AU2CT10_jetjet_JZ2W"]


def skipped(name):
    return {"benchmark": name, "ours": None, "unit": "s", "target": "skipped (needs PostgreSQL)"}


def run() -> list[dict]:
    if not settings.DATABASE_IS_POSTGRES:
        names = ["dataset search first page", "register 10,000-slice request", "approval HTTP request"]
        return [skipped(n) for n in names]
    call_command("migrate", verbosity=0)
    load_catalog()
    return [*bench_search(), *bench_registration()]


# --- the catalog ------------------------------------------------------------------------------------------------


def dataset_row(i: int) -> tuple:
    project, dtype = PROJECTS[i % len(PROJECTS)], TYPES[(i // len(PROJECTS)) % len(TYPES)]
    step = "merge" if dtype in ("AOD", "ESD") else ("deriv" if dtype.startswith("DAOD") else "simul")
    number, physics, tags = 100000 + i, PHYSICS[i % len(PHYSICS)], f"e{1000 + i % 900}_s1933_r5591"
    name = f"{project}.{number}.{physics}.{step}.{dtype}.{tags}"
    return (name, project, number, physics, step, dtype, tags, False, 50_000, 10, 15 * 10**9, "closed")


def load_catalog() -> None:
    """100,000 datasets loaded with COPY (once; later runs reuse them)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM catalog_dataset WHERE status = 'closed'")
        if cursor.fetchone()[0] >= DATASETS:
            return
        cursor.execute("TRUNCATE catalog_dataset RESTART IDENTITY CASCADE")
        columns = "name, project, number, physics_short, prod_step, data_type, tags, is_container, events, files, bytes"
        with cursor.copy(f"COPY catalog_dataset ({columns}, status, created) FROM STDIN") as copy:
            for i in range(DATASETS):
                copy.write_row((*dataset_row(i), "2026-01-01T00:00:00Z"))
        cursor.execute("VACUUM ANALYZE catalog_dataset")  # flushes the GIN pending list too


# --- search -----------------------------------------------------------------------------------------------------


def search_first_page():
    from catalog.filtersets import DatasetFilterSet
    from catalog.models import Dataset

    qs = DatasetFilterSet({"name": PATTERN}, queryset=Dataset.objects.order_by("name")).qs
    return qs.count(), list(qs[:50])


def search_raw():
    like = "mc14\\_8TeV.%.AOD.%"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM catalog_dataset WHERE name ILIKE %s", [like])
        cursor.execute(
            'SELECT * FROM catalog_dataset WHERE name ILIKE %s ORDER BY name COLLATE "C", id LIMIT 50', [like]
        )
        return cursor.fetchall()


def search_sequential():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_indexscan = off")
        return search_first_page()


def bench_search() -> list[dict]:
    count, _ = search_first_page()
    ours, baseline, limit = median_of(search_first_page), median_of(search_sequential), median_of(search_raw)
    return [
        {
            "benchmark": f"dataset search first page `{PATTERN}` ({count:,} of {DATASETS:,} match)",
            "ours": ours,
            "baseline": baseline,
            "limit": limit,
            "unit": "s",
            "target": "< 0.100 s",
        }
    ]


# --- registration -----------------------------------------------------------------------------------------------


def bench_world():
    from deft.models import Membership, PhysicsGroup, Role
    from requests_app.models import PTag
    from tests.factories import UserFactory

    group, _ = PhysicsGroup.objects.get_or_create(
        name="PHYS-SUSY", defaults={"code": "SUSY", "egroup": "susy@example.org", "destination": "type=GROUPDISK"}
    )
    ptag, _ = PTag.objects.get_or_create(name="p1872", defaults={"cache": "AtlasDerivation 19.1.4.7"})
    ptag.formats = ["DAOD_SUSY1", "DAOD_SUSY2"]
    ptag.save()
    manager = UserFactory(username="bench-prodmgr")
    Membership.objects.get_or_create(user=manager, group=None, role=Role.PRODUCTION_MANAGER)
    return group, ptag, manager


def waiting_request(group, ptag, manager):
    """A waiting request of 10,000 AOD slices, one format each (10,000 tasks)."""
    from catalog.models import Dataset
    from requests_app.models import ProductionRequest, Slice

    inputs = list(Dataset.objects.filter(data_type="AOD", status="closed").order_by("id")[:SLICES])
    request = ProductionRequest.objects.create(group=group, requester=manager, description="bench", status="waiting")
    Slice.objects.bulk_create(
        [
            Slice(request=request, position=i, dataset=d, dataset_name=d.name, ptag=ptag, formats=["DAOD_SUSY1"])
            for i, d in enumerate(inputs, start=1)
        ],
        batch_size=5000,
    )
    return request


def clean_outputs() -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tasks_taskdataset, tasks_productiontask, tasks_operation CASCADE")
        cursor.execute("DELETE FROM catalog_dataset WHERE status = 'open'")
        cursor.execute("DELETE FROM requests_app_slice; DELETE FROM requests_app_productionrequest")
        cursor.execute("DELETE FROM deft_auditevent")
        # The deleted rows stay as dead rows (and GIN pending-list entries), which nothing else removes where
        # autovacuum is off (it is on the bench machine): a million dead slices after a hundred runs. Vacuumed
        # here, ours, the baseline and the limit each start from the same tables, and no run reads the leftovers
        # of the runs before it.
        cursor.execute("VACUUM catalog_dataset, requests_app_slice, requests_app_productionrequest, deft_auditevent")


def timed_approval(request, manager) -> tuple[float, int]:
    """The approval HTTP request, with queueing left out (the worker is timed on its own)."""
    from django.test import Client

    from tasks.operations import runner

    queued = []
    original, runner.operation_queue = runner.operation_queue, queued.append
    try:
        client = Client()
        client.force_login(manager)
        client.get(f"/api/requests/{request.pk}/")  # a warm process: imports and caches are not the approval's
        start = time.perf_counter()
        response = client.post(f"/api/requests/{request.pk}/approve/")
        elapsed = time.perf_counter() - start
    finally:
        runner.operation_queue = original
    assert response.status_code == 202, response.content[:500]
    return elapsed, queued[0]


def planned_rows(request):
    """The rows registration writes, built the same way, for the baseline and the COPY limit."""
    from requests_app import registration
    from requests_app.models import Slice

    slice_ids = list(Slice.objects.filter(request=request).values_list("pk", flat=True))
    slices = registration.unregistered_slices(request, slice_ids)
    events, destination = registration._input_events(slices), request.effective_destination
    return [p for s in slices for p in registration.plan_slice(request, s, events=events, destination=destination)]


def per_row_baseline(request) -> float:
    """The naive way: one create() per task, per output dataset and per link."""
    from catalog.models import Dataset
    from catalog.naming import merged_dataset_name
    from requests_app.registration import _dataset_row
    from tasks.models import ProductionTask, TaskDataset

    planned = planned_rows(request)
    start = time.perf_counter()
    with transaction.atomic():
        for task_row, outputs in planned:
            task = ProductionTask.objects.create(**task_row)
            for data_format, output_name in outputs:
                dataset = Dataset.objects.create(**_dataset_row(merged_dataset_name(output_name, task_id=task.pk)))
                TaskDataset.objects.create(task=task, dataset=dataset, format=data_format, merged=True)
    return time.perf_counter() - start


def copy_limit(request) -> float:
    """Raw COPY of the same rows, ids and text prepared beforehand: what PostgreSQL itself needs."""
    from catalog.models import Dataset
    from catalog.naming import merged_dataset_name
    from deft.bulk import copy_lines, copy_text, next_ids
    from requests_app.registration import _dataset_row
    from tasks.models import ProductionTask, TaskDataset

    planned = planned_rows(request)
    task_ids = next_ids(ProductionTask, len(planned))
    outputs = [(tid, f, o) for tid, (_, outs) in zip(task_ids, planned, strict=True) for f, o in outs]
    dataset_ids = next_ids(Dataset, len(outputs))
    datasets = [_dataset_row(merged_dataset_name(o, task_id=tid)) for tid, _, o in outputs]
    links = [
        {"task_id": tid, "dataset_id": did, "format": f} for did, (tid, f, _) in zip(dataset_ids, outputs, strict=True)
    ]
    texts = [
        (ProductionTask, copy_lines(ProductionTask, [t for t, _ in planned], task_ids)),
        (Dataset, copy_lines(Dataset, datasets, dataset_ids)),
        (TaskDataset, copy_lines(TaskDataset, links, next_ids(TaskDataset, len(links)))),
    ]
    start = time.perf_counter()
    with transaction.atomic():
        for model, (columns, text) in texts:
            copy_text(model, columns, text)
    return time.perf_counter() - start


def bench_registration() -> list[dict]:
    from tasks.models import ProductionTask
    from tasks.operations.runner import operation_run

    group, ptag, manager = bench_world()
    clean_outputs()
    request = waiting_request(group, ptag, manager)
    approval, op_id = timed_approval(request, manager)
    start = time.perf_counter()
    operation_run(operation_id=op_id)
    ours = time.perf_counter() - start
    tasks = ProductionTask.objects.filter(request=request).count()
    clean_outputs()
    request = waiting_request(group, ptag, manager)
    baseline = per_row_baseline(request)
    clean_outputs()
    request = waiting_request(group, ptag, manager)
    limit = copy_limit(request)
    clean_outputs()
    return [
        {
            "benchmark": f"register {SLICES:,}-slice request ({tasks:,} tasks, {tasks / ours:,.0f} tasks/s)",
            "ours": ours,
            "baseline": baseline,
            "limit": limit,
            "unit": "s",
            "target": "<= 2 s, within 3x of COPY",
        },
        {
            "benchmark": f"approval HTTP request ({SLICES:,} slices)",
            "ours": approval,
            "unit": "s",
            "target": "< 0.200 s",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
