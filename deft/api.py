"""Shared API pieces: pagination, errors that name what is wrong, and a pattern filter."""

import django_filters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000


def exception_handler(exc, context):
    """Django's own errors become clear 4xx answers instead of 500s."""
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


class PatternFilter(django_filters.CharFilter):
    """A name pattern with `*` wildcards, shared by datasets and tasks (a plain string matches exactly)."""

    def filter(self, qs, value):
        if not value:
            return qs
        if "*" in value or "?" in value:
            return qs.filter(**{f"{self.field_name}__glob": value})
        return qs.filter(**{self.field_name: value})


class StrictFilterSet(django_filters.FilterSet):
    """A FilterSet whose bad values are a 400 naming the field (never silently ignored, never a 500)."""

    @property
    def qs(self):
        if self.is_bound and not self.is_valid():
            raise exceptions.ValidationError(self.errors)
        return super().qs
