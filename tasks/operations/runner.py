"""The one runner of every bulk Operation: batches by primary key, one transaction each, resumable.

An operation kind (`OperationKind`, registered by action name) says how to find the next batch after the cursor
and how to apply it. The runner does the rest for all of them: it starts the operation, walks the batches (each
one commits with the operation's counters and cursor, so a killed worker's redelivery resumes after the last
committed batch and changes nothing twice), keeps the last messages, and finishes or fails the operation.
Services create operations with `operation_create`; one Celery task (`tasks.run_operation`) runs any of them.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from tasks.models import Operation
from tasks.states import OPERATION_FINAL, OPERATION_MOVES, OperationStatus

log = logging.getLogger(__name__)

MESSAGES_KEPT = 100  # the last hundred are enough for people
RUN_OPERATION = "tasks.run_operation"


@dataclass
class BatchResult:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    messages: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # added to the operation's params (e.g. tasks made)
    after_commit: list[Callable[[], None]] = field(default_factory=list)


@dataclass(frozen=True)
class OperationKind:
    next_batch: Callable[[Operation, int, int], list[int]]  # (op, cursor, size) -> the next ids after the cursor
    apply: Callable[[list[int], Operation], BatchResult]
    check: Callable[[Operation], str] | None = None  # before each batch, locked: a reason to stop, or ""
    finish: Callable[[Operation], None] | None = None  # in the transaction that finishes the operation
    batch_size: Callable[[], int] = lambda: settings.DEFT_OPERATION_BATCH_SIZE


KINDS: dict[str, OperationKind] = {}


def operation_kind_register(action: str, kind: OperationKind) -> None:
    KINDS[action] = kind


def operation_create(*, action: str, actor, total: int, request_id=None, selection=None, params=None, comment=""):
    """A queued operation, sent to a worker once the caller's transaction commits."""
    if action not in KINDS:
        raise ValueError(f"no operation kind {action!r}")
    op = Operation.objects.create(
        action=action, actor=actor, request_id=request_id, selection=selection or {}, params=params or {},
        comment=comment, total=total,
    )  # fmt: skip
    transaction.on_commit(lambda: operation_queue(op.pk))
    return op


def operation_queue(op_id: int) -> None:
    # Looked up by name: the Celery task's module (tasks.workers) imports this one, not the other way round. In a
    # web process the workers modules are imported here, as a worker does at start (Celery's autodiscovery).
    if RUN_OPERATION not in current_app.tasks:
        current_app.loader.import_default_modules()
    current_app.tasks[RUN_OPERATION].delay(op_id)


def operations_requeue(*, stale_after: timedelta) -> list[int]:
    """Queue again the operations that are queued or running but have not moved for `stale_after`: whatever
    lost their message (a broker restart, a callback that never ran, a worker killed with its prefetch), they
    resume at their cursor. Each is claimed by a compare-and-set, so two beats never queue one twice."""
    now = timezone.now()
    stale = Operation.objects.filter(
        status__in=OPERATION_MOVES["start"].sources, progressed_at__lt=now - stale_after
    ).values_list("pk", "progressed_at")
    claimed = [
        pk for pk, seen in stale[:1000] if Operation.objects.filter(pk=pk, progressed_at=seen).update(progressed_at=now)
    ]
    for pk in claimed:
        log.warning("operation %s made no progress for %s: queued again", pk, stale_after)
        operation_queue(pk)
    return claimed


def operation_run(*, operation_id: int, batch_size: int | None = None) -> Operation | None:
    """Apply an operation batch by batch; safe to run again (redelivery) and to run twice at once. A message
    for an operation that does not exist (a deleted one, another database's) is dropped with one log line."""
    op = Operation.objects.filter(pk=operation_id).first()
    if op is None:
        log.warning("operation %s does not exist: message dropped", operation_id)
        return None
    kind = KINDS[op.action]
    if op.status in OPERATION_FINAL or not operation_begin(op):
        return op
    pause = settings.DEFT_OPERATION_PAUSE
    try:
        while batch_once(op, kind, batch_size=batch_size):
            if pause:
                time.sleep(pause)  # leave the database to others between batches
    except OperationStopped as stop:
        operation_stop(op, str(stop))
        op.refresh_from_db()
        return op
    except Exception as exc:  # recorded on the operation for people; the worker carries on with other work
        log.exception("operation %s failed", op.pk)
        operation_fail(op, f"{type(exc).__name__}: {exc}")
        return op
    operation_finish(op, kind)
    op.refresh_from_db()
    return op


