"""The retry policy acts on the error class: site elsewhere and free, service later, resource with more,
software once, user never; a task whose failures are mostly software errors is paused and its group told once."""

import pytest
from django.test import override_settings

from deft.models import AuditEvent
from tasks.engine.software_pause import tasks_check_software_failures
from tasks.errors import classification as errors
from tasks.errors.classification import classify_failure, decide_retry
from tasks.models import Job, ProductionTask
from tests.factories import JobFactory, ProductionTaskFactory, SiteFactory

LIMITS = {"max_attempts": 30, "max_failures": 5}
SITE_ERROR = ("trf", 65, "PoolSvc ERROR Could not open input file root://eos//AOD.pool.root.1")
SERVICE_ERROR = ("executor", 7, "internal error")
OOM_ERROR = ("trf", 65, "std::bad_alloc in event loop")
TIME_ERROR = ("trf", 65, "SIGXCPU: CPU time limit exceeded")
SOFTWARE_ERROR = ("trf", 65, "Segmentation fault in libDerivationFramework.so")
USER_ERROR = ("executor", 5, "unknown p-tag")


def decide(job, error, **limits):
    source, code, diag = error
    classification = classify_failure(source=source, code=code, diagnostic=diag)
    return decide_retry(job=job, classification=classification, **{**LIMITS, **limits})


@pytest.fixture
def job(db):
    return JobFactory(site=SiteFactory(name="CERN-PROD"), attempt=1, failures=0, memory_mb=2000)


def test_a_site_error_is_retried_elsewhere_without_using_the_failure_budget(job):
    job.failures = 4  # one more counted failure would end the input
    decision = decide(job, SITE_ERROR)
    assert decision.retry and decision.avoid_site_id == job.site_id
    assert not decision.count_failure and decision.failures == 4


def test_a_service_error_is_retried_later_with_growing_back_off(job):
    delays = []
    for attempt in (1, 2, 3, 20):
        job.attempt = attempt
        decision = decide(job, SERVICE_ERROR)
        assert decision.retry and not decision.count_failure and decision.avoid_site_id is None
        delays.append(decision.delay_seconds)
    assert delays == [300, 600, 1200, errors.BACKOFF_CAP_S]


def test_out_of_memory_is_retried_with_more_memory_up_to_the_cap(job):
    decision = decide(job, OOM_ERROR)
    assert decision.retry and decision.memory_mb == 3000 and decision.retry_fields(job)["memory_mb"] == 3000
    job.memory_mb = errors.MEMORY_CAP_MB
    at_cap = decide(job, OOM_ERROR)
    assert not at_cap.retry and "cap" in at_cap.reason


def test_a_time_limit_is_retried_with_more_wall_time_up_to_the_cap(job):
    decision = decide(job, TIME_ERROR)
    assert decision.retry and decision.walltime_s == int(job.walltime_s * 1.5)
    job.walltime_s = errors.WALLTIME_CAP_S
    assert not decide(job, TIME_ERROR).retry


def test_a_software_error_is_retried_once_elsewhere_then_the_input_gives_up(job):
    first = decide(job, SOFTWARE_ERROR)
    assert first.retry and first.avoid_site_id == job.site_id and first.count_failure
    retry = JobFactory(task=job.task, attempt=2, site=SiteFactory(), **first.retry_fields(job))
    second = decide(retry, SOFTWARE_ERROR)
    assert not second.retry and "software" in second.reason
    assert (second.failures, second.software_failures) == (2, 2)


def test_a_site_error_between_two_software_errors_does_not_reset_the_count(job):
    first = decide(job, SOFTWARE_ERROR)
    middle = JobFactory(task=job.task, attempt=2, site=SiteFactory(), **first.retry_fields(job))
    site = decide(middle, SITE_ERROR)
    assert site.retry
    last = JobFactory(task=job.task, attempt=3, site=SiteFactory(), **site.retry_fields(middle))
    assert not decide(last, SOFTWARE_ERROR).retry


def test_a_user_error_is_not_retried(job):
    decision = decide(job, USER_ERROR)
    assert not decision.retry and "user" in decision.reason


def test_no_retry_once_the_attempts_are_used(job):
    job.attempt = 30
    assert not decide(job, SITE_ERROR).retry


# --- pausing tasks whose failures are mostly software ------------------------------------------------------


def failed_jobs(task, klass, n, site=None):
    return [
        JobFactory(task=task, status="failed", error_class=klass, error_source="trf", error_code=2004, site=site)
        for _ in range(n)
    ]


@pytest.fixture
def running_task(susy):
    return ProductionTaskFactory(status="running", request__group=susy)


def test_a_task_with_mostly_software_failures_is_paused_and_its_group_told_once(
    running_task, mailoutbox, django_capture_on_commit_callbacks
):
    failed_jobs(running_task, "software", 10, site=SiteFactory(name="BNL"))
    failed_jobs(running_task, "site", 9)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks_check_software_failures(task_ids=[running_task.pk]) == [running_task.pk]
    running_task.refresh_from_db()
    assert running_task.status == "paused" and running_task.software_alert_at is not None
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [running_task.group.egroup] and f"task {running_task.pk} paused" in mail.subject
    assert "trf:2004" in mail.body and "BNL (10)" in mail.body
    assert AuditEvent.objects.filter(verb="pause_software_failures", object_id=running_task.pk).count() == 1

    # resumed by a person and still failing: not paused again, not told again
    ProductionTask.objects.filter(pk=running_task.pk).update(status="running")
    failed_jobs(running_task, "software", 5)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks_check_software_failures(task_ids=[running_task.pk]) == []
    assert len(mailoutbox) == 1


@pytest.mark.parametrize(
    "software, other, paused",
    [(9, 0, False), (10, 10, False), (10, 9, True), (30, 0, True)],
)
def test_the_pause_needs_enough_software_failures_and_more_than_half(
    running_task, mailoutbox, django_capture_on_commit_callbacks, software, other, paused
):
    failed_jobs(running_task, "software", software)
    failed_jobs(running_task, "site", other)
    with django_capture_on_commit_callbacks(execute=True):
        tasks_check_software_failures(task_ids=[running_task.pk])
    running_task.refresh_from_db()
    assert (running_task.status == "paused") == paused
    assert len(mailoutbox) == int(paused)


@override_settings(DEFT_SOFTWARE_PAUSE_MIN=3, DEFT_SOFTWARE_PAUSE_FRACTION=0.8)
def test_the_thresholds_come_from_settings(running_task, django_capture_on_commit_callbacks):
    failed_jobs(running_task, "software", 4)
    failed_jobs(running_task, "site", 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks_check_software_failures(task_ids=[running_task.pk]) == []  # 80% is not more than 80%
    failed_jobs(running_task, "software", 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks_check_software_failures(task_ids=[running_task.pk]) == [running_task.pk]


def test_a_finished_task_is_not_paused_nor_told(susy, mailoutbox, django_capture_on_commit_callbacks):
    task = ProductionTaskFactory(status="done", request__group=susy)
    failed_jobs(task, "software", 12)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks_check_software_failures(task_ids=[task.pk]) == []
    assert mailoutbox == [] and Job.objects.filter(task=task).count() == 12
