"""Pages for errors: the global summary (heat map, site failure rates), the failed-job list, and the rules."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from deft import permissions
from deft.generic import ObjectListView, link, status_badge
from tasks.errors import rules as error_rules
from tasks.errors.summaries import MAX_WINDOW, SummaryFilters, errors_summary, parse_since
from tasks.filtersets import JobFilterSet
from tasks.forms import ErrorRuleForm
from tasks.models import ErrorClass, ErrorRule, Job

WINDOWS = ("1h", "6h", "24h", "7d", "30d")


class JobListView(ObjectListView):
    model = Job
    filterset_class = JobFilterSet
    title = "Jobs"
    select_related = ("site", "task")
    columns = [
        ("#", link),
        ("Task", lambda j: link(j.task)),
        ("Step", "job_type"),
        ("Status", lambda j: status_badge(j.status)),
        ("Attempt", "attempt"),
        ("Site", "site"),
        ("Error", lambda j: f"{j.error_source}:{j.error_code}" if j.error_code is not None else ""),
        ("Class", lambda j: status_badge(j.error_class) if j.error_class else ""),
        ("Diagnostic", lambda j: j.error_diag[:160]),
        ("Ended", "ended_at"),
    ]


def _heat_rows(summary: dict) -> list[dict]:
    """The code x site matrix for the template, with a 0..1 intensity per cell for its colour."""
    cells = {(c["source"], c["code"], c["site"]): c for c in summary["cells"]}
    top = summary["max_cell"] or 1
    rows = []
    for code in summary["codes"]:
        row = []
        for site in summary["sites"]:
            cell = cells.get((code["source"], code["code"], site))
            row.append({**cell, "alpha": round(0.12 + 0.88 * cell["count"] / top, 2)} if cell else None)
        rows.append({"code": code, "cells": row})
    return rows


def errors_page(request):
    """Recent failures by code x site (each cell links to its failed jobs) and each site's failure rate."""
    if not permissions.can(request.user, permissions.READ):
        raise PermissionDenied("you may not read errors")
    params = request.GET
    context = {"windows": WINDOWS, "classes": ErrorClass.values, "params": params, "max_days": MAX_WINDOW.days}
    try:
        window = parse_since(params.get("since"))
        if params.get("error_class") and params["error_class"] not in ErrorClass.values:
            raise ValueError(f"error_class: expected one of {', '.join(ErrorClass.values)}")
        request_id = params.get("request") or None
        if request_id and not request_id.isdigit():
            raise ValueError("request: expected a request number")
    except ValueError as exc:
        return render(request, "tasks/errors.html", {**context, "error": str(exc)}, status=400)
    filters = SummaryFilters(
        error_class=params.get("error_class", ""),
        group=params.get("group", ""),
        request=int(request_id) if request_id else None,
        ptag=params.get("ptag", ""),
    )
    summary = errors_summary(jobs=Job.objects.all(), window=window, filters=filters)
    context.update(summary=summary, heat=_heat_rows(summary), since=params.get("since") or "24h")
    return render(request, "tasks/errors.html", context)


def rule_list(request):
    if not permissions.can(request.user, permissions.READ):
        raise PermissionDenied("you may not read the error rules")
    rules = ErrorRule.objects.select_related("created_by").order_by("position", "id")
    may_manage = permissions.can(request.user, "manage_rules")
    return render(request, "tasks/error_rules.html", {"rules": rules, "may_manage": may_manage})


def rule_edit(request, pk=None):
    """Create (no pk) or edit a rule; a pattern that does not compile is a form error and nothing is saved."""
    permissions.require(request.user, "manage_rules")
    rule = get_object_or_404(ErrorRule, pk=pk) if pk else None
    form = ErrorRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        if rule is None:
            rule = error_rules.error_rule_create(actor=request.user, **fields)
            messages.success(request, f"Rule {rule.pk} created ({'active' if rule.active else 'dry run'}).")
        else:
            error_rules.error_rule_update(rule=rule, actor=request.user, **fields)
            messages.success(request, f"Rule {rule.pk} saved.")
        return redirect("errorrule-list")
    status = 400 if request.method == "POST" else 200
    return render(request, "tasks/error_rule_form.html", {"form": form, "rule": rule}, status=status)


@require_POST
def rule_move(request, pk):
    rule = get_object_or_404(ErrorRule, pk=pk)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        messages.error(request, "direction must be up or down")
        return redirect("errorrule-list")
    error_rules.error_rule_move(rule=rule, actor=request.user, direction=direction)
    return redirect("errorrule-list")


@require_POST
def rule_toggle(request, pk):
    """Switch a rule between active and dry run."""
    rule = get_object_or_404(ErrorRule, pk=pk)
    error_rules.error_rule_update(rule=rule, actor=request.user, active=not rule.active)
    messages.success(request, f"Rule {rule.pk} is now {'active' if rule.active else 'a dry run'}.")
    return redirect("errorrule-list")
