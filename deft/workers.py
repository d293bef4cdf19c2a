"""Celery tasks of the core app."""

from celery import shared_task
from django.core.mail import send_mass_mail

from . import notifications
from .audit import audit_record
from .models import PhysicsGroup


@shared_task(name="deft.heartbeat")
def heartbeat(comment: str = "") -> int:
    """Write one audit row from the worker: proves, end to end, that queued work is executed."""
    return audit_record(actor=None, verb="heartbeat", obj=PhysicsGroup(pk=0, name="worker"), comment=comment).pk


@shared_task(
    name=notifications.SEND_MAIL, autoretry_for=(Exception,), retry_backoff=30, retry_backoff_max=1800, max_retries=12
)
def send_mail(messages: list[list]) -> int:
    """Mails whose first sending failed (deft.notifications.deliver): retried with a growing delay for ~6 hours."""
    return send_mass_mail([tuple(m) for m in messages], fail_silently=False)
