"""On PostgreSQL with a real Celery worker running the engine's tick: a request of 20 datasets runs to done."""

import time

import pytest
from django.db.models import Sum

from catalog.models import File, Replica, ReplicationRule, StorageEndpoint, TokenType
from requests_app.models import PTag
from tasks.models import Job, JobOutput, ProductionTask
from tasks.states import TASK_FINAL
from tasks.workers import tick
from tests.tasks.world import demo_world, request_tasks

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def run_on_worker(timeout: float = 420) -> None:
    """Beat's stand-in: queue a tick every half second until every task ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tick.delay()
        time.sleep(0.5)
        if not ProductionTask.objects.exclude(status__in=TASK_FINAL).exists():
            return
    pytest.fail(f"tasks still running after {timeout} s: {list(ProductionTask.objects.values_list('status'))}")


def test_a_request_of_20_datasets_runs_to_done_on_a_real_worker(celery_worker_process):
    group = demo_world(datasets=24)
    request, tasks = request_tasks(group, count=20, events_per_job=5000)
    # One site fails every stage-in ...
    lfn = tasks[0].input_dataset.file_set.order_by("lfn").first().lfn
    bad_site = Replica.objects.filter(file__lfn=lfn).order_by("endpoint__name").first().endpoint.site
    StorageEndpoint.objects.filter(site=bad_site, token_type=TokenType.DATADISK).update(
        attributes={"sim_failure": "stage-in"}
    )
    # ... and another request uses a cache that crashes.
    ptag = PTag.objects.get(name="p1874")
    ptag.format_params["DAOD_SUSY2"]["sim_failure"] = "software"
    ptag.save()
    _other, (broken,) = request_tasks(group, count=1, formats=("DAOD_SUSY2",), ptag="p1874", events_per_job=5000)

    run_on_worker()

    done = ProductionTask.objects.filter(request=request)
    assert set(done.values_list("status", flat=True)) == {"done"}
    for task in done:
        merged = task.datasets.get(merged=True).dataset
        files = File.objects.filter(dataset=merged)
        assert task.events_done == merged.events == files.aggregate(e=Sum("events"))["e"] > 0
        rule = ReplicationRule.objects.get(dataset=merged)
        assert rule.state == "OK" and rule.endpoint.token_type == "GROUPDISK" and rule.endpoint.physgroup == "phys-susy"
        assert Replica.objects.filter(file__in=files, endpoint=rule.endpoint).count() == files.count()
    assert not JobOutput.objects.filter(merged=False, deleted=False, job__task__request=request).exists()
    unmerged = Replica.objects.filter(file__dataset__name__endswith=".um")
    assert not unmerged.filter(file__dataset__task_links__task__request=request).exists()
    stage_in = Job.objects.filter(site=bad_site, error_code=1099)
    assert stage_in.exists()
    assert all(job.next_attempt.site_id != bad_site.pk for job in stage_in)

    broken.refresh_from_db()
    inputs = broken.jobs.filter(attempt=1).count()
    # Either every input was tried twice and the task failed, or (issue 5) the task was paused first because its
    # failures are mostly software errors: which comes first depends on how the worker batches the failures.
    if broken.status == "paused":
        assert broken.software_alert_at is not None
        assert broken.jobs.filter(error_class="software").count() <= 2 * inputs
    else:
        assert broken.status == "failed" and "not retried" in broken.error_dialog
        assert broken.jobs.filter(error_class="software").count() == 2 * inputs  # tried twice, then a person decides
