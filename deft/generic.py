"""The generic pages every section builds on: a list of any FilterSet with a table, and the shared detail page."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils.html import format_html
from django.views import View

from . import permissions


def render_detail(
    request,
    *,
    model,
    pk,
    title,
    fields,
    tables=(),
    template="generic/object_detail.html",
    extra=None,
    queryset=None,
):
    """`fields` is a list of (label, callable(obj)); `tables` a list of (title, headers, rows_callable(obj))."""
    qs = permissions.visible(request.user, queryset if queryset is not None else model.objects.all())
    obj = get_object_or_404(qs, pk=pk)
    context = {
        "object": obj,
        "title": title(obj) if callable(title) else title,
        "fields": [(label, value(obj)) for label, value in fields],
        "tables": [(t, headers, rows(obj)) for t, headers, rows in tables],
        **(extra(obj) if extra else {}),
    }
    return render(request, template, context)


def link(obj, text=None):
    """A link to an object's page, showing `text` (its id by default)."""
    return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), obj.pk if text is None else text)


def status_badge(status):
    return format_html('<span class="status s-{0}">{0}</span>', status)


MAX_PAGE_SIZE = 500


def page_size_of(request, default=50) -> int:
    try:
        return max(1, min(int(request.GET.get("page_size", default)), MAX_PAGE_SIZE))
    except ValueError:
        return default


class ObjectListView(View):
    """Any FilterSet + a table of columns: `columns` are (title, attribute or callable) pairs."""

    model = None
    filterset_class = None
    columns: list = []
    title = ""
    template_name = "generic/object_list.html"
    select_related: tuple = ()
    ordering = ("-id",)

    def base_queryset(self, request):
        qs = self.model.objects.select_related(*self.select_related).order_by(*self.ordering)
        return permissions.visible(request.user, qs)

    def get(self, request):
        filterset = self.filterset_class(request.GET or None, queryset=self.base_queryset(request))
        if filterset.is_bound and not filterset.is_valid():
            context = {"view": self, "title": self.title, "filterset": filterset, "errors": filterset.errors}
            return render(request, self.template_name, context, status=400)
        page = Paginator(filterset.qs, page_size_of(request)).get_page(request.GET.get("page"))
        rows = [(obj, [self.cell(obj, c) for _, c in self.columns]) for obj in page.object_list]
        context = {
            "view": self,
            "title": self.title,
            "filterset": filterset,
            "page": page,
            "rows": rows,
            "headers": [t for t, _ in self.columns],
            **self.extra_context(request, filterset),
        }
        return render(request, self.template_name, context)

    def extra_context(self, request, filterset) -> dict:
        return {}

    @staticmethod
    def cell(obj, column):
        return column(obj) if callable(column) else getattr(obj, column)
