"""Fixtures for task actions: a recording executor and Celery run in-process."""

import pytest

from tasks.engine.executors import base
from tests.tasks.executor_double import RecordingExecutor


@pytest.fixture
def executor(monkeypatch, settings):
    """The executor interface backed by a recorder: `executor.killed` lists the job ids asked to be killed."""
    monkeypatch.setitem(base.BACKENDS, "recording", "tests.tasks.executor_double.RecordingExecutor")
    settings.DEFT_EXECUTOR = "recording"
    RecordingExecutor.killed = []
    return RecordingExecutor


@pytest.fixture
def eager_celery():
    """Queued Celery tasks run at once, in this process."""
    from deft.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = before


@pytest.fixture
def fast_grid(settings):
    """The simulated grid with every job ending at the next poll and no random failures."""
    settings.DEFT_SIM_TIME_FACTOR = 1e9
    settings.DEFT_SIM_FAILURE_RATE = 0.0
