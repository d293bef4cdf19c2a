"""Celery tasks of the tasks app: the engine's clock (beat calls `tick` every 2 s, see settings)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from tasks.engine import tick as engine
from tasks.operations.runner import operation_run, operations_requeue


@shared_task(name="tasks.tick", ignore_result=True)
def tick() -> dict:
    """One pass of the engine: define, retry, poll the executor, merge, broker, clean up, replicate, end."""
    return engine.tick()


@shared_task(name="tasks.run_operation", acks_late=True, reject_on_worker_lost=True)
def run_operation(operation_id: int) -> dict:
    """Apply any bulk Operation in batches; redelivered after a worker dies, it resumes at the cursor."""
    op = operation_run(operation_id=operation_id)
    if op is None:
        return {"id": operation_id, "status": "missing"}
    return {"id": op.pk, "status": op.status, "done": op.done, "skipped": op.skipped, "failed": op.failed}


@shared_task(name="tasks.requeue_stale_operations", ignore_result=True)
def requeue_stale_operations() -> list[int]:
    """Beat, every minute: no operation stays queued or running without progress, whatever lost its message."""
    return operations_requeue(stale_after=timedelta(seconds=settings.DEFT_OPERATION_STALE_S))
