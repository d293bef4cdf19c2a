from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from deft import permissions

from . import actions as bulk
from .filtersets import ErrorCodeFilterSet, JobFilterSet, OperationFilterSet, TaskFilterSet
from .models import ErrorCode, Job, Operation, ProductionTask
from .serializers import (
    ErrorCodeSerializer,
    JobDetailSerializer,
    JobSerializer,
    OperationSerializer,
    TaskActionSerializer,
    TaskSerializer,
)


class TaskViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TaskSerializer
    filterset_class = TaskFilterSet

    def get_queryset(self):
        qs = ProductionTask.objects.select_related("group", "ptag", "input_dataset").order_by("-id")
        return permissions.visible(self.request.user, qs)

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


class JobViewSet(viewsets.ReadOnlyModelViewSet):
    filterset_class = JobFilterSet

    def get_serializer_class(self):
        return JobDetailSerializer if self.action == "retrieve" else JobSerializer

    def get_queryset(self):
        qs = Job.objects.select_related("site").order_by("-id")
        if self.action == "retrieve":
            qs = qs.prefetch_related("outputs")
        return permissions.visible(self.request.user, qs)


class OperationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = OperationSerializer
    filterset_class = OperationFilterSet

    def get_queryset(self):
        return permissions.visible(self.request.user, Operation.objects.select_related("actor"))


class ErrorCodeViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ErrorCodeSerializer
    filterset_class = ErrorCodeFilterSet

    def get_queryset(self):
        return permissions.visible(self.request.user, ErrorCode.objects.all())
