"""The home page and the groups' pages (the wiring layer: it reads every app)."""

from django.contrib.auth.decorators import login_not_required
from django.db.models import Count, Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from catalog.models import Dataset, Site, StorageEndpoint
from requests_app.models import ProductionRequest, PTag
from tasks.models import Job, ProductionTask

from . import permissions
from .models import Membership, PhysicsGroup


def home(request):
    """What is in the system, at a glance, from cheap counts and the task counters."""
    task_totals = ProductionTask.objects.aggregate(
        events_total=Sum("events_total"), events_done=Sum("events_done"), running=Sum("jobs_running")
    )
    by_status = dict(ProductionTask.objects.values_list("status").annotate(n=Count("id")).order_by())
    context = {
        "counts": {
            "groups": PhysicsGroup.objects.count(),
            "datasets": Dataset.objects.count(),
            "sites": Site.objects.count(),
            "endpoints": StorageEndpoint.objects.count(),
            "ptags": PTag.objects.count(),
            "requests": ProductionRequest.objects.count(),
            "tasks": sum(by_status.values()),
        },
        "tasks_by_status": sorted(by_status.items()),
        "task_totals": task_totals,
        "jobs_running": task_totals["running"] or 0,
        "recent_requests": ProductionRequest.objects.select_related("group").order_by("-id")[:8],
        "my_memberships": Membership.objects.filter(user=request.user).select_related("group"),
        "visible": permissions.can(request.user, permissions.READ),
    }
    return render(request, "home.html", context)


def group_list(request):
    groups = permissions.visible(request.user, PhysicsGroup.objects.prefetch_related("memberships__user"))
    return render(request, "deft/group_list.html", {"groups": groups})


def group_detail(request, pk):
    group = get_object_or_404(permissions.visible(request.user, PhysicsGroup.objects.all()), pk=pk)
    memberships = group.memberships.select_related("user")
    endpoints = StorageEndpoint.objects.filter(physgroup__iexact=group.name).select_related("site")
    return render(
        request,
        "deft/group_detail.html",
        {"group": group, "memberships": memberships, "endpoints": endpoints},
    )


@login_not_required
def healthz(request):
    """For load balancers and docker-compose: the process serves and the database answers."""
    Job.objects.exists()
    return HttpResponse("ok", content_type="text/plain")
