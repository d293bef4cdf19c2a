from .api import PatternFilter, StrictFilterSet
from .models import PhysicsGroup


class GroupFilterSet(StrictFilterSet):
    name = PatternFilter(field_name="name")

    class Meta:
        model = PhysicsGroup
        fields = ["code", "auto_approve"]
