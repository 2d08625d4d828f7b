"""API-side tenant scope: one mixin for every DRF view that lists workspace rows."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.generics import GenericAPIView

from accounts.permissions import Perm
from accounts.scoping import WorkspaceScopedQuerySet


class WorkspaceScopedMixin(GenericAPIView[Any]):
    """`get_queryset()` narrowed to the workspaces where the user may `perm`."""

    perm: Perm = Perm.VIEW

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset()
        assert isinstance(queryset, WorkspaceScopedQuerySet)
        return queryset.for_user(self.request.user, self.perm)
