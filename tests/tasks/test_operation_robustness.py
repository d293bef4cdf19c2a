"""On PostgreSQL: a bulk action survives a killed worker, and an abort racing with the executor stays exact."""

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.db.models import Count

from deft.models import AuditEvent
from tasks.engine.moves import jobs_move
from tasks.models import Job, Operation, ProductionTask
from tasks.operations.task_actions import operation_run, operation_start, tasks_abort_settle
from tests.conftest import ROOT, queue_name, wait_for_worker, worker_log
from tests.factories import ProductionRequestFactory, add_jobs, make_tasks

JOB_COUNTERS = ("defined", "assigned", "running", "finished", "failed", "cancelled")


def assert_counters_equal_a_recount(task_ids):
    real = {}
    for task_id, status, n in (
        Job.objects.filter(task_id__in=task_ids).values_list("task_id", "status").annotate(n=Count("id")).order_by()
    ):
        real[task_id, status] = n
    for task in ProductionTask.objects.filter(pk__in=task_ids):
        for s in JOB_COUNTERS:
            assert getattr(task, f"jobs_{s}") == real.get((task.pk, s), 0), (task.pk, s)


def start_worker(queue: str, **env_extra) -> subprocess.Popen:
    """A `celery worker` of our own (solo pool: one process, so SIGKILL kills the task it runs)."""
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DEBUG": "0",
        "SECRET_KEY": "deft-test-worker-secret-" + uuid.uuid4().hex,
        **env_extra,
    }
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    log = worker_log(queue)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "deft",
            "worker",
            "-Q",
            queue,
            "-P",
            "solo",
            "-l",
            "info",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"{uuid.uuid4().hex[:6]}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def own_queue():
    from deft.celery import app

    queue, before = queue_name("ops"), app.conf.task_default_queue
    app.conf.task_default_queue = queue
    workers = []
    yield queue, workers
    app.conf.task_default_queue = before
    for proc in workers:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_operation_is_finished_on_redelivery_with_nothing_done_twice(prodmgr, own_queue):
    from deft.celery import app

    queue, workers = own_queue
    request = ProductionRequestFactory()
    tasks = make_tasks(1500, request=request, status="running") + make_tasks(100, request=request, status="done")
    add_jobs(tasks, defined=2, assigned=1, finished=1)
    slow = {"DEFT_OPERATION_BATCH_SIZE": "50", "DEFT_OPERATION_PAUSE": "0.1", "CELERY_VISIBILITY_TIMEOUT": "2"}

    workers.append(start_worker(queue, **slow))
    wait_for_worker(app, workers[0])
    op = operation_start(actor=prodmgr, action="abort", filters={"request": request.pk}, comment="bad cache")
    wait_until(lambda: Operation.objects.get(pk=op.pk).cursor > 0, 60, "the first batches")
    os.killpg(workers[0].pid, signal.SIGKILL)  # in the middle: batches done, more to go
    workers[0].wait(timeout=10)
    killed_at = Operation.objects.get(pk=op.pk)
    assert killed_at.status == "running" and 0 < killed_at.done < 1500

    workers.append(start_worker(queue, **slow))  # it takes the unacknowledged message back after the timeout
    wait_until(lambda: Operation.objects.get(pk=op.pk).status == "done", 120, "the redelivered operation")

    op.refresh_from_db()
    ids = [t.pk for t in tasks]
    aborted = ProductionTask.objects.filter(pk__in=ids, status="aborted").count()
    assert (op.total, op.done, op.skipped, op.failed) == (1600, 1500, 100, 0)
    assert aborted == 1500 and op.cursor == max(ids)
    audit = AuditEvent.objects.filter(operation_id=op.pk)
    assert audit.count() == 1500 == audit.values("object_id").distinct().count()
    assert_counters_equal_a_recount(ids)


