import django_filters

from deft.api import PatternFilter, StrictFilterSet

from .models import ProductionRequest, PTag, RequestStatus


class PTagFilterSet(StrictFilterSet):
    name = PatternFilter(field_name="name")

    class Meta:
        model = PTag
        fields = ["cache"]


class RequestFilterSet(StrictFilterSet):
    group = django_filters.CharFilter(field_name="group__name", help_text="group name, e.g. PHYS-SUSY")
    status = django_filters.MultipleChoiceFilter(choices=RequestStatus.choices)
    requester = django_filters.CharFilter(field_name="requester__username")
    description = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = ProductionRequest
        fields = ["project"]
