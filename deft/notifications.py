"""Mail to people: the group's e-group hears about what happens to its requests and tasks.

Each function sends its own mail and is called from `transaction.on_commit`, so nothing is sent for work
that was rolled back.
"""

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db.models import Count

# --- Bulk task actions (issue 6) -------------------------------------------------------------------------


def mail_tasks_aborted(*, operation_id: int) -> int:
    """One mail per request whose tasks an abort operation changed, to the request's group's e-group."""
    from deft.models import AuditEvent
    from requests_app.models import ProductionRequest
    from tasks.models import Operation, ProductionTask

    op = Operation.objects.select_related("actor").get(pk=operation_id)
    changed = AuditEvent.objects.filter(operation_id=op.pk).values("object_id")
    per_request = dict(
        ProductionTask.objects.filter(pk__in=changed).values_list("request_id").annotate(n=Count("id")).order_by()
    )
    requests = ProductionRequest.objects.filter(pk__in=per_request).select_related("group").order_by("pk")
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
