from django.db.models import Count, Sum
from django.shortcuts import render

from deft import permissions
from tasks.models import ProductionTask


def overview(request):
    """Overall progress per group, from the task counters (never a scan of jobs)."""
    tasks = permissions.visible(request.user, ProductionTask.objects.all())
    rows = (
        tasks.values("group__name")
        .annotate(
            tasks=Count("id"),
            events_total=Sum("events_total"),
            events_done=Sum("events_done"),
            running=Sum("jobs_running"),
            failed=Sum("jobs_failed"),
        )
        .order_by("group__name")
    )
    return render(request, "monitoring/overview.html", {"rows": rows})
