"""Celery tasks of the tasks app: the engine's clock (beat calls `tick` every 2 s, see settings)."""

from celery import shared_task

from tasks.engine import tick as engine
from tasks.operations.runner import operation_run


@shared_task(name="tasks.tick", ignore_result=True)
def tick() -> dict:
    """One pass of the engine: define, retry, poll the executor, merge, broker, clean up, replicate, end."""
    return engine.tick()


@shared_task(name="tasks.run_operation", acks_late=True, reject_on_worker_lost=True)
def run_operation(operation_id: int) -> dict:
    """Apply any bulk Operation in batches; redelivered after a worker dies, it resumes at the cursor."""
    op = operation_run(operation_id=operation_id)
    return {"id": op.pk, "status": op.status, "done": op.done, "skipped": op.skipped, "failed": op.failed}
