from rest_framework import viewsets

from . import permissions
from .filtersets import GroupFilterSet
from .models import PhysicsGroup
from .serializers import GroupSerializer


class GroupViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = GroupSerializer
    filterset_class = GroupFilterSet

    def get_queryset(self):
        qs = PhysicsGroup.objects.prefetch_related("memberships__user").order_by("name")
        return permissions.visible(self.request.user, qs)