def move_jobs_randomly(job_ids, stop, errors):
    """What the executor does meanwhile: assign, start and finish the same jobs, in small random bunches."""
    rng = random.Random(6)
    try:
        while not stop.is_set():
            bunch = rng.sample(job_ids, 20)
            try:
                for move in ("assign", "start", "finish"):
                    jobs_move(job_ids=bunch, move=move)
            except OperationalError as exc:  # a deadlock would land here
                errors.append(exc)
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_abort_racing_with_job_updates_leaves_no_active_job_under_an_aborted_task(
    prodmgr, executor, settings, own_queue
):
    # own_queue: the operation is queued where no worker listens, so only this process runs it; the session's
    # real worker (left by earlier tests) would run some batches too and kill through its own executor.
    settings.DEFT_OPERATION_BATCH_SIZE = 25
    tasks = make_tasks(300, status="running")
    add_jobs(tasks, defined=2, assigned=3, running=3, finished=2)
    ids = [t.pk for t in tasks]
    job_ids = list(Job.objects.filter(task_id__in=ids).values_list("pk", flat=True))
    stop, errors = threading.Event(), []
    racer = threading.Thread(target=move_jobs_randomly, args=(job_ids, stop, errors))
    racer.start()
    try:
        op = operation_start(actor=prodmgr, action="abort", task_ids=ids)
        op = operation_run(operation_id=op.pk)
    finally:
        stop.set()
        racer.join()
    assert (op.status, op.done, errors) == ("done", 300, [])
    assert Job.objects.filter(task_id__in=ids, status="finished").count() > 600  # the executor did move jobs
    assert_counters_equal_a_recount(ids)
    active = Job.objects.filter(status__in=["defined", "assigned", "running"])
    assert not active.filter(task__status="aborted").exists()
    assert not active.filter(task_id__in=ids, status__in=["defined", "assigned"]).exists()
    # Every job still running under a task being aborted was handed to the executor to kill, by the operation
    # itself: a job started while its batch ran was locked by the cancel and is read as running after it.
    still_running = set(active.filter(task_id__in=ids).values_list("pk", flat=True))
    assert still_running <= set(executor.killed)
    # When the executor reports them cancelled, the engine's settle ends every task.
    jobs_move(job_ids=list(still_running), move="cancel")
    tasks_abort_settle(task_ids=ids)
    assert set(ProductionTask.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"aborted"}
    assert_counters_equal_a_recount(ids)


def wait_for_a_lock_waiter(cursor, timeout=30):
    """Until another backend of this database waits for a row lock (the abort, on the task this test holds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # pg_stat_activity is read once per transaction otherwise
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND wait_event_type = 'Lock'"
        )
        if cursor.fetchone()[0]:
            return True
        time.sleep(0.02)
    return False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_retry_created_while_the_abort_runs_is_cancelled_by_the_abort_itself(prodmgr, executor, own_queue):
    """A failing job's transaction makes its retry after the abort's cancel took its snapshot, and commits while
    the abort waits for the task: the abort sees the retry once it holds the task, and cancels it."""
    from django.db import transaction

    from tasks.engine.executors import JobUpdate
    from tasks.engine.job_updates import job_updates_apply

    tasks = make_tasks(3, status="running")
    add_jobs(tasks, defined=2, running=2)
    ids = [t.pk for t in tasks]
    failing = Job.objects.filter(task_id=ids[1], status="running").order_by("pk").first()
    made, waited, problems = threading.Event(), [], []

    def fail_and_retry():
        try:
            with transaction.atomic():
                report = job_updates_apply(updates=[JobUpdate(failing.pk, "failed", "pilot", 1099, "stage-in failed")])
                assert report["retried"] == 1, report
                made.set()
                with connection.cursor() as cursor:  # hold the task until the abort waits for it, then commit
                    waited.append(wait_for_a_lock_waiter(cursor))
        except Exception as exc:  # reported by the main thread
            problems.append(exc)
            made.set()
        finally:
            connection.close()

    creator = threading.Thread(target=fail_and_retry)
    creator.start()
    assert made.wait(30)
    op = operation_start(actor=prodmgr, action="abort", task_ids=ids, comment="bad cache")
    op = operation_run(operation_id=op.pk)
    creator.join(30)
    assert (problems, waited) == ([], [True])

    retry = Job.objects.get(previous=failing)
    assert (op.status, op.done) == ("done", 3)
    assert retry.status == "cancelled"
    active = Job.objects.filter(task_id__in=ids, status__in=["defined", "assigned", "running"])
    assert not active.exclude(status="running").exists()
    assert set(active.values_list("pk", flat=True)) <= set(executor.killed)
    assert set(ProductionTask.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"toabort"}
    assert_counters_equal_a_recount(ids)
