from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html

from deft.generic import ObjectListView, link, render_detail

from .filtersets import DatasetFilterSet, EndpointFilterSet
from .models import Dataset, Site, StorageEndpoint


def members_link(dataset):
    """A container expands to its datasets."""
    if not dataset.is_container:
        return ""
    return format_html('<a href="?in_container={}">its datasets</a>', dataset.pk)


class DatasetListView(ObjectListView):
    """Dataset search: patterns and filters; group managers tick datasets into a request."""

    model = Dataset
    filterset_class = DatasetFilterSet
    title = "Datasets"
    template_name = "catalog/dataset_search.html"
    ordering = ("name",)
    columns = [
        ("Name", lambda d: link(d, d.name)),
        ("Container", members_link),
        ("Type", "data_type"),
        ("Events", lambda d: intcomma(d.events)),
        ("Files", "files"),
        ("Size", lambda d: filesizeformat(d.bytes)),
        ("Status", "status"),
    ]


class EndpointListView(ObjectListView):
    model = StorageEndpoint
    filterset_class = EndpointFilterSet
    title = "Storage endpoints"
    select_related = ("site",)
    ordering = ("name",)
    columns = [
        ("Name", lambda e: link(e, e.name)),
        ("Site", "site"),
        ("Token", "token_type"),
        ("Group", "physgroup"),
        ("Used", lambda e: filesizeformat(e.used_bytes)),
        ("Free", lambda e: filesizeformat(e.free_bytes)),
        ("Available", "available"),
    ]


def dataset_detail(request, pk):
    return render_detail(
        request,
        model=Dataset,
        pk=pk,
        title=lambda d: d.name,
        fields=[
            ("Project", lambda d: d.project),
            ("Number", lambda d: d.number),
            ("Physics short name", lambda d: d.physics_short),
            ("Production step", lambda d: d.prod_step),
            ("Data type", lambda d: d.data_type),
            ("Tags", lambda d: d.tags),
            ("Container", lambda d: d.is_container),
            ("Events", lambda d: intcomma(d.events)),
            ("Files", lambda d: d.files),
            ("Size", lambda d: filesizeformat(d.bytes)),
            ("Status", lambda d: d.status),
        ],
        tables=[
            (
                "Files",
                ["LFN", "Events", "Size", "Lumiblocks"],
                lambda d: [
                    (f.lfn, intcomma(f.events), filesizeformat(f.bytes), len(f.lumiblocks))
                    for f in d.file_set.all()[:200]
                ],
            ),
            ("Members", ["Dataset"], lambda d: [(m.name,) for m in d.members.all()[:200]]),
        ],
    )


def site_detail(request, pk):
    return render_detail(
        request,
        model=Site,
        pk=pk,
        title=lambda s: f"Site {s.name}",
        fields=[
            ("Tier", lambda s: s.tier),
            ("Cloud", lambda s: s.cloud),
            ("Slots", lambda s: s.slots),
            ("Events/s per slot", lambda s: s.events_per_second),
            ("Online", lambda s: s.online),
        ],
        tables=[
            (
                "Storage endpoints",
                ["Name", "Token", "Used", "Free"],
                lambda s: [
                    (e.name, e.token_type, filesizeformat(e.used_bytes), filesizeformat(e.free_bytes))
                    for e in s.endpoints.all()
                ],
            )
        ],
    )


def endpoint_detail(request, pk):
    return render_detail(
        request,
        model=StorageEndpoint,
        pk=pk,
        title=lambda e: e.name,
        queryset=StorageEndpoint.objects.select_related("site"),
        fields=[
            ("Site", lambda e: e.site),
            ("Token type", lambda e: e.token_type),
            ("Physics group", lambda e: e.physgroup),
            ("Capacity", lambda e: filesizeformat(e.capacity_bytes)),
            ("Used", lambda e: filesizeformat(e.used_bytes)),
            ("Free", lambda e: filesizeformat(e.free_bytes)),
            ("Available", lambda e: e.available),
            ("Attributes", lambda e: e.attributes),
        ],
    )
