from django.contrib.auth import get_user_model
from rest_framework import serializers

from .models import Membership, PhysicsGroup


class MembershipSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    group = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "group", "role"]


class GroupSerializer(serializers.ModelSerializer):
    managers = serializers.SerializerMethodField()

    class Meta:
        model = PhysicsGroup
        fields = ["id", "name", "code", "egroup", "priority_cap", "destination", "auto_approve", "managers"]

    def get_managers(self, group) -> list[str]:
        return [m.user.username for m in group.memberships.all() if m.role == "group_manager"]


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "username"]
