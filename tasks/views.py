from django.contrib.humanize.templatetags.humanize import intcomma

from deft.generic import link, render_detail, status_badge
from deft.views import ObjectListView

from .error_summary import task_error_summary
from .filtersets import ErrorCodeFilterSet, OperationFilterSet, TaskFilterSet
from .models import ErrorCode, Job, Operation, ProductionTask


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
    return render_detail(
        request,
        model=ProductionTask,
        pk=pk,
        title=lambda t: f"Task {t.pk}",
        queryset=ProductionTask.objects.select_related("group", "ptag", "input_dataset", "request"),
        fields=[
            ("Name", lambda t: t.name),
            ("Request", lambda t: link(t.request)),
            ("Group", lambda t: t.group),
            ("Status", lambda t: status_badge(t.status)),
            ("Input", lambda t: link(t.input_dataset, t.input_dataset.name)),
            ("p-tag", lambda t: t.ptag),
            ("Formats", lambda t: ", ".join(t.formats)),
            ("Priority", lambda t: t.priority),
            ("Destination", lambda t: t.destination),
            ("Events (merged / input)", lambda t: f"{intcomma(t.events_done)} / {intcomma(t.events_total)}"),
            ("Message", lambda t: t.error_dialog),
        ],
        template="tasks/task_detail.html",
        extra=lambda t: {"error_summary": task_error_summary(t)},
        tables=[
            (
                "Jobs",
                ["#", "Step", "Status", "Attempt", "Site", "Events", "Error"],
                lambda t: [
                    (
                        link(j),
                        j.job_type,
                        status_badge(j.status),
                        j.attempt,
                        j.site,
                        j.nevents,
                        f"{j.error_source}:{j.error_code}" if j.error_code is not None else "",
                    )
                    for j in t.jobs.select_related("site").order_by("id")[:500]
                ],
            )
        ],
    )


def job_detail(request, pk):
    return render_detail(
        request,
        model=Job,
        pk=pk,
        title=lambda j: f"{j.job_type} job {j.pk}",
        queryset=Job.objects.select_related("task", "site"),
        fields=[
            ("Task", lambda j: link(j.task, j.task.name)),
            ("Step", lambda j: j.job_type),
            ("Status", lambda j: status_badge(j.status)),
            ("Attempt", lambda j: j.attempt),
            ("Site", lambda j: j.site),
            ("Events", lambda j: j.nevents),
            ("Error", lambda j: f"{j.error_source}:{j.error_code} {j.error_class}" if j.error_source else ""),
            ("Diagnostic", lambda j: j.error_diag),
        ],
        tables=[
            (
                "Outputs",
                ["LFN", "Format", "Merged", "Events", "Bytes"],
                lambda j: [(o.lfn, o.format, o.merged, o.events, o.bytes) for o in j.outputs.all()],
            )
        ],
    )


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
