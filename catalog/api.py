from django.db.models import Q, Sum
from rest_framework import viewsets

from deft import permissions

from .filtersets import DatasetFilterSet, EndpointFilterSet, SiteFilterSet
from .models import Dataset, Site, StorageEndpoint
from .serializers import DatasetSerializer, EndpointSerializer, SiteSerializer


class SiteViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SiteSerializer
    filterset_class = SiteFilterSet

    def get_queryset(self):
        # PRODDISK usage: where unmerged outputs wait for their merge (they are deleted after it).
        proddisk = Sum("endpoints__used_bytes", filter=Q(endpoints__token_type="PRODDISK"), default=0)
        return permissions.visible(
            self.request.user, Site.objects.annotate(proddisk_used_bytes=proddisk).order_by("name")
        )


class EndpointViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = EndpointSerializer
    filterset_class = EndpointFilterSet

    def get_queryset(self):
        return permissions.visible(self.request.user, StorageEndpoint.objects.select_related("site"))


class DatasetViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DatasetSerializer
    filterset_class = DatasetFilterSet

    def get_queryset(self):
        return permissions.visible(self.request.user, Dataset.objects.order_by("name"))
