"""Cheap number formatting for the dashboards (Django's intcomma localises each call: too slow for big tables)."""

from django import template

register = template.Library()


@register.filter
def num(value):
    """1234567 -> "1,234,567"; None -> "—"."""
    if value is None or value == "":
        return "—"
    return f"{value:,.0f}" if isinstance(value, float) else f"{value:,}"


@register.filter
def pct(value):
    """A fraction 0..1 -> "12.3"."""
    return f"{100 * (value or 0):.1f}"


@register.filter
def width(percent):
    """A CSS width from a percent, always with a dot (floatformat localises: slow, and a comma breaks CSS)."""
    return f"{percent or 0:.2f}%"
