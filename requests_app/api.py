from rest_framework import viewsets

from deft import permissions

from .filtersets import PTagFilterSet, RequestFilterSet
from .models import ProductionRequest, PTag
from .serializers import PTagSerializer, RequestSerializer


class PTagViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PTagSerializer
    filterset_class = PTagFilterSet

    def get_queryset(self):
        return permissions.visible(self.request.user, PTag.objects.order_by("name"))


class RequestViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RequestSerializer
    filterset_class = RequestFilterSet

    def get_queryset(self):
        qs = ProductionRequest.objects.select_related("group", "requester").order_by("-id")
        return permissions.visible(self.request.user, qs)
