from rest_framework import serializers

from .models import PhysicsGroup


class GroupSerializer(serializers.ModelSerializer):
    managers = serializers.SerializerMethodField()

    class Meta:
        model = PhysicsGroup
        fields = ["id", "name", "code", "egroup", "priority_cap", "destination", "auto_approve", "managers"]

    def get_managers(self, group) -> list[str]:
        return [m.user.username for m in group.memberships.all() if m.role == "group_manager"]
