"""Mail to people: each message is its own small function, called from a service in `transaction.on_commit`."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

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
