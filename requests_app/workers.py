"""Celery tasks of requests: registering an approved request's tasks."""

from celery import shared_task

from . import registration


@shared_task(name="requests.register_tasks", acks_late=True)
def register_tasks(op_id: int) -> int:
    """Work through a `register_tasks` Operation; safe to redeliver (slices with tasks are skipped)."""
    return registration.run_registration(op_id).done
