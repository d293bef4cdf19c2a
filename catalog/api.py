from django.db.models import Q, Sum

from deft.viewsets import RestrictedReadOnlyViewSet

from .filtersets import DatasetFilterSet, EndpointFilterSet, SiteFilterSet
from .models import Dataset, Site, StorageEndpoint
from .serializers import DatasetSerializer, EndpointSerializer, SiteSerializer


class SiteViewSet(RestrictedReadOnlyViewSet):
    serializer_class = SiteSerializer
    filterset_class = SiteFilterSet

    def base_queryset(self):
        # PRODDISK usage: where unmerged outputs wait for their merge (they are deleted after it).
        proddisk = Sum("endpoints__used_bytes", filter=Q(endpoints__token_type="PRODDISK"), default=0)
        return Site.objects.annotate(proddisk_used_bytes=proddisk).order_by("name")


class EndpointViewSet(RestrictedReadOnlyViewSet):
    serializer_class = EndpointSerializer
    filterset_class = EndpointFilterSet

    def base_queryset(self):
        return StorageEndpoint.objects.select_related("site")


class DatasetViewSet(RestrictedReadOnlyViewSet):
    serializer_class = DatasetSerializer
    filterset_class = DatasetFilterSet

    def base_queryset(self):
        return Dataset.objects.order_by("name")
