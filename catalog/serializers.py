from rest_framework import serializers

from .models import Dataset, Site, StorageEndpoint


class SiteSerializer(serializers.ModelSerializer):
    proddisk_used_bytes = serializers.IntegerField(read_only=True, help_text="bytes of unmerged outputs on PRODDISK")

    class Meta:
        model = Site
        fields = ["id", "name", "tier", "cloud", "slots", "events_per_second", "online", "proddisk_used_bytes"]


class EndpointSerializer(serializers.ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="name", read_only=True)
    tier = serializers.CharField(source="site.tier", read_only=True)
    free_bytes = serializers.IntegerField(read_only=True)

    class Meta:
        model = StorageEndpoint
        fields = [
            "id",
            "name",
            "site",
            "tier",
            "token_type",
            "physgroup",
            "capacity_bytes",
            "used_bytes",
            "free_bytes",
            "available",
            "attributes",
        ]


class DatasetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dataset
        fields = [
            "id",
            "name",
            "project",
            "number",
            "physics_short",
            "prod_step",
            "data_type",
            "tags",
            "is_container",
            "events",
            "files",
            "bytes",
            "status",
            "created",
        ]
