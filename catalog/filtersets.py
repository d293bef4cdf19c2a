import django_filters
from django.db import connection
from django.db.models.functions import Collate

from deft.api import PatternFilter, StrictFilterSet

from .models import Dataset, Site, StorageEndpoint, Tier, TokenType


class NamePatternFilter(PatternFilter):
    """A dataset name pattern, served by the trigram index on PostgreSQL.

    The matches are sorted by name with an expression ordering: otherwise the planner may walk the whole name
    index in order, filtering row by row (matching names cluster, e.g. every mc14_8TeV name sorts together, so
    its guess that 50 matches come early is wrong). "C" is byte order, the same as the C.UTF-8 default.
    """

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        if value and ("*" in value or "?" in value) and connection.vendor == "postgresql":
            qs = qs.order_by(Collate("name", "C"), "id")
        return qs


class DatasetFilterSet(StrictFilterSet):
    name = NamePatternFilter(field_name="name", help_text="pattern with * wildcards, e.g. mc14_8TeV.*.AOD.*")
    project = django_filters.CharFilter()
    data_type = django_filters.CharFilter()
    type = django_filters.CharFilter(field_name="data_type", help_text="alias of data_type")
    prod_step = django_filters.CharFilter()
    number_min = django_filters.NumberFilter(field_name="number", lookup_expr="gte")
    number_max = django_filters.NumberFilter(field_name="number", lookup_expr="lte")
    tag = django_filters.CharFilter(field_name="tags", lookup_expr="contains", help_text="a tag in the chain")
    is_container = django_filters.BooleanFilter()
    in_container = django_filters.NumberFilter(field_name="containers", help_text="the datasets of a container (id)")

    class Meta:
        model = Dataset
        fields = ["status"]


class EndpointFilterSet(StrictFilterSet):
    name = PatternFilter(field_name="name")
    site = django_filters.CharFilter(field_name="site__name")
    token_type = django_filters.ChoiceFilter(choices=TokenType.choices)
    tier = django_filters.ChoiceFilter(field_name="site__tier", choices=Tier.choices)

    class Meta:
        model = StorageEndpoint
        fields = ["physgroup", "available"]


class SiteFilterSet(StrictFilterSet):
    name = PatternFilter(field_name="name")
    tier = django_filters.ChoiceFilter(choices=Tier.choices)

    class Meta:
        model = Site
        fields = ["cloud", "online"]
