"""On PostgreSQL + Redis: a real Celery worker process executes queued work."""

import time

import pytest

from deft.models import AuditEvent
from deft.workers import heartbeat

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_executes_a_queued_task(celery_worker_process):
    heartbeat.delay("hello from the test")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if AuditEvent.objects.filter(verb="heartbeat", comment="hello from the test").exists():
            return
        time.sleep(0.2)
    pytest.fail("the worker did not write its audit row within 30 s")
