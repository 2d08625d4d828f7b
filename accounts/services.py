"""Writes for users and workspaces."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Membership, Role, User, Workspace


@transaction.atomic
def workspace_create(*, owner: User, name: str = "") -> Workspace:
    """Create a workspace with `owner` as its admin."""
    workspace = Workspace.objects.create(name=name or f"{owner.email}'s workspace")
    Membership.objects.create(workspace=workspace, user=owner, role=Role.ADMIN)
    return workspace


def membership_set(*, workspace: Workspace, user: User, role: Role) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        workspace=workspace, user=user, defaults={"role": role}
    )
    return membership


def user_ensure_workspace(*, user: User) -> Workspace:
    """The user's first workspace, created if they have none (idempotent)."""
    existing = Workspace.objects.filter(memberships__user=user).order_by("pk").first()
    return existing or workspace_create(owner=user)
