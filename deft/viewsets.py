"""API viewsets whose querysets always pass through the one permission policy."""

from rest_framework import viewsets

from deft import permissions


class RestrictedQuerysetMixin:
    """Every API queryset passes through the one policy: a viewset says what it reads in `base_queryset`."""

    def base_queryset(self):
        raise NotImplementedError

    def get_queryset(self):
        return permissions.visible(self.request.user, self.base_queryset())


class RestrictedReadOnlyViewSet(RestrictedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class RestrictedModelViewSet(RestrictedQuerysetMixin, viewsets.ModelViewSet):
    pass
