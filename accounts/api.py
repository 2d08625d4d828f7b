"""API-side tenant scope: one mixin for every DRF view that lists workspace rows."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.request import Request

from accounts.permissions import Perm
from accounts.scoping import WorkspaceScopedQuerySet


class WorkspaceScopedMixin:
    """`get_queryset()` narrowed to the workspaces where the user may `perm`."""

    request: Request
    queryset: WorkspaceScopedQuerySet[Any]
    perm: Perm = Perm.VIEW

    def get_queryset(self) -> QuerySet[Any]:
        return self.queryset.all().for_user(self.request.user, self.perm)
