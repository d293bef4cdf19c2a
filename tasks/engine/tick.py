"""The engine's clock: one `tick` runs every step of the task lifecycle once, in an order where each step
sees what the previous one did. Celery beat calls it every 2 s (`tasks.workers.tick`); tests call it directly.

Ticks never overlap: a PostgreSQL advisory lock (across machines), or a file lock beside the SQLite database
(which lives on one machine anyway). A tick that finds the lock taken does nothing and says so.
"""

import contextlib
import fcntl
import logging
import time

from django.conf import settings
from django.db import connection

from tasks.engine.brokerage import jobs_broker
from tasks.engine.definition import tasks_define
from tasks.engine.executors import get_executor
from tasks.engine.job_updates import job_updates_apply
from tasks.engine.lifecycle import tasks_end, tasks_retry_inputs
from tasks.engine.merge_moves import merges_plan, unmerged_cleanup
from tasks.engine.replication import replication_advance

log = logging.getLogger(__name__)
TICK_LOCK_KEY = 4_004_004  # pg advisory lock id of the tick


def executor_poll() -> dict:
    updates = get_executor().poll()
    return dict(job_updates_apply(updates=updates)) if updates else {}


STEPS = (
    ("define", tasks_define),
    ("retry", tasks_retry_inputs),
    ("poll", executor_poll),
    ("merge", merges_plan),
    ("broker", jobs_broker),
    ("cleanup", unmerged_cleanup),
    ("replicate", replication_advance),
    ("end", tasks_end),
)


def tick() -> dict:
    """Run every step once; returns what each did (or that another tick holds the lock)."""
    with tick_lock() as acquired:
        if not acquired:
            return {"skipped": "another tick is running"}
        report = {}
        for name, step in STEPS:
            started = time.monotonic()
            report[name] = step()
            log.debug("tick step %s took %.3f s: %s", name, time.monotonic() - started, report[name])
        return report


@contextlib.contextmanager
def tick_lock():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [TICK_LOCK_KEY])
            acquired = cursor.fetchone()[0]
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [TICK_LOCK_KEY])
        return
    with open(settings.VAR_DIR / "tick.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
