"""The home page, groups, and the generic list/detail views every section builds on."""

from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views import View

from catalog.models import Dataset, Site, StorageEndpoint
from requests_app.models import ProductionRequest, PTag
from tasks.models import Job, ProductionTask

from . import permissions
from .models import Membership, PhysicsGroup

MAX_PAGE_SIZE = 500


def page_size_of(request, default=50) -> int:
    try:
        return max(1, min(int(request.GET.get("page_size", default)), MAX_PAGE_SIZE))
    except ValueError:
        return default


class ObjectListView(View):
    """Any FilterSet + a table of columns: `columns` are (title, attribute or callable) pairs."""

    model = None
    filterset_class = None
    columns: list = []
    title = ""
    template_name = "generic/object_list.html"
    select_related: tuple = ()
    ordering = ("-id",)

    def base_queryset(self, request):
        qs = self.model.objects.select_related(*self.select_related).order_by(*self.ordering)
        return permissions.visible(request.user, qs)

    def get(self, request):
        filterset = self.filterset_class(request.GET or None, queryset=self.base_queryset(request))
        if filterset.is_bound and not filterset.is_valid():
            context = {"view": self, "title": self.title, "filterset": filterset, "errors": filterset.errors}
            return render(request, self.template_name, context, status=400)
        page = Paginator(filterset.qs, page_size_of(request)).get_page(request.GET.get("page"))
        rows = [(obj, [self.cell(obj, c) for _, c in self.columns]) for obj in page.object_list]
        context = {
            "view": self,
            "title": self.title,
            "filterset": filterset,
            "page": page,
            "rows": rows,
            "headers": [t for t, _ in self.columns],
            **self.extra_context(request, filterset),
        }
        return render(request, self.template_name, context)

    def extra_context(self, request, filterset) -> dict:
        return {}

    @staticmethod
    def cell(obj, column):
        return column(obj) if callable(column) else getattr(obj, column)


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
