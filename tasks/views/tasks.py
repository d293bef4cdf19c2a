from django.contrib.humanize.templatetags.humanize import intcomma
from django.shortcuts import render
from django.utils.html import format_html

from deft import permissions
from deft.generic import ObjectListView, link, status_badge
from tasks.errors.summaries import task_error_summary
from tasks.filtersets import ErrorCodeFilterSet, OperationFilterSet, TaskFilterSet
from tasks.models import ErrorCode, Operation, ProductionTask
from tasks.operations.task_actions import ACTIONS
from tasks.views import selectors as pages
from tasks.views.actions import operation_progress_bar, task_progress_bar


class TaskListView(ObjectListView):
    """Filters, server-side sorting and pages; tick boxes and "select all matching" for bulk actions."""

    model = ProductionTask
    filterset_class = TaskFilterSet
    title = "Tasks"
    template_name = "tasks/task_list.html"
    select_related = ("group",)
    columns = [
        ("#", link),
        ("Name", "name"),
        ("Group", "group"),
        ("Status", lambda t: status_badge(t.status)),
        ("Priority", "priority"),
        ("Progress", task_progress_bar),
        ("Input events done", lambda t: f"{intcomma(t.events_merged)} / {intcomma(t.events_total)}"),
        ("Jobs running", "jobs_running"),
        ("Jobs failed", "jobs_failed"),
        ("Created", lambda t: t.created.strftime("%Y-%m-%d %H:%M")),
    ]
    sort_fields = {"#": "id", "Name": "name", "Status": "status", "Priority": "priority", "Created": "created"}

    def extra_context(self, request, filterset) -> dict:
        roles = permissions.roles_of(request.user)
        return {
            "headers": [sort_link(request, title, self.sort_fields.get(title)) for title, _ in self.columns],
            "may_act": roles.production_manager or bool(roles.managed_groups),
            "action_choices": [(a, a.replace("_", " ")) for a in ACTIONS],
            "filter_hidden": [
                (k, v) for k in request.GET for v in request.GET.getlist(k) if k in TaskFilterSet.base_filters and v
            ],
        }


def sort_link(request, title, field):
    """A column title that sorts the list on the server (a second click reverses the order)."""
    if not field:
        return title
    current = request.GET.get("ordering", "")
    query = request.GET.copy()
    query.pop("page", None)
    query["ordering"] = f"-{field}" if current == field else field
    arrow = " ▲" if current == field else " ▼" if current == f"-{field}" else ""
    return format_html('<a href="?{}">{}{}</a>', query.urlencode(), title, arrow)


class OperationListView(ObjectListView):
    """The history of bulk actions: who did what to how many tasks, why, and how far it got."""

    model = Operation
    filterset_class = OperationFilterSet
    title = "Operations"
    select_related = ("actor", "request")
    columns = [
        ("#", link),
        ("Action", "action"),
        ("Who", "actor"),
        ("Status", lambda o: status_badge(o.status)),
        ("Progress", operation_progress_bar),
        ("Tasks", lambda o: intcomma(o.total)),
        ("Changed", lambda o: intcomma(o.done)),
        ("Skipped", lambda o: intcomma(o.skipped)),
        ("Failed", lambda o: intcomma(o.failed)),
        ("Request", lambda o: link(o.request, f"request {o.request_id}") if o.request_id else ""),
        ("Comment", lambda o: o.comment[:80]),
        ("Created", lambda o: o.created.strftime("%Y-%m-%d %H:%M")),
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
    context = pages.task_context(request.user, pk)
    context["summary"] = task_error_summary(context["task"])  # for the errors section (tasks/inc/error_summary.html)
    return render(request, "tasks/task_detail.html", context)


def job_detail(request, pk):
    return render(request, "tasks/job_detail.html", pages.job_context(request.user, pk))
