from rest_framework import serializers

from .models import ProductionRequest, PTag, Slice


class PTagSerializer(serializers.ModelSerializer):
    formats = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = PTag
        fields = ["id", "name", "cache", "transform", "step_name", "formats", "format_params", "memory_mb"]


class SliceSerializer(serializers.ModelSerializer):
    ptag = serializers.SlugRelatedField(slug_field="name", read_only=True)
    formats = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Slice
        fields = [
            "id",
            "position",
            "dataset",
            "dataset_name",
            "ptag",
            "formats",
            "skim",
            "train",
            "events_per_job",
            "priority",
            "comment",
        ]


class RequestSerializer(serializers.ModelSerializer):
    group = serializers.SlugRelatedField(slug_field="name", read_only=True)
    requester = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ProductionRequest
        fields = [
            "id",
            "group",
            "requester",
            "description",
            "status",
            "ticket",
            "project",
            "priority",
            "destination",
            "created",
            "updated",
        ]
