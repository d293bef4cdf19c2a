from deft.viewsets import RestrictedReadOnlyViewSet

from .filtersets import GroupFilterSet
from .models import PhysicsGroup
from .serializers import GroupSerializer


class GroupViewSet(RestrictedReadOnlyViewSet):
    serializer_class = GroupSerializer
    filterset_class = GroupFilterSet

    def base_queryset(self):
        qs = PhysicsGroup.objects.prefetch_related("memberships__user").order_by("name")
        return qs
