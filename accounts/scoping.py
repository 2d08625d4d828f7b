"""Tenant scope, one helper per boundary.

- Querysets: `Model.objects.for_user(user, perm)` / `.for_workspace(workspace)`.
- Pages: `get_for_user_or_404(queryset, user, perm, **lookup)`; an outsider gets 404.
- API: `accounts.api.WorkspaceScopedMixin` builds on `for_user`.
- Tasks: they receive ids and re-fetch through `for_workspace` of the row they act on.
- Websocket groups: `common.realtime.workspace_group(id)` / `user_group(id)`.
"""

from __future__ import annotations

from typing import Any, Self, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.http import Http404, HttpRequest

from accounts.models import Membership, Role, User, Workspace
from accounts.permissions import ROLE_PERMISSIONS, Perm

M = TypeVar("M", bound=models.Model)

AnyUser = User | AnonymousUser


def roles_with(perm: Perm) -> list[str]:
    return [role for role, perms in ROLE_PERMISSIONS.items() if perm in perms]


class WorkspaceScopedQuerySet(models.QuerySet[M]):
    """For models with a `workspace` foreign key."""

    def for_workspace(self, workspace: Workspace | int) -> Self:
        return self.filter(workspace=workspace)

    def for_user(self, user: AnyUser, perm: Perm = Perm.VIEW) -> Self:
        if not user.is_authenticated:
            return self.none()
        return self.filter(
            workspace__memberships__user=user,
            workspace__memberships__role__in=roles_with(perm),
        )


def workspaces_for(user: AnyUser, perm: Perm = Perm.VIEW) -> models.QuerySet[Workspace]:
    if not user.is_authenticated:
        return Workspace.objects.none()
    return Workspace.objects.filter(
        memberships__user=user, memberships__role__in=roles_with(perm)
    ).order_by("pk")


def get_for_user_or_404(
    queryset: WorkspaceScopedQuerySet[M],
    user: AnyUser,
    perm: Perm = Perm.VIEW,
    **lookup: Any,
) -> M:
    """The object if the user may `perm` it, else 404 (never 403: no existence leak)."""
    try:
        return queryset.for_user(user, perm).get(**lookup)
    except (ObjectDoesNotExist, ValueError):
        raise Http404 from None


def current_workspace(request: HttpRequest, perm: Perm = Perm.VIEW) -> Workspace:
    """The workspace the request acts in: the one chosen in the session, else the first.

    Raises 404 when the user has no workspace where they may `perm`.
    """
    candidates = workspaces_for(request.user, perm)
    chosen = request.session.get("workspace_id")
    workspace = (chosen and candidates.filter(pk=chosen).first()) or candidates.first()
    if workspace is None:
        raise Http404("No workspace where you may do this.")
    return workspace


def member_role(user: AnyUser, workspace: Workspace) -> str | None:
    if not user.is_authenticated:
        return None
    membership = Membership.objects.filter(user=user, workspace=workspace).first()
    return membership.role if membership else None


def user_can(user: AnyUser, workspace: Workspace, perm: Perm) -> bool:
    role = member_role(user, workspace)
    return role is not None and perm in ROLE_PERMISSIONS.get(role, frozenset())


__all__ = [
    "Role",
    "WorkspaceScopedQuerySet",
    "current_workspace",
    "get_for_user_or_404",
    "user_can",
    "workspaces_for",
]


def admin_emails(workspace_id: int) -> list[str]:
    """Where a workspace's alarms go: its admins' addresses."""
    return list(
        Membership.objects.filter(
            workspace_id=workspace_id, role=Role.ADMIN
        ).values_list("user__email", flat=True)
    )
