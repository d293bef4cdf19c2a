"""One FilterSet per model, shared by the list page, the bulk "select all matching" and the API."""

import django_filters
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from deft.api import PatternFilter, StrictFilterSet
from tasks.models import ErrorClass, ErrorCode, ErrorSource, Job, JobType, Operation, ProductionTask
from tasks.states import TASK_STATUS_GROUPS, JobStatus, OperationStatus, TaskStatus


class StableOrderingFilter(django_filters.OrderingFilter):
    """Sorting by a column with ties (status, priority) still pages stably: the id breaks the ties."""

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        return qs.order_by(*qs.query.order_by, "-id") if value else qs


STATUS_CHOICES = list(TaskStatus.choices) + [(g, f"{g} (group)") for g in TASK_STATUS_GROUPS]


class TaskFilterSet(StrictFilterSet):
    request = django_filters.NumberFilter(field_name="request_id")
    group = django_filters.CharFilter(field_name="group__name", help_text="group name, e.g. PHYS-SUSY")
    status = django_filters.MultipleChoiceFilter(
        choices=STATUS_CHOICES,
        method="filter_status",
        help_text="a status or a status group (active, final ...)",
    )
    ptag = django_filters.CharFilter(field_name="ptag__name")
    format = django_filters.CharFilter(method="filter_format", help_text="an output format, e.g. DAOD_SUSY1")
    project = django_filters.CharFilter()
    priority_min = django_filters.NumberFilter(field_name="priority", lookup_expr="gte")
    priority_max = django_filters.NumberFilter(field_name="priority", lookup_expr="lte")
    name = PatternFilter(field_name="name", help_text="pattern with * wildcards")
    created_after = django_filters.IsoDateTimeFilter(field_name="created", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created", lookup_expr="lt")
    ordering = StableOrderingFilter(
        fields=["id", "name", "status", "priority", "created", "updated", "events_total", "events_done"]
    )

    # By id: a model choice would render every slice and dataset (100,000 options) into the filter form.
    slice = django_filters.NumberFilter(field_name="slice_id")
    input_dataset = django_filters.NumberFilter(field_name="input_dataset_id")

    class Meta:
        model = ProductionTask
        fields = []

    def filter_status(self, qs, name, values):
        statuses = set()
        for value in values:
            statuses |= set(TASK_STATUS_GROUPS.get(value, {value}))
        return qs.filter(status__in=sorted(statuses))

    def filter_format(self, qs, name, value):
        # JSON containment is not portable to SQLite; the quoted name inside the JSON text is.
        return qs.annotate(_formats=Cast("formats", TextField())).filter(_formats__contains=f'"{value}"')


class JobFilterSet(StrictFilterSet):
    task = django_filters.NumberFilter(field_name="task_id")
    status = django_filters.MultipleChoiceFilter(choices=JobStatus.choices)
    job_type = django_filters.ChoiceFilter(choices=JobType.choices)
    step = django_filters.ChoiceFilter(field_name="job_type", choices=JobType.choices, help_text="alias of job_type")
    site = django_filters.CharFilter(field_name="site__name")
    error_class = django_filters.ChoiceFilter(choices=ErrorClass.choices)
    error_source = django_filters.ChoiceFilter(choices=ErrorSource.choices)
    error_code = django_filters.NumberFilter()
    ended_after = django_filters.IsoDateTimeFilter(field_name="ended_at", lookup_expr="gte")
    group = django_filters.CharFilter(field_name="task__group__name")
    request = django_filters.NumberFilter(field_name="task__request_id")
    ptag = django_filters.CharFilter(field_name="task__ptag__name")

    class Meta:
        model = Job
        fields = ["attempt"]


class ErrorCodeFilterSet(StrictFilterSet):
    source = django_filters.ChoiceFilter(choices=ErrorSource.choices)
    error_class = django_filters.ChoiceFilter(choices=ErrorClass.choices)
    q = django_filters.CharFilter(method="filter_text", help_text="words in the name or description")

    class Meta:
        model = ErrorCode
        fields = ["code", "retry_action"]

    def filter_text(self, qs, name, value):
        return qs.filter(Q(name__icontains=value) | Q(description__icontains=value))


class OperationFilterSet(StrictFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=OperationStatus.choices)
    actor = django_filters.CharFilter(field_name="actor__username")

    class Meta:
        model = Operation
        fields = ["action", "request"]
