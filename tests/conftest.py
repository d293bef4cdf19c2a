"""Shared fixtures: people in every role, logged-in clients, and (on PostgreSQL + Redis) a real Celery worker."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from deft.models import Role
from tests.factories import MembershipFactory, PhysicsGroupFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
if not settings.RUNNING_TESTS:
    pytest.exit("the tests run on deft.settings_test (pyproject.toml): unset DJANGO_SETTINGS_MODULE", returncode=4)
ON_POSTGRES = settings.DATABASE_IS_POSTGRES
ON_REDIS = settings.CELERY_BROKER_URL.startswith("redis")
# This session's queue (deft/settings_test.py); every queue a test makes starts with it, and all go at the end.
SESSION_QUEUE = settings.CELERY_TASK_DEFAULT_QUEUE
FRESH_CLONE = os.environ.get("DEFT_FRESH_CLONE") == "1"

ROLES = ("anonymous", "member", "shifter", "other_group_manager", "group_manager", "production_manager")


def pytest_collection_modifyitems(config, items):
    """Tests that need PostgreSQL or a real worker say so, and are skipped, with the reason, elsewhere."""
    for item in items:
        if item.get_closest_marker("postgres") and not ON_POSTGRES:
            item.add_marker(pytest.mark.skip(reason="needs DATABASE_URL pointing at PostgreSQL (the CI's 2nd run)"))
        if item.get_closest_marker("worker") and not (ON_POSTGRES and ON_REDIS):
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL and a Redis broker for a real worker"))
        if item.get_closest_marker("fresh_clone") and not FRESH_CLONE:
            item.add_marker(pytest.mark.skip(reason="slow: runs with DEFT_FRESH_CLONE=1 (the CI's 1st run)"))


def pytest_sessionfinish(session):
    """On Redis, this session's queues go with it (the filesystem broker's folder goes with the test directory)."""
    if ON_REDIS:
        import redis

        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        keys = list(client.scan_iter(match=f"*{SESSION_QUEUE}*"))  # the queues and kombu's bindings of them
        if keys:
            client.delete(*keys)


def queue_name(purpose: str) -> str:
    """A queue name of this session's own, for a worker a test starts."""
    return f"{SESSION_QUEUE}-{purpose}-{uuid.uuid4().hex[:6]}"


def worker_log(queue: str):
    """The log file of a worker process, in the session's test directory (removed at the end)."""
    return open(settings.TEST_DIR / f"{queue}.log", "a")  # noqa: SIM115 - the worker writes it until it ends


@pytest.fixture
def susy(db):
    return PhysicsGroupFactory(name="PHYS-SUSY", code="SUSY")


@pytest.fixture
def top(db):
    return PhysicsGroupFactory(name="PHYS-TOP", code="TOP")


def make_user(role: str, *, group=None, other_group=None):
    """A user holding `role` (one of ROLES); group roles are on `group` (or `other_group`)."""
    if role == "anonymous":
        return None
    user = UserFactory(username=role.replace("_", "-"))
    if role == "production_manager":
        MembershipFactory(user=user, group=None, role=Role.PRODUCTION_MANAGER)
    elif role == "shifter":
        MembershipFactory(user=user, group=None, role=Role.SHIFTER)
    elif role == "member":
        MembershipFactory(user=user, group=group, role=Role.MEMBER)
    elif role == "group_manager":
        MembershipFactory(user=user, group=group, role=Role.GROUP_MANAGER)
    elif role == "other_group_manager":
        MembershipFactory(user=user, group=other_group, role=Role.GROUP_MANAGER)
    return user


@pytest.fixture
def user_as(db, susy, top):
    """user_as("group_manager") -> a user of that role; group roles are on PHYS-SUSY, the other on PHYS-TOP."""
    return lambda role: make_user(role, group=susy, other_group=top)


@pytest.fixture
def prodmgr(user_as):
    return user_as("production_manager")


@pytest.fixture
def susy_manager(user_as):
    return user_as("group_manager")


@pytest.fixture
def shifter(user_as):
    return user_as("shifter")


@pytest.fixture
def client_as(client, user_as):
    """A Django test client logged in as a user of `role` (anonymous: not logged in)."""

    def login(role):
        user = user_as(role)
        if user is not None:
            client.force_login(user)
        return client

    return login


@pytest.fixture
def api_as(user_as):
    """A DRF API client authenticated as a user of `role`."""

    def make(role):
        api = APIClient()
        user = user_as(role)
        if user is not None:
            api.force_authenticate(user)
        return api

    return make


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real `celery worker` process on the test database and the Redis broker, for the whole session."""
    if not (ON_POSTGRES and ON_REDIS):
        pytest.skip("needs PostgreSQL and a Redis broker")
    db = settings.DATABASES["default"]
    queue = queue_name("worker")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "deft-test-worker-secret-" + uuid.uuid4().hex,
    }
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    log = worker_log(queue)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "deft",
            "worker",
            "-Q",
            queue,
            "-c",
            "2",
            "-l",
            "info",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    from deft.celery import app

    app.conf.task_default_queue = queue
    wait_for_worker(app, proc, log=log.name)
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def wait_for_worker(app, proc, timeout=60, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the Celery worker exited at start{log_tail(log)}")
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError(f"the Celery worker did not answer a ping in time{log_tail(log)}")


def log_tail(log, lines=30) -> str:
    """The end of a worker's log, for the failure message: the log itself goes with the test directory."""
    if not log:
        return ""
    return ":\n" + "\n".join(Path(log).read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(autouse=True)
def _fresh_error_tables():
    """Each test classifies with its own database's error codes and rules, not a previous test's cache."""
    from tasks.errors.classification import forget_tables

    forget_tables()
    yield
    forget_tables()


DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_reset_sequences", "django_db_serialized_rollback"}


@pytest.fixture(autouse=True)
def _error_registry_present(request):
    """Migrations seed the error codes and rules, but a transactional test's flush empties every table: put the
    registry back (committed, before the test's own transaction) for every test that uses the database."""
    if not (request.node.get_closest_marker("django_db") or DB_FIXTURES & set(request.fixturenames)):
        return
    from tasks.errors.registry import default_rules, seed_rows
    from tasks.models import ErrorCode, ErrorRule

    request.getfixturevalue("django_db_setup")
    with request.getfixturevalue("django_db_blocker").unblock():
        if not ErrorCode.objects.exists():
            ErrorCode.objects.bulk_create([ErrorCode(**row) for row in seed_rows()])
        if not ErrorRule.objects.exists():
            ErrorRule.objects.bulk_create([ErrorRule(**rule) for rule in default_rules()])
