"""No operation is stranded: one whose message was lost is queued again and ends; a message for an operation
that does not exist is dropped with one line, not a traceback."""

import logging
from datetime import timedelta

from django.utils import timezone

from tasks.models import Operation
from tasks.operations.runner import operations_requeue
from tasks.operations.task_actions import operation_start
from tasks.workers import run_operation
from tests.factories import make_tasks


def lost_message(op: Operation, *, minutes: int) -> None:
    """What a broker restart or a dropped on_commit callback leaves: a queued operation nobody runs."""
    Operation.objects.filter(pk=op.pk).update(progressed_at=timezone.now() - timedelta(minutes=minutes))


def test_an_operation_whose_message_was_lost_is_queued_again_and_finishes(prodmgr, eager_celery):
    tasks = make_tasks(3, status="running")
    op = operation_start(
        actor=prodmgr, action="change_priority", task_ids=[t.pk for t in tasks], params={"priority": 700}
    )
    lost_message(op, minutes=30)  # the test transaction never commits: its on_commit queueing never ran

    assert operations_requeue(stale_after=timedelta(minutes=10)) == [op.pk]

    op.refresh_from_db()
    assert (op.status, op.done) == ("done", 3)
    assert {t.priority for t in type(tasks[0]).objects.filter(pk__in=[t.pk for t in tasks])} == {700}


def test_an_operation_that_is_progressing_is_left_alone(prodmgr, eager_celery):
    tasks = make_tasks(2, status="running")
    op = operation_start(
        actor=prodmgr, action="change_priority", task_ids=[t.pk for t in tasks], params={"priority": 700}
    )
    lost_message(op, minutes=2)

    assert operations_requeue(stale_after=timedelta(minutes=10)) == []
    op.refresh_from_db()
    assert op.status == "queued"


def test_two_beats_queue_a_stranded_operation_once(prodmgr):
    tasks = make_tasks(2, status="running")
    op = operation_start(
        actor=prodmgr, action="change_priority", task_ids=[t.pk for t in tasks], params={"priority": 700}
    )
    lost_message(op, minutes=30)
    first = operations_requeue(stale_after=timedelta(minutes=10))
    second = operations_requeue(stale_after=timedelta(minutes=10))
    assert (first, second) == ([op.pk], [])


def test_a_message_for_an_operation_that_does_not_exist_is_dropped_with_one_line(db, caplog):
    with caplog.at_level(logging.WARNING):
        result = run_operation.apply(args=[987654321]).get()
    assert result == {"id": 987654321, "status": "missing"}
    lines = [r for r in caplog.records if "987654321" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert "does not exist" in lines[0].getMessage()
