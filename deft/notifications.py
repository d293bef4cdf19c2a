"""Mail to a group's e-group: one mail per event of a request, never one per task. Sent from on_commit hooks."""

from django.conf import settings
from django.core.mail import send_mail, send_mass_mail
from django.template.loader import render_to_string


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


# --- Bulk task actions (issue 6) -------------------------------------------------------------------------


def mail_tasks_aborted(*, op, per_request: dict[int, int], requests) -> int:
    """One mail per request whose tasks an abort operation changed (`per_request`: request id -> tasks), to the
    request's group's e-group."""
    link = f"{settings.DEFT_BASE_URL}{op.get_absolute_url()}"
    mails = [
        (
            f"[DEFT] {per_request[r.pk]:,} tasks of request {r.pk} aborted",
            f"{op.actor or 'someone'} aborted {per_request[r.pk]:,} tasks of request {r.pk} ({r}).\n\n"
            f"Reason: {op.comment or '(no comment given)'}\n\nOperation {op.pk}: {link}\n",
            settings.DEFAULT_FROM_EMAIL,
            [r.group.egroup],
        )
        for r in requests
        if r.group.egroup
    ]
    return send_mass_mail(mails, fail_silently=False) if mails else 0


# --- errors (issue 5) --------------------------------------------------------------------------------------


def mail_software_failures(*, task, summary: dict, reason: str) -> int:
    """Tell a task's group (its e-group) that the task was paused because its failures are mostly software."""
    if not task.group.egroup:
        return 0
    context = {
        "task": task,
        "summary": summary,
        "reason": reason,
        "url": settings.DEFT_BASE_URL.rstrip("/") + task.get_absolute_url(),
    }
    return send_mail(
        subject=f"[DEFT] task {task.pk} paused: mostly software errors",
        message=render_to_string("mail/software_failures.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[task.group.egroup],
    )
