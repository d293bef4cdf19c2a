"""The retry policy end to end on the simulated grid (run on PostgreSQL in CI's second run, and on SQLite):
site errors are retried elsewhere for free, software errors once, out-of-memory with more memory; a task
failing mostly on software errors is paused and its group told once."""

from django.db.models import Max

from deft.models import AuditEvent
from tasks.engine.executors import simulated
from tasks.models import Job, ProductionTask
from tests.tasks.world import demo_world, request_tasks, run_until_ended, software_failing_tasks


def test_a_software_error_is_retried_once_elsewhere_then_the_input_gives_up(db, fast_grid, settings):
    settings.DEFT_SOFTWARE_PAUSE_MIN = 1000  # this test is about the inputs, not the task's pause
    tasks = software_failing_tasks(2)
    run_until_ended()
    for task in ProductionTask.objects.filter(pk__in=[t.pk for t in tasks]):
        assert task.status == "failed" and "not retried again" in task.error_dialog
        assert task.jobs.aggregate(a=Max("attempt"))["a"] == 2
        for first in task.jobs.filter(attempt=1).select_related("next_attempt"):
            retry = first.next_attempt
            assert retry.site_id != first.site_id and retry.software_failures == 1
            assert not Job.objects.filter(previous=retry).exists()


def test_a_task_failing_mostly_on_software_is_paused_with_one_mail(
    db, fast_grid, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.DEFT_SOFTWARE_PAUSE_MIN = 3
    [task] = software_failing_tasks(1, events_per_job=2000)
    with django_capture_on_commit_callbacks(execute=True):
        run_until_ended()
        run_until_ended(max_ticks=5)  # more ticks: nothing more to tell
    task.refresh_from_db()
    assert task.jobs.filter(status="failed").count() >= 3
    assert task.status == "paused" and task.software_alert_at is not None
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [task.group.egroup]
    assert "TRF_PAYLOAD_SEGFAULT" in mailoutbox[0].body
    assert AuditEvent.objects.filter(verb="pause_software_failures", object_id=task.pk).count() == 1
    assert not task.jobs.filter(status__in=("assigned", "running")).exists()  # a paused task runs nothing new


def test_out_of_memory_is_retried_with_more_memory(db, fast_grid, settings, monkeypatch):
    settings.DEFT_SIM_FAILURE_RATE = 0.5
    oom = ("pilot", 1212, 1, "Payload ran out of memory: FATAL out of memory: taking the application down")
    monkeypatch.setattr(simulated, "FAILURE_MIX", (oom,))  # the grid's random failures are all out-of-memory
    group = demo_world(datasets=4)
    request_tasks(group, count=4)
    run_until_ended()
    failed = list(Job.objects.filter(status="failed", job_type="deriv").select_related("next_attempt"))
    assert failed and {(j.error_code, j.error_class) for j in failed} == {(1212, "resource")}
    for job in failed:
        if job.memory_mb >= 8000:  # the cap: the input gives up, and the task says why
            assert not Job.objects.filter(previous=job).exists() and "cap of 8000 MB" in job.task.error_dialog
            continue
        assert job.next_attempt.memory_mb == job.memory_mb + 1000
        assert job.next_attempt.failures == job.failures  # more memory, not a fault of the input
