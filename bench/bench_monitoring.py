"""Dashboards at 100,000 tasks and 2,000,000 jobs on PostgreSQL: server-side render time, p95 over 20 requests.

Pages: the overall progress page, the task list (group + status filter, first page), a task page, the summary
API filtered by group and the sites page, rendered in-process with Django's test Client; the same at 10,000 tasks
(cost must not grow with the table: < 1.5x); and beside them, measured in the same run, a naive overall page that
counts jobs with `COUNT(*) ... GROUP BY`, the group summary summed from the group's task rows (the previous way),
and the sites page counting active jobs and last-hour failures from job rows (the previous way).
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
    with connection.cursor() as cursor:  # a fresh machine has not got it yet
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cursor.fetchone():
            cursor.execute(f'CREATE DATABASE "{name}"')
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
    from monitoring.models import Dimension, Rollup, SiteJobs
    from monitoring.rebuild import rollups_rebuild
    from tasks.models import ProductionTask

    call_command("migrate", verbosity=0)
    if ProductionTask.objects.count() != n_tasks:
        print(f"# loading {n_tasks:,} tasks: {load(n_tasks=n_tasks)}", flush=True)
    elif not SiteJobs.objects.exists() or not Rollup.objects.exclude(dimension__in=Dimension.values).exists():
        # Loaded before the sites' ledger and the rows within a scope existed: rebuild the rollups, keep the rows.
        start = time.perf_counter()
        rollups_rebuild()
        print(f"# rebuilt the rollups of {n_tasks:,} tasks in {time.perf_counter() - start:.1f} s", flush=True)


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


def naive_group_summary(group):
    """A summary filtered by group the previous way: the group's task rows summed, per scope and per breakdown."""
    from monitoring.summary import BREAKDOWNS, filtered_breakdown, task_sum_rows

    filters = {"group": group}
    return task_sum_rows(filters, None), [filtered_breakdown(d, filters) for d in BREAKDOWNS if d != "group"]


def naive_sites():
    """The sites' figures the previous way: brokered jobs and last-hour failures counted from job rows."""
    from datetime import timedelta

    from django.db.models import Count
    from django.utils import timezone

    from tasks.models import Job

    active = Job.objects.filter(status__in=["assigned", "running"], site__isnull=False).order_by()
    hour_ago = timezone.now() - timedelta(hours=1)
    failed = Job.objects.filter(ended_at__gte=hour_ago, status="failed", site__isnull=False).order_by()
    return list(active.values_list("site_id", "status").annotate(n=Count("pk"))), list(
        failed.values_list("site_id").annotate(n=Count("pk"))
    )


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
        "group_summary": p95_ms(get(f"/api/summary/?group={group}")),
        "naive_group_summary": p95_ms(lambda: naive_group_summary(group)),
        "sites": p95_ms(get("/monitoring/sites/")),
        "naive_sites": p95_ms(naive_sites),
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
    rows += [
        {
            "benchmark": "summary API filtered by group, 100k tasks, p95 (baseline: summing the group's task rows)",
            "ours": big["group_summary"],
            "baseline": big["naive_group_summary"],
            "unit": "ms",
            "target": target,
        },
        {
            "benchmark": "sites page, 100k tasks / 2M jobs, p95 (baseline: counting jobs per site from job rows)",
            "ours": big["sites"],
            "baseline": big["naive_sites"],
            "unit": "ms",
            "target": target,
        },
    ]
    pages = (("overview", "overall page"), ("task_list", "task list"), ("task_page", "task page"))
    pages += (("group_summary", "group summary API"), ("sites", "sites page"))
    for key, label in pages:
        rows.append(
            {
                "benchmark": f"{label} p95 at 10k tasks (baseline column: at 100k; ratio = growth)",
                "ours": small[key],
                "baseline": big[key],
                "unit": "ms",
                "target": "growth < 1.5x",
            }
        )
    naive = (
        ("naive_overview", "naive overall page (COUNT(*) GROUP BY jobs)"),
        ("naive_group_summary", "naive group summary (task rows summed)"),
        ("naive_sites", "naive sites figures (job rows counted)"),
    )
    for key, label in naive:
        rows.append(
            {
                "benchmark": f"{label} at 10k tasks (baseline column: at 100k)",
                "ours": small[key],
                "baseline": big[key],
                "unit": "ms",
                "target": "(grows with the table)",
            }
        )
    return rows
