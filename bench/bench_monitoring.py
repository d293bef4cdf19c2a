"""Dashboards at 100,000 tasks and 2,000,000 jobs on PostgreSQL: server-side render time, p95 over 20 requests.

Pages: the overall progress page, the task list (group + status filter, first page) and a task page, rendered
in-process with Django's test Client; the same at 10,000 tasks (cost must not grow with the table: < 1.5x); and
beside them a naive overall page that counts jobs with `COUNT(*) ... GROUP BY`, measured in the same run.
Databases: `deft_bench_7` (100k) and `deft_bench_7_10k` (10k), loaded by bench/load_production.py when missing.
"""

import os
import time
from contextlib import contextmanager

from django.conf import settings

BIG = (os.environ.get("BENCH_MONITORING_DB", "deft_bench_7"), 100_000)
SMALL = (BIG[0] + "_10k", 10_000)
REQUESTS = 20
TARGET_MS = 150


@contextmanager
def use_database(name):
    from django.db import connection

    old = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = name
    try:
        yield connection
    finally:
        connection.close()
        connection.settings_dict["NAME"] = old


def ensure_loaded(n_tasks):
    from django.core.management import call_command

    from bench.load_production import load
    from tasks.models import ProductionTask

    call_command("migrate", verbosity=0)
    if ProductionTask.objects.count() != n_tasks:
        print(f"# loading {n_tasks:,} tasks: {load(n_tasks=n_tasks)}", flush=True)


def p95_ms(fn, n=REQUESTS) -> float:
    fn()  # warm: connection, templates, plans
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[int(0.95 * n) - 1]


def naive_overview():
    """The overall page the naive way: jobs counted by group and status, events summed from job rows."""
    from django.db.models import Count, Q, Sum

    from tasks.models import Job, ProductionTask

    jobs = Job.objects.order_by().values("task__group__name", "status").annotate(n=Count("pk"))
    events = (
        Job.objects.order_by()
        .filter(status="finished")
        .values("task__group__name")
        .annotate(done=Sum("nevents", filter=Q(job_type="merge")), processed=Sum("nevents", filter=Q(job_type="deriv")))
    )
    tasks = ProductionTask.objects.order_by().values("group__name", "status").annotate(n=Count("pk"))
    return list(jobs), list(events), list(tasks)


def measure() -> dict:
    from django.test import Client

    from deft.models import PhysicsGroup
    from tasks.models import ProductionTask

    client = Client()
    client.force_login(get_shifter())
    group = PhysicsGroup.objects.get(name="PHYS-SUSY").name
    task_id = ProductionTask.objects.filter(status="running").order_by("pk").values_list("pk", flat=True)[500]

    def get(url):
        def fetch():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        return fetch

    return {
        "overview": p95_ms(get("/monitoring/")),
        "task_list": p95_ms(get(f"/tasks/?group={group}&status=running")),
        "task_page": p95_ms(get(f"/tasks/{task_id}/")),
        "naive_overview": p95_ms(naive_overview),
    }


def get_shifter():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="shifter")


def run() -> list[dict]:
    import django

    django.setup()
    if not settings.DATABASE_IS_POSTGRES:
        return [{"benchmark": "monitoring pages at 100k tasks: skipped (needs PostgreSQL)", "ours": None}]
    figures = {}
    for name, n_tasks in (SMALL, BIG):
        with use_database(name):
            ensure_loaded(n_tasks)
            figures[n_tasks] = measure()
    big, small = figures[BIG[1]], figures[SMALL[1]]
    target = f"≤ {TARGET_MS} ms p95"
    rows = [
        {
            "benchmark": "overall progress page, 100k tasks / 2M jobs, p95 (baseline: naive COUNT(*) GROUP BY jobs)",
            "ours": big["overview"],
            "baseline": big["naive_overview"],
            "unit": "ms",
            "target": target,
        },
        {"benchmark": "task list, group + status, first page, 100k tasks, p95", "ours": big["task_list"], "unit": "ms"},
        {"benchmark": "task page, 100k tasks / 2M jobs, p95", "ours": big["task_page"], "unit": "ms", "target": target},
    ]
    rows[1]["target"] = target
    for key, label in (("overview", "overall page"), ("task_list", "task list"), ("task_page", "task page")):
        rows.append(
            {
                "benchmark": f"{label} p95 at 10k tasks (baseline column: at 100k; ratio = growth)",
                "ours": small[key],
                "baseline": big[key],
                "unit": "ms",
                "target": "growth < 1.5x",
            }
        )
    rows.append(
        {
            "benchmark": "naive overall page (COUNT(*) GROUP BY jobs) at 10k tasks (baseline column: at 100k)",
            "ours": small["naive_overview"],
            "baseline": big["naive_overview"],
            "unit": "ms",
            "target": "(grows with the job table)",
        }
    )
    return rows
