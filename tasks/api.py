from django.core.exceptions import PermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from deft import permissions
from deft.viewsets import RestrictedModelViewSet, RestrictedReadOnlyViewSet
from tasks.errors import rules as error_rules
from tasks.errors.summaries import SummaryFilters, errors_summary, parse_since, task_error_summary
from tasks.filtersets import ErrorCodeFilterSet, JobFilterSet, OperationFilterSet, TaskFilterSet
from tasks.models import ErrorClass, ErrorCode, ErrorRule, Job, Operation, ProductionTask
from tasks.operations import task_actions as bulk
from tasks.serializers import (
    ErrorCodeSerializer,
    ErrorRuleSerializer,
    JobDetailSerializer,
    JobSerializer,
    OperationSerializer,
    ReorderSerializer,
    TaskActionSerializer,
    TaskSerializer,
)


class TaskViewSet(RestrictedReadOnlyViewSet):
    serializer_class = TaskSerializer
    filterset_class = TaskFilterSet

    def base_queryset(self):
        qs = ProductionTask.objects.select_related("group", "ptag", "input_dataset").order_by("-id")
        return qs

    @extend_schema(request=TaskActionSerializer, responses={202: OperationSerializer})
    @action(detail=False, methods=["post"], url_path="actions", filterset_class=None, pagination_class=None)
    def actions(self, request):
        """Start a bulk action on tasks chosen by ids or by a filter: 202 and the Operation, at once."""
        data = TaskActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        try:
            op = bulk.operation_start(
                actor=request.user,
                action=given["action"],
                task_ids=given.get("task_ids"),
                filters=given.get("filter"),
                params=given.get("params"),
                comment=given.get("comment", ""),
            )
        except bulk.ActionInputError as exc:
            raise exceptions.ValidationError(exc.errors) from None
        except PermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        headers = {"Location": f"/api/operations/{op.pk}/"}
        return Response(OperationSerializer(op).data, status=status.HTTP_202_ACCEPTED, headers=headers)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"], url_path="errors", filterset_class=None, pagination_class=None)
    def errors(self, request, pk=None):
        """The task's failed jobs by error code and class: counts, one example diagnostic, the sites."""
        return Response(task_error_summary(self.get_object()))


class JobViewSet(RestrictedReadOnlyViewSet):
    filterset_class = JobFilterSet

    def get_serializer_class(self):
        return JobDetailSerializer if self.action == "retrieve" else JobSerializer

    def base_queryset(self):
        qs = Job.objects.select_related("site").order_by("-id")
        if self.action == "retrieve":
            qs = qs.prefetch_related("outputs")
        return qs


class OperationViewSet(RestrictedReadOnlyViewSet):
    serializer_class = OperationSerializer
    filterset_class = OperationFilterSet

    def base_queryset(self):
        return Operation.objects.select_related("actor")


class ErrorCodeViewSet(RestrictedReadOnlyViewSet):
    serializer_class = ErrorCodeSerializer
    filterset_class = ErrorCodeFilterSet

    def base_queryset(self):
        return ErrorCode.objects.all()


class ErrorRuleViewSet(RestrictedModelViewSet):
    """Diagnostic rules, in the order they are tried. Everyone reads; production managers change them."""

    serializer_class = ErrorRuleSerializer
    filterset_fields = ["source", "code", "active"]

    def base_queryset(self):
        qs = ErrorRule.objects.select_related("created_by").order_by("position", "id")
        return qs

    def perform_create(self, serializer):
        serializer.instance = error_rules.error_rule_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        rule = error_rules.error_rule_update(
            rule=serializer.instance, actor=self.request.user, **serializer.validated_data
        )
        serializer.instance = rule

    def perform_destroy(self, instance):
        error_rules.error_rule_delete(rule=instance, actor=self.request.user)

    @action(detail=False, methods=["post"], serializer_class=ReorderSerializer)
    def reorder(self, request):
        """Put the given rule ids first, in that order (the others keep their order after them)."""
        payload = ReorderSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        order = error_rules.error_rules_reorder(actor=request.user, rule_ids=payload.validated_data["rule_ids"])
        return Response({"order": order})


class ErrorSummaryView(APIView):
    """Failed jobs that ended in a window (`since`: 1h, 24h, 7d ...) by code x site, and site failure rates."""

    @extend_schema(
        parameters=[
            OpenApiParameter("since", str, description="window: a number and m, h or d (1h, 24h, 7d); at most 30d"),
            OpenApiParameter("error_class", str, enum=list(ErrorClass.values)),
            OpenApiParameter("group", str, description="group name, e.g. PHYS-SUSY"),
            OpenApiParameter("request", int),
            OpenApiParameter("ptag", str),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        window, filters = summary_params(request.query_params)
        jobs = permissions.visible(request.user, Job.objects.all())
        summary = errors_summary(jobs=jobs, window=window, filters=filters)
        return Response({"since": request.query_params.get("since", "24h"), **summary}, status=status.HTTP_200_OK)


def summary_params(params) -> tuple:
    """(window, SummaryFilters) from query parameters; a 400 naming the parameter otherwise."""
    try:
        window = parse_since(params.get("since"))
    except ValueError as exc:
        raise exceptions.ValidationError({"since": [str(exc)]}) from None
    error_class = params.get("error_class", "")
    if error_class and error_class not in ErrorClass.values:
        raise exceptions.ValidationError({"error_class": [f"expected one of {', '.join(ErrorClass.values)}"]})
    request_id = params.get("request") or None
    if request_id is not None and not str(request_id).isdigit():
        raise exceptions.ValidationError({"request": ["expected a request number"]})
    filters = SummaryFilters(
        error_class=error_class,
        group=params.get("group", ""),
        request=int(request_id) if request_id else None,
        ptag=params.get("ptag", ""),
    )
    return window, filters
