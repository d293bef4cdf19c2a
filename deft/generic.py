"""Helpers for the shared detail template: a title, a list of (label, value) fields, and related tables."""

from django.shortcuts import get_object_or_404, render
from django.utils.html import format_html

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
