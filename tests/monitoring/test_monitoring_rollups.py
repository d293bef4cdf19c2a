"""Dashboards show numbers equal to a recount from the raw task and job rows, and the rebuild agrees."""

from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum
from django.utils import timezone

from monitoring.models import ROLLUP_FIELDS, Dimension, Rollup
from monitoring.samples import samples_write
from monitoring.summary import summary
from tasks.engine.moves import jobs_move
from tasks.filtersets import TaskFilterSet
from tasks.models import Job, ProductionTask
from tests.monitoring.production import STAGE_IN, run, small_production

JOB_STATES = ("defined", "assigned", "running", "finished", "failed", "cancelled")


def recount(filters: dict) -> dict:
    """What a dashboard must show for `filters`, counted from raw rows: tasks by status, and jobs."""
    tasks = TaskFilterSet(filters, queryset=ProductionTask.objects.all()).qs
    jobs = Job.objects.filter(task__in=tasks)
    by_status = Counter(dict(jobs.values_list("status").annotate(n=Count("pk")).order_by()))
    events = lambda job_type: jobs.filter(status="finished", job_type=job_type).aggregate(n=Sum("nevents"))["n"] or 0  # noqa: E731
    failed = jobs.filter(status="failed").values_list("error_class").annotate(n=Count("pk")).order_by()
    return {
        "tasks": dict(tasks.values_list("status").annotate(n=Count("pk")).order_by()),
        "events_total": tasks.aggregate(n=Sum("events_total"))["n"] or 0,
        "events_processed": events("deriv"),
        "events_done": events("merge"),
        "jobs": {s: by_status[s] for s in JOB_STATES},
        "failed_by_class": {c or "unknown": n for c, n in failed},
    }


def shown(row) -> dict:
    d = row.as_dict()
    return {k: d[k] for k in ("tasks", "events_total", "events_processed", "events_done", "jobs", "failed_by_class")}


def snapshot() -> dict:
    return {(r.dimension, r.key): {f: getattr(r, f) for f in ROLLUP_FIELDS} for r in Rollup.objects.all()}


@pytest.fixture
def production(db, susy, top):
    return small_production(susy, top)


SCOPES = [
    {},
    {"group": "PHYS-SUSY"},
    {"group": "PHYS-TOP"},
    {"format": "DAOD_SUSY1"},
    {"format": "DAOD_TOPQ1"},
    {"ptag": "p1872"},
    {"project": "mc14_8TeV"},
    {"group": "PHYS-TOP", "format": "DAOD_SUSY1"},  # combined filters: summed from the task counters
]


@pytest.mark.parametrize("filters", SCOPES, ids=lambda f: "&".join(f"{k}={v}" for k, v in f.items()) or "all")
def test_the_overall_progress_equals_a_recount_from_raw_rows(production, filters):
    assert shown(summary(filters=filters)["scope"]) == recount(filters)


def test_every_breakdown_row_equals_a_recount(production):
    result = summary(filters={})
    assert set(result["breakdowns"]) == {"project", "request", "group", "format", "ptag"}
    for dimension, rows in result["breakdowns"].items():
        assert rows, dimension
        for row in rows:
            assert shown(row) == recount({dimension: row.key}), (dimension, row.key)


@pytest.mark.parametrize(
    "filters", [f for f in SCOPES if len(f) == 1], ids=lambda f: "&".join(f"{k}={v}" for k, v in f.items())
)
def test_every_breakdown_row_within_a_filter_equals_a_recount(production, filters, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):  # rollup rows only, whatever the number of tasks in the filter
        result = summary(filters=filters)
    assert set(result["breakdowns"]) == {"project", "request", "group", "format", "ptag"} - set(filters)
    for dimension, rows in result["breakdowns"].items():
        assert rows, dimension
        keys = {row.key for row in rows}
        assert keys == {str(k or "") for k in recount_keys(filters, dimension)}, dimension
        for row in rows:
            assert shown(row) == recount({**filters, dimension: row.key}), (dimension, row.key)
            assert row.query == {**filters, dimension: row.key}  # its numbers link to the task list of both


def recount_keys(filters, dimension) -> set:
    tasks = TaskFilterSet(filters, queryset=ProductionTask.objects.all()).qs
    if dimension == "format":
        return {f for formats in tasks.values_list("formats", flat=True) for f in formats}
    column = {"request": "request_id", "group": "group__name", "project": "project", "ptag": "ptag__name"}[dimension]
    return set(tasks.values_list(column, flat=True))


def test_per_request_numbers_equal_a_recount(production):
    request_id = production.tasks[0].request_id
    assert shown(summary(filters={"request": str(request_id)})["scope"]) == recount({"request": request_id})


def test_a_task_with_several_formats_counts_in_each(production):
    train = production.tasks[0]
    assert train.formats == ["DAOD_SUSY1", "DAOD_SUSY2"]
    for f in train.formats:
        assert Rollup.objects.get(dimension="format", key=f).tasks_done == 1


def test_rebuild_rollups_equals_the_maintained_rollups(production):
    maintained = snapshot()
    call_command("rebuild_rollups")
    assert snapshot() == maintained


def test_rebuild_repairs_counters_and_rollups_that_drifted(production):
    maintained = snapshot()
    task = production.tasks[2]
    ProductionTask.objects.filter(pk=task.pk).update(jobs_running=99, events_done=12345)
    Rollup.objects.filter(dimension="group").update(jobs_failed=0, tasks_done=7)
    Rollup.objects.filter(dimension="ptag").delete()
    call_command("rebuild_rollups")
    assert snapshot() == maintained
    task.refresh_from_db()
    assert task.jobs_running == Job.objects.filter(task=task, status="running").count()


def test_failures_and_throughput_of_the_last_hour_come_from_samples(production):
    now = timezone.now()
    samples_write(now=now - timedelta(minutes=61))
    running = production.tasks[2]
    still_running = list(running.jobs.filter(status="running").values_list("pk", flat=True))
    jobs_move(job_ids=still_running, move="fail", per_job={pk: STAGE_IN for pk in still_running})
    scope = summary(filters={}, now=now)["scope"]
    assert scope.failed_last_hour == len(still_running)
    assert scope.throughput == 0  # no merge finished in the last hour
    assert scope.eta is None
    group = summary(filters={"group": "PHYS-TOP"}, now=now)["scope"]
    assert group.failed_last_hour == len(still_running)


def test_throughput_gives_an_eta(production, susy):
    now = timezone.now()
    samples_write(now=now - timedelta(minutes=30))
    # A new deriv+merge of 2,000 events in the last half hour: 4,000 events/hour.
    from tests.monitoring.production import merge, register

    task = production.tasks[0].request
    new = register(task, formats=["DAOD_SUSY1"], n_jobs=2)
    run(list(new.jobs.values_list("pk", flat=True)), production.site)
    merge(new, production.site)
    scope = summary(filters={}, now=now)["scope"]
    assert scope.throughput == pytest.approx(4000)
    remaining = scope.counters["events_total"] - scope.counters["events_merged"]
    assert scope.eta == now + timedelta(hours=remaining / 4000)


def test_samples_are_written_only_for_rows_that_changed(production):
    first = samples_write()
    assert first == Rollup.objects.filter(dimension__in=Dimension.values).count()  # not the rows within a scope
    assert samples_write() == 0
    run(list(production.tasks[4].jobs.values_list("pk", flat=True))[:1], production.site)
    changed = samples_write()
    assert 0 < changed < first
