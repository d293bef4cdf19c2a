from django.contrib.humanize.templatetags.humanize import intcomma
from django.shortcuts import render

from deft.generic import link, render_detail, status_badge
from deft.views import ObjectListView
from monitoring import pages

from .filtersets import ErrorCodeFilterSet, OperationFilterSet, TaskFilterSet
from .models import ErrorCode, Operation, ProductionTask


class TaskListView(ObjectListView):
    model = ProductionTask
    filterset_class = TaskFilterSet
    title = "Tasks"
    select_related = ("group", "ptag")
    columns = [
        ("#", link),
        ("Name", "name"),
        ("Group", "group"),
        ("Status", lambda t: status_badge(t.status)),
        ("Priority", "priority"),
        ("Events done", lambda t: f"{intcomma(t.events_done)} / {intcomma(t.events_total)}"),
        ("Jobs running", "jobs_running"),
        ("Jobs failed", "jobs_failed"),
    ]


class OperationListView(ObjectListView):
    model = Operation
    filterset_class = OperationFilterSet
    title = "Operations"
    select_related = ("actor",)
    columns = [
        ("#", link),
        ("Action", "action"),
        ("Who", "actor"),
        ("Status", lambda o: status_badge(o.status)),
        ("Total", "total"),
        ("Done", "done"),
        ("Skipped", "skipped"),
        ("Failed", "failed"),
        ("Created", "created"),
    ]


class ErrorCodeListView(ObjectListView):
    model = ErrorCode
    filterset_class = ErrorCodeFilterSet
    title = "Error codes"
    ordering = ("source", "code")
    columns = [
        ("Source", "source"),
        ("Code", "code"),
        ("Name", "name"),
        ("Class", lambda e: status_badge(e.error_class)),
        ("Retry", "retry_action"),
        ("Description", "description"),
    ]


def task_detail(request, pk):
    return render(request, "tasks/task_detail.html", pages.task_context(request.user, pk))


def job_detail(request, pk):
    return render(request, "tasks/job_detail.html", pages.job_context(request.user, pk))


def operation_detail(request, pk):
    return render_detail(
        request,
        model=Operation,
        pk=pk,
        title=lambda o: f"Operation {o.pk}: {o.action}",
        fields=[
            ("Status", lambda o: status_badge(o.status)),
            ("Who", lambda o: o.actor),
            ("Comment", lambda o: o.comment),
            ("Progress", lambda o: f"{o.done} done, {o.skipped} skipped, {o.failed} failed of {o.total}"),
        ],
    )
