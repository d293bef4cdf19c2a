"""Pages of the bulk actions: the confirmation page, the operation page and its live progress fragment."""

import contextlib
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import format_html

from deft import permissions
from tasks.filtersets import TaskFilterSet
from tasks.models import Operation, ProductionTask
from tasks.operations import task_actions as actions
from tasks.states import OPERATION_FINAL


def task_progress_bar(task: ProductionTask):
    """Events done / total as text; the bar's segments are the job counters (done, running, failed)."""
    jobs = task.jobs_active + task.jobs_finished + task.jobs_failed + task.jobs_cancelled
    percent = round(100 * task.progress)

    def width(n):
        return f"{100 * n / jobs:.1f}" if jobs else "0"

    return format_html(
        '<div class="bar" title="jobs: {} finished, {} running, {} failed or cancelled, {} waiting">'
        '<span class="done" style="width:{}%"></span><span class="running" style="width:{}%"></span>'
        '<span class="failed" style="width:{}%"></span></div><small>{}% of {} events</small>',
        task.jobs_finished,
        task.jobs_running,
        task.jobs_failed + task.jobs_cancelled,
        task.jobs_defined + task.jobs_assigned,
        width(task.jobs_finished),
        width(task.jobs_running + task.jobs_assigned),
        width(task.jobs_failed + task.jobs_cancelled),
        percent,
        f"{task.events_total:,}",
    )


def operation_progress_bar(op: Operation):
    def width(n):
        return f"{100 * n / op.total:.1f}" if op.total else "0"

    return format_html(
        '<div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{}">'
        '<span class="done" style="width:{}%"></span><span class="other" style="width:{}%"></span>'
        '<span class="failed" style="width:{}%"></span></div>',
        round(100 * op.progress),
        width(op.done),
        width(op.skipped),
        width(op.failed),
    )


def selection_of(data: QueryDict) -> dict:
    """The selection the list page sent: ticked ids, or 'all matching' and the filter fields."""
    if data.get("select_all"):
        filters = QueryDict(mutable=True)
        for key in data:
            values = [v for v in data.getlist(key) if v != ""]
            if key in TaskFilterSet.base_filters and values:
                filters.setlist(key, values)
        return {"filters": filters}
    raw = data.getlist("task_ids")
    if not all(v.isdigit() for v in raw):
        raise actions.ActionInputError({"task_ids": ["expected task ids (whole numbers)"]})
    if not raw:
        raise actions.ActionInputError({"selection": ["tick some tasks, or 'select all matching this filter'"]})
    return {"task_ids": [int(v) for v in raw]}


def params_of(data: QueryDict, action: str) -> dict:
    """Form fields -> action parameters; whole numbers become integers, anything else goes on to be refused."""
    params = {}
    for name in actions.PARAMS_OF.get(action, ()):
        value = data.get(name, "").strip()
        if value != "":
            params[name] = int(value) if value.lstrip("-").isdigit() else value
    return params


def hidden_fields(data: QueryDict) -> list[tuple[str, str]]:
    """The selection and action, carried from the confirmation page to its POST."""
    keep = {"action", "select_all", "task_ids", *TaskFilterSet.base_filters}
    return [(k, v) for k in data for v in data.getlist(k) if k in keep and v != ""]


def task_action_confirm(request):
    """GET: what the action will do to the selection, counted by status. POST: start it."""
    data = request.POST if request.method == "POST" else request.GET
    action = data.get("action", "")
    context = {"action": action, "hidden": hidden_fields(data), "values": data, "title": "Confirm a bulk action"}
    try:
        actions.action_check(request.user, action)
        selection = selection_of(data)
        if request.method == "POST":
            op = actions.operation_start(
                actor=request.user,
                action=action,
                params=params_of(data, action),
                comment=data.get("comment", ""),
                **selection,
            )
            return redirect(op)
        context["summary"] = actions.selection_summary(actor=request.user, action=action, **selection)
    except actions.ActionInputError as exc:
        context["errors"] = exc.errors
        if request.method == "POST":  # show the selection again beside the error in the parameters
            with contextlib.suppress(actions.ActionInputError, PermissionDenied):
                context["summary"] = actions.selection_summary(actor=request.user, action=action, **selection_of(data))
        return render(request, "tasks/action_confirm.html", context, status=400)
    context["past"] = actions.PAST_TENSE[action]
    return render(request, "tasks/action_confirm.html", context)


def operation_detail(request, pk):
    operations = permissions.visible(request.user, Operation.objects.select_related("actor", "request"))
    op = get_object_or_404(operations, pk=pk)
    selected_by = (op.selection or {}).get("filter")
    context = {
        "title": f"Operation {op.pk}: {op.action}",
        "op": op,
        "bar": operation_progress_bar(op),
        "running": op.status not in OPERATION_FINAL,
        "filter_query": urlencode(selected_by, doseq=True) if selected_by else "",
    }
    return render(request, "tasks/operation_detail.html", context)


def operation_progress(request, pk):
    """The live part of the operation page: polled every second while the operation runs."""
    op = get_object_or_404(permissions.visible(request.user, Operation.objects.all()), pk=pk)
    context = {"op": op, "bar": operation_progress_bar(op), "running": op.status not in OPERATION_FINAL}
    return render(request, "htmx/operation_progress.html", context)