class OperationStopped(Exception):
    """A kind's check said the operation cannot go on (e.g. its request was held)."""


def operation_begin(op: Operation) -> bool:
    move = OPERATION_MOVES["start"]
    started = Operation.objects.filter(pk=op.pk, status__in=move.sources).update(
        status=move.target, progressed_at=timezone.now()
    )
    Operation.objects.filter(pk=op.pk, started_at__isnull=True).update(started_at=timezone.now())
    return bool(started)


def batch_once(op: Operation, kind: OperationKind | None = None, *, batch_size=None, tries: int = 3) -> bool:
    """Apply the next batch after the cursor; False when there is none left. A deadlock retries the batch."""
    kind = kind or KINDS[op.action]
    for attempt in range(1, tries + 1):
        try:
            return apply_next_batch(op, kind, batch_size or kind.batch_size())
        except OperationalError:
            if attempt == tries:
                raise
            time.sleep(0.2 * attempt)
    return False


def apply_next_batch(op: Operation, kind: OperationKind, size: int) -> bool:
    with transaction.atomic():
        commit_without_waiting_for_disk()
        # Locking the operation serialises two workers on it (a redelivery while the first still runs).
        cursor, status = Operation.objects.select_for_update().filter(pk=op.pk).values_list("cursor", "status")[0]
        if status != OPERATION_MOVES["start"].target:
            return False
        if kind.check and (reason := kind.check(op)):
            raise OperationStopped(reason)
        batch = kind.next_batch(op, cursor, size)
        if not batch:
            return False
        result = kind.apply(batch, op)
        operation_advance(op, cursor=batch[-1], result=result)
        for callback in result.after_commit:
            transaction.on_commit(callback)
    return True


def operation_advance(op: Operation, *, cursor: int, result: BatchResult) -> None:
    changes = dict(
        cursor=cursor,
        progressed_at=timezone.now(),
        done=F("done") + result.done,
        skipped=F("skipped") + result.skipped,
        failed=F("failed") + result.failed,
    )
    if result.counts:
        params = Operation.objects.values_list("params", flat=True).get(pk=op.pk) or {}
        changes["params"] = {**params, **{k: params.get(k, 0) + n for k, n in result.counts.items()}}
    Operation.objects.filter(pk=op.pk).update(**changes)
    if result.messages:
        operation_note(op, *result.messages)


def commit_without_waiting_for_disk() -> None:
    """A batch's commit need not wait for its WAL flush: the batch and the cursor that records it commit together,
    so if the server crashes before the flush both are lost and the redelivered operation redoes the batch.
    (The operation's end, which sends mail, commits normally.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def operation_finish(op: Operation, kind: OperationKind) -> None:
    move = OPERATION_MOVES["finish"]
    with transaction.atomic():
        finished = Operation.objects.filter(pk=op.pk, status__in=move.sources).update(
            status=move.target, finished_at=timezone.now()
        )
        if finished and kind.finish:
            op.refresh_from_db()
            kind.finish(op)


def operation_stop(op: Operation, message: str) -> None:
    """Failed by a check: what was done stays done, nothing more is counted."""
    with transaction.atomic():
        stopped = Operation.objects.filter(pk=op.pk, status__in=OPERATION_MOVES["fail"].sources).update(
            status=OperationStatus.FAILED, finished_at=timezone.now()
        )
        if stopped:
            operation_note(op, message)


def operation_fail(op: Operation, message: str) -> None:
    move = OPERATION_MOVES["fail"]
    with transaction.atomic():
        row = Operation.objects.select_for_update().get(pk=op.pk)
        if row.status in move.sources:
            left = row.total - row.done - row.skipped - row.failed
            row.status, row.finished_at, row.failed = move.target, timezone.now(), row.failed + max(left, 0)
            row.messages = [*row.messages, message][-MESSAGES_KEPT:]
            row.save(update_fields=["status", "finished_at", "failed", "messages"])


def operation_note(op: Operation, *messages: str) -> None:
    row = Operation.objects.select_for_update().get(pk=op.pk)
    row.messages = [*row.messages, *messages][-MESSAGES_KEPT:]
    row.save(update_fields=["messages"])
