"""Mail to a group's e-group: one mail per event of a request, never one per task.

Mail is sent after the change it reports has committed (`mail_after_commit`), and never breaks that change: a
failure to send is logged and handed to a worker that retries (`deft.send_mail`), and subjects are folded onto one
line (a line break in a header makes Django refuse the whole message).
"""

import logging
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.template.loader import render_to_string

log = logging.getLogger(__name__)
SUBJECT_MAX = 200
SEND_MAIL = "deft.send_mail"


def header_line(text: str, limit: int = SUBJECT_MAX) -> str:
    """One line of at most `limit` characters: user text (a description) may hold line breaks."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def mail_after_commit(send: Callable[[], object]) -> None:
    """Run `send` once the transaction commits; whatever it raises is logged and the other callbacks still run."""
    transaction.on_commit(send, robust=True)


def deliver(mails: list[tuple[str, str, list[str]]]) -> int:
    """Send (subject, body, recipients) now; on failure, log it and queue the mails for a worker to retry."""
    messages = [(header_line(subject), body, settings.DEFAULT_FROM_EMAIL, to) for subject, body, to in mails if to]
    if not messages:
        return 0
    try:
        return send_mass_mail(messages, fail_silently=False)
    except Exception as exc:  # a mail server down must not undo or hide the change the mail reports
        log.warning("mail not sent (%s: %s); queued for a retry: %s", type(exc).__name__, exc, messages[0][0])
        mail_retry_queue(messages)
        return 0


def mail_retry_queue(messages) -> None:
    try:
        current_app.send_task(SEND_MAIL, args=[[list(m) for m in messages]])
    except Exception:  # the broker down as well: the log line above is all that is left
        log.exception("mail retry could not be queued")


def request_link(request) -> str:
    return settings.DEFT_BASE_URL.rstrip("/") + request.get_absolute_url()


def _send_to_group(group, subject: str, body: str) -> int:
    return deliver([(subject, body, [group.egroup] if group.egroup else [])])


def request_sent(request, *, actor, counts: dict) -> int:
    """A request was sent for approval."""
    subject = f"[DEFT] Request {request.pk} {request.group} sent: {header_line(request.description, 60)}"
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
            [r.group.egroup] if r.group.egroup else [],
        )
        for r in requests
    ]
    return deliver(mails)


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
    subject = f"[DEFT] task {task.pk} paused: mostly software errors"
    return deliver([(subject, render_to_string("mail/software_failures.txt", context), [task.group.egroup])])
