from rest_framework import viewsets

from deft import permissions

from .filtersets import ErrorCodeFilterSet, JobFilterSet, OperationFilterSet, TaskFilterSet
from .models import ErrorCode, Job, Operation, ProductionTask
from .serializers import (
    ErrorCodeSerializer,
    JobDetailSerializer,
    JobSerializer,
    OperationSerializer,
    TaskSerializer,
)


class TaskViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TaskSerializer
    filterset_class = TaskFilterSet

    def get_queryset(self):
        qs = ProductionTask.objects.select_related("group", "ptag", "input_dataset").order_by("-id")
        return permissions.visible(self.request.user, qs)


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
