"""While the simulated grid runs a request (failures, retries, merges, a bulk abort), the sites page and the
dashboards show the numbers a recount of the raw job rows gives, at every step."""

from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum
from django.utils import timezone

from catalog.models import Replica, Site, TokenType
from monitoring import rollups
from monitoring.models import SiteJobs
from monitoring.samples import samples_write
from monitoring.views import site_rows
from tasks.engine.tick import tick
from tasks.models import Job
from tasks.operations.task_actions import operation_run, operation_start
from tests.tasks.world import demo_world, request_tasks


@pytest.fixture
def grid(settings):
    settings.DEFT_SIM_TIME_FACTOR = 1e9  # a job started at one tick ends at the next
    settings.DEFT_SIM_FAILURE_RATE = 0.3  # plenty of failures and retries
    settings.DEFT_SIM_SEED = 7


def site_recount(now) -> dict:
    """Per site, from raw rows: queued and running jobs, jobs failed in the last hour, PRODDISK bytes held."""
    by_status = Counter(
        {
            (site, status): n
            for site, status, n in Job.objects.filter(site__isnull=False)
            .values_list("site__name", "status")
            .annotate(n=Count("pk"))
            .order_by()
        }
    )
    failed = Counter(
        dict(
            Job.objects.filter(status="failed", ended_at__gte=now - timedelta(hours=1))
            .values_list("site__name")
            .annotate(n=Count("pk"))
            .order_by()
        )
    )
    # The demo's endpoints start empty of production files: what PRODDISK holds is the replicas placed on it.
    held = Replica.objects.filter(endpoint__token_type=TokenType.PRODDISK).values_list("endpoint__site__name")
    proddisk = Counter(dict(held.annotate(b=Sum("file__bytes")).order_by()))
    return {
        name: (by_status[name, "assigned"], by_status[name, "running"], failed[name], proddisk[name])
        for name in Site.objects.values_list("name", flat=True)
    }


def shown(now) -> dict:
    return {
        r["site"].name: (r["queued"], r["running"], r["failed_last_hour"], r["proddisk_used"]) for r in site_rows(now)
    }


def test_the_sites_page_equals_a_recount_at_every_tick(db, grid, prodmgr):
    group = demo_world(datasets=6)
    _request, tasks = request_tasks(group, count=6, formats=("DAOD_SUSY1", "DAOD_SUSY2"))
    rollups.on_tasks_created(tasks)
    seen = Counter()
    for n in range(20):
        tick()
        if n == 0:  # a bulk abort cancels the queued jobs of two tasks (the set-based path) as they were brokered
            op = operation_start(actor=prodmgr, action="abort", task_ids=[t.pk for t in tasks[:2]])
            operation_run(operation_id=op.pk)
        if n % 4 == 0:
            samples_write()  # the minute beat folds the ledger
        now = timezone.now()
        expected = site_recount(now)
        assert shown(now) == expected, f"tick {n}"
        for queued, running, failed, proddisk in expected.values():
            seen.update(queued=queued, running=running, failed=failed, proddisk=proddisk)
    assert all(seen[k] > 0 for k in ("queued", "running", "failed", "proddisk")), seen  # every figure was exercised


def test_the_rebuild_recounts_the_sites_ledger(db, grid):
    group = demo_world(datasets=3)
    _request, tasks = request_tasks(group, count=3)
    rollups.on_tasks_created(tasks)
    for _ in range(3):
        tick()
    maintained = shown(timezone.now())
    assert SiteJobs.objects.count() > Site.objects.filter(jobs__status__in=("assigned", "running")).distinct().count()
    SiteJobs.objects.filter(pk=SiteJobs.objects.order_by("pk").first().pk).update(jobs_running=99)  # a drift
    call_command("rebuild_rollups")
    assert shown(timezone.now()) == maintained
    assert SiteJobs.objects.count() <= Site.objects.count()  # one row per site with brokered jobs
