"""Celery tasks of the core app."""

from celery import shared_task

from .audit import audit_record
from .models import PhysicsGroup


@shared_task(name="deft.heartbeat")
def heartbeat(comment: str = "") -> int:
    """Write one audit row from the worker: proves, end to end, that queued work is executed."""
    return audit_record(actor=None, verb="heartbeat", obj=PhysicsGroup(pk=0, name="worker"), comment=comment).pk
