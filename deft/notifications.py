"""Mail to a group's e-group: one mail per event of a request, never one per task. Sent from on_commit hooks."""

from django.conf import settings
from django.core.mail import send_mail


def request_link(request) -> str:
    return settings.DEFT_BASE_URL.rstrip("/") + request.get_absolute_url()


def _send_to_group(group, subject: str, body: str) -> int:
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [group.egroup], fail_silently=False)


def request_sent(request, *, actor, counts: dict) -> int:
    """A request was sent for approval."""
    subject = f"[DEFT] Request {request.pk} {request.group} sent: {request.description[:60]}"
    body = (
        f"{actor} sent request {request.pk} of {request.group} for approval.\n\n"
        f"{request.description}\n\n"
        f"Slices: {counts['slices']:,}\nTasks to be created: {counts['tasks']:,}\n"
        f"Priority: {request.priority}\n\n{request_link(request)}\n"
    )
    return _send_to_group(request.group, subject, body)


def request_approved(request, *, actor, counts: dict) -> int:
    """A request was approved and its tasks registered."""
    subject = f"[DEFT] Request {request.pk} {request.group} approved: {counts['tasks']:,} tasks registered"
    failed = f"Slices that could not be registered: {counts['failed']:,}\n" if counts.get("failed") else ""
    body = (
        f"Request {request.pk} of {request.group} was approved by {actor or 'the system'}.\n\n"
        f"{request.description}\n\n"
        f"Slices: {counts['slices']:,}\nTasks registered: {counts['tasks']:,}\n{failed}\n{request_link(request)}\n"
    )
    return _send_to_group(request.group, subject, body)
