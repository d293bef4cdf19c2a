"""Celery tasks of the core app."""

from celery import shared_task
from django.contrib.contenttypes.models import ContentType

from .models import AuditEvent, PhysicsGroup


@shared_task(name="deft.heartbeat")
def heartbeat(comment: str = "") -> int:
    """Write one audit row from the worker: proves, end to end, that queued work is executed."""
    event = AuditEvent.objects.create(
        actor=None,
        verb="heartbeat",
        content_type=ContentType.objects.get_for_model(PhysicsGroup),
        object_id=0,
        object_repr="worker",
        comment=comment,
    )
    return event.pk
