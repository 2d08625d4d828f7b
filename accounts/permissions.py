"""What each role may do. A viewer never trades and never sees secrets."""

from __future__ import annotations

from enum import StrEnum

from accounts.models import Role


class Perm(StrEnum):
    VIEW = "view"
    TRADE = "trade"
    MANAGE_ACCOUNTS = "manage_accounts"
    MANAGE_KEYS = "manage_keys"
    EXPORT = "export"
    MANAGE_MEMBERS = "manage_members"


ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm),
    Role.EXPORTER: frozenset({Perm.VIEW, Perm.EXPORT}),
    Role.VIEWER: frozenset({Perm.VIEW}),
}


def role_has(role: str, perm: Perm) -> bool:
    return perm in ROLE_PERMISSIONS.get(role, frozenset())
