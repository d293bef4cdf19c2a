from django.shortcuts import render

from deft.generic import link, render_detail, status_badge
from deft.views import ObjectListView
from monitoring import pages

from .filtersets import PTagFilterSet, RequestFilterSet
from .models import ProductionRequest, PTag


class RequestListView(ObjectListView):
    model = ProductionRequest
    filterset_class = RequestFilterSet
    title = "Production requests"
    select_related = ("group", "requester")
    columns = [
        ("#", link),
        ("Group", "group"),
        ("Description", "description"),
        ("Status", lambda r: status_badge(r.status)),
        ("Requester", "requester"),
        ("Priority", "priority"),
        ("Created", "created"),
    ]


class PTagListView(ObjectListView):
    model = PTag
    filterset_class = PTagFilterSet
    title = "p-tags"
    ordering = ("name",)
    columns = [
        ("Name", lambda p: link(p, p.name)),
        ("Cache", "cache"),
        ("Transform", "transform"),
        ("Formats", lambda p: ", ".join(p.formats)),
    ]


def request_detail(request, pk):
    return render(request, "requests_app/request_detail.html", pages.request_context(request.user, pk))


def ptag_detail(request, pk):
    return render_detail(
        request,
        model=PTag,
        pk=pk,
        title=lambda p: f"p-tag {p.name}",
        fields=[
            ("Cache", lambda p: p.cache),
            ("Transform", lambda p: p.transform),
            ("Step", lambda p: p.step_name),
            ("Memory (MB)", lambda p: p.memory_mb),
        ],
        tables=[
            (
                "Formats",
                ["Format", "CPU s/event", "Bytes/event", "Skim efficiency"],
                lambda p: [
                    (
                        f,
                        p.params_for(f)["cpu_per_event"],
                        p.params_for(f)["bytes_per_event"],
                        p.params_for(f)["skim_efficiency"],
                    )
                    for f in p.formats
                ],
            )
        ],
    )
