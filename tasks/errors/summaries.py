"""Error summaries: a task's failures by code and class, and the recent failures of the grid by code x site.

Both read failed jobs of a bounded set: one task's jobs, or the jobs that ended in a time window (at most
MAX_WINDOW), through the (status, ended_at) index; each is a handful of grouped queries, never a scan.
"""

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db.models import Count, Max, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from tasks.models import ErrorCode, Job, ProductionTask
from tasks.states import JobStatus

MAX_WINDOW = timedelta(days=30)
SINCE_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
NO_SITE = "—"


def parse_since(value: str | None, default: str = "24h") -> timedelta:
    """'1h', '24h', '7d', '30m' -> a timedelta; ValueError naming what is wrong otherwise."""
    text = (value or default).strip()
    match = re.fullmatch(r"(\d{1,4})([mhd])", text)
    if not match:
        raise ValueError(f"since={text!r}: expected a number and a unit m, h or d, e.g. 1h, 24h, 7d")
    window = timedelta(**{SINCE_UNITS[match[2]]: int(match[1])})
    if not timedelta(0) < window <= MAX_WINDOW:
        raise ValueError(f"since={text!r}: the window must be more than 0 and at most {MAX_WINDOW.days} days")
    return window


def code_names(keys) -> dict[tuple, ErrorCode]:
    keys = {k for k in keys if k[1] is not None}
    if not keys:
        return {}
    q = Q()
    for source, code in keys:
        q |= Q(source=source, code=code)
    return {(e.source, e.code): e for e in ErrorCode.objects.filter(q).only("source", "code", "name")}


# --- one task ----------------------------------------------------------------------------------------------


def task_error_summary(task: ProductionTask) -> dict:
    """Failed jobs of a task by (source, code, class): count, one example diagnostic, the sites involved."""
    failed = Job.objects.filter(task=task, status=JobStatus.FAILED)
    key = ("error_source", "error_code", "error_class")
    rows = list(failed.values(*key).annotate(n=Count("id"), example=Max("error_diag")).order_by("-n", *key))
    sites: dict[tuple, dict] = defaultdict(dict)
    for *k, site, n in failed.values_list(*key, "site__name").annotate(n=Count("id")).order_by():
        sites[tuple(k)][site or NO_SITE] = n
    names = code_names((r["error_source"], r["error_code"]) for r in rows)
    by_class: dict[str, int] = defaultdict(int)
    codes = []
    for r in rows:
        k = (r["error_source"], r["error_code"], r["error_class"])
        by_class[r["error_class"] or "unknown"] += r["n"]
        entry = names.get(k[:2])
        codes.append(
            {
                "source": r["error_source"],
                "code": r["error_code"],
                "name": entry.name if entry else "",
                "error_class": r["error_class"],
                "count": r["n"],
                "example": r["example"] or "",
                "sites": [{"site": s, "count": n} for s, n in sorted(sites[k].items(), key=lambda x: (-x[1], x[0]))],
            }
        )
    return {
        "task": task.pk,
        "failed": sum(by_class.values()),
        "by_class": [{"error_class": c, "count": n} for c, n in sorted(by_class.items(), key=lambda x: -x[1])],
        "by_code": codes,
    }


# --- the grid, in a window ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryFilters:
    error_class: str = ""
    group: str = ""
    request: int | None = None
    ptag: str = ""

    def scope(self, jobs: QuerySet) -> QuerySet:
        """Group, request and p-tag narrow every number; the class narrows the error counts only."""
        if self.group:
            jobs = jobs.filter(task__group__name=self.group)
        if self.request is not None:
            jobs = jobs.filter(task__request_id=self.request)
        if self.ptag:
            jobs = jobs.filter(task__ptag__name=self.ptag)
        return jobs

    def link_params(self) -> dict:
        params = {"error_class": self.error_class, "group": self.group, "request": self.request, "ptag": self.ptag}
        return {k: v for k, v in params.items() if v not in ("", None)}


def jobs_link(base: str, *, source, code, site, start: datetime, filters: SummaryFilters) -> str:
    params = {"status": JobStatus.FAILED, "error_source": source, "ended_after": start.isoformat()}
    if code is not None:
        params["error_code"] = code
    if site != NO_SITE:
        params["site"] = site
    return f"{base}?{urlencode({**params, **filters.link_params()})}"


def errors_summary(*, jobs: QuerySet, window: timedelta, filters: SummaryFilters, now: datetime | None = None) -> dict:
    """Failed jobs that ended in the window by code x site, and each site's failure rate in the window.

    `jobs` is what the user may see. A site's rate is failed / (finished + failed): cancelled jobs are not the
    site's doing.
    """
    end = now or timezone.now()
    start = end - window
    recent = filters.scope(jobs.filter(ended_at__gte=start, ended_at__lte=end))
    failed = recent.filter(status=JobStatus.FAILED)
    if filters.error_class:
        failed = failed.filter(error_class=filters.error_class)
    rows = list(
        failed.values_list("error_source", "error_code", "error_class", "site__name").annotate(n=Count("id")).order_by()
    )
    cells, code_totals, site_totals, classes = _heat_map(rows, start, filters)
    names = code_names(code_totals)
    codes = [
        {
            "source": s,
            "code": c,
            "name": names[(s, c)].name if (s, c) in names else "",
            "error_class": classes[(s, c)],
            "total": n,
        }
        for (s, c), n in sorted(code_totals.items(), key=lambda x: (-x[1], x[0][0], x[0][1] or 0))
    ]
    sites = [s for s, _ in sorted(site_totals.items(), key=lambda x: (-x[1], x[0]))]
    return {
        "window_start": start,
        "window_end": end,
        "total_failed": sum(code_totals.values()),
        "codes": codes,
        "sites": sites,
        "cells": cells,
        "max_cell": max((c["count"] for c in cells), default=0),
        "site_rates": site_rates(recent),
    }


def _heat_map(rows, start, filters):
    page, api = reverse("job-list"), reverse("api-job-list")
    cells, code_totals, site_totals, classes = [], defaultdict(int), defaultdict(int), {}
    merged: dict[tuple, int] = defaultdict(int)
    for source, code, klass, site, n in rows:
        merged[(source, code, site or NO_SITE)] += n
        # A code's class can differ between jobs (a rule changed meanwhile): show the most recent seen.
        classes[(source, code)] = klass or "unknown"
    for (source, code, site), n in sorted(merged.items(), key=lambda x: (x[0][0], x[0][1] or 0, x[0][2])):
        code_totals[(source, code)] += n
        site_totals[site] += n
        link = {"source": source, "code": code, "site": site, "start": start, "filters": filters}
        cells.append(
            {
                "source": source,
                "code": code,
                "site": site,
                "count": n,
                "jobs_url": jobs_link(page, **link),
                "jobs_api_url": jobs_link(api, **link),
            }
        )
    return cells, code_totals, site_totals, classes


def site_rates(recent: QuerySet) -> list[dict]:
    """Per site: finished and failed jobs that ended in the window, and the failure rate; worst first."""
    counts: dict[str, dict] = defaultdict(lambda: {"finished": 0, "failed": 0})
    ended = recent.filter(status__in=[JobStatus.FINISHED, JobStatus.FAILED])
    for site, status, n in ended.values_list("site__name", "status").annotate(n=Count("id")).order_by():
        counts[site or NO_SITE][status] += n
    rates = []
    for site, c in counts.items():
        total = c["finished"] + c["failed"]
        rates.append({"site": site, **c, "ended": total, "failure_rate": round(c["failed"] / total, 4)})
    return sorted(rates, key=lambda r: (-r["failure_rate"], -r["failed"], r["site"]))
