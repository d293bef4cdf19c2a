import django_filters

from deft.api import PatternFilter, StrictFilterSet

from .models import Dataset, Site, StorageEndpoint, Tier, TokenType


class DatasetFilterSet(StrictFilterSet):
    name = PatternFilter(field_name="name", help_text="pattern with * wildcards, e.g. mc14_8TeV.*.AOD.*")
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
