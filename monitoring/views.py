"""Monitoring pages: overall progress (with a live fragment and charts), the summary API, and sites."""

from datetime import timedelta
from types import SimpleNamespace

from django.db.models import Count, Sum
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Site, StorageEndpoint, TokenType
from deft import permissions
from tasks.models import Job
from tasks.states import JobStatus

from .models import FAILED_CLASS_FIELDS, Dimension, Sample, SiteJobs
from .summary import FILTERS, BadFilter, parse_filters, summary, summary_as_dict

SERIES_SPAN = timedelta(hours=24)


def overview(request):
    """Overall progress; `HX-Request` gets the live fragment only (polled every 5 s while the tab is visible)."""
    permissions.require(request.user, permissions.READ)
    try:
        filters = parse_filters(request.GET)
    except BadFilter as exc:
        return render(request, "monitoring/overview.html", {"error": str(exc)}, status=400)
    context = {"result": summary(filters=filters), "query": request.GET.urlencode()}
    template = "monitoring/inc/summary.html" if request.headers.get("HX-Request") else "monitoring/overview.html"
    return render(request, template, context)


class FormatIsAFilter(DefaultContentNegotiation):
    """`?format=DAOD_SUSY1` is an output-format filter here, not DRF's renderer override (which would 404)."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)


class SummaryAPI(APIView):
    """GET /api/summary/?group=&project=&request=&ptag=&format= : the overall progress of a scope, as JSON."""

    content_negotiation_class = FormatIsAFilter

    @extend_schema(
        parameters=[OpenApiParameter(name, str, description=f"only tasks of this {name}") for name in FILTERS],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        permissions.require(request.user, permissions.READ)
        try:
            filters = parse_filters(request.query_params)
        except BadFilter as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(summary_as_dict(summary(filters=filters)))


def series(request):
    """Events done and failures by class over the last 24 h, from the samples of one rollup row (charts)."""
    permissions.require(request.user, permissions.READ)
    try:
        filters = parse_filters(request.GET)
    except BadFilter as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    if len(filters) > 1:
        return JsonResponse({"detail": "charts follow one filter at a time"}, status=400)
    dimension, key = next(iter(filters.items())) if filters else (Dimension.ALL, "")
    fields = ("ts", "events_done", *FAILED_CLASS_FIELDS)
    samples = list(
        Sample.objects.filter(dimension=dimension, key=key, ts__gte=timezone.now() - SERIES_SPAN)
        .order_by("ts")
        .values_list(*fields)
    )
    return JsonResponse(series_of(samples))


def series_of(samples) -> dict:
    """Cumulative events done, and failures by class per interval (differences of consecutive samples)."""
    labels = [timezone.localtime(s[0]).strftime("%H:%M") for s in samples]
    failures = {}
    for i, name in enumerate(FAILED_CLASS_FIELDS, start=2):
        values = [max(b[i] - a[i], 0) for a, b in zip(samples, samples[1:], strict=False)]
        if any(values):
            failures[name.removeprefix("failed_")] = [0, *values]
    return {"labels": labels, "events_done": [s[1] for s in samples], "failures": failures}


def sites(request):
    """Per site: brokered jobs (the ledger of counters), failures in the last hour, PRODDISK and group disks."""
    permissions.require(request.user, permissions.READ)
    return render(request, "catalog/site_list.html", {"rows": site_rows(), "title": "Sites"})


def site_rows(now=None) -> list[dict]:
    """Reads no more job rows than failed in the last hour (the (status, ended_at) index); the rest are counters:
    the `SiteJobs` ledger and the endpoints' used bytes (kept by the executor and the unmerged cleanup)."""
    hour_ago = (now or timezone.now()) - timedelta(hours=1)
    ledger = SiteJobs.objects.order_by().values("site_id")
    active = {r["site_id"]: r for r in ledger.annotate(assigned=Sum("jobs_assigned"), running=Sum("jobs_running"))}
    failed = Job.objects.filter(status=JobStatus.FAILED, ended_at__gte=hour_ago, site__isnull=False).order_by()
    failed_last_hour = dict(failed.values_list("site_id").annotate(n=Count("pk")))
    endpoints = StorageEndpoint.objects.filter(token_type__in=[TokenType.PRODDISK, TokenType.GROUPDISK])
    disks: dict[int, dict] = {}
    for e in endpoints:
        disk = disks.setdefault(e.site_id, {"proddisk_used": 0, "proddisk_capacity": 0, "groupdisks": []})
        if e.token_type == TokenType.PRODDISK:
            disk["proddisk_used"] += e.used_bytes
            disk["proddisk_capacity"] += e.capacity_bytes
        else:
            disk["groupdisks"].append(e)
    return [
        {
            "site": s,
            "running": active.get(s.pk, {}).get("running", 0),
            "queued": active.get(s.pk, {}).get("assigned", 0),
            "failed_last_hour": failed_last_hour.get(s.pk, 0),
            **disks.get(s.pk, {"proddisk_used": 0, "proddisk_capacity": 0, "groupdisks": []}),
        }
        for s in Site.objects.order_by("name")
    ]
