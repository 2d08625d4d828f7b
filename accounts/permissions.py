"""What each role may do. A viewer never trades and never sees secrets."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import Role

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class Perm(StrEnum):
    VIEW = "view"
    TRADE = "trade"
    MANAGE_ACCOUNTS = "manage_accounts"
    MANAGE_KEYS = "manage_keys"
    EXPORT = "export"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_BILLING = "manage_billing"


ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm),
    Role.EXPORTER: frozenset({Perm.VIEW, Perm.EXPORT}),
    Role.VIEWER: frozenset({Perm.VIEW}),
}


def role_has(role: str, perm: Perm) -> bool:
    return perm in ROLE_PERMISSIONS.get(role, frozenset())


class TokenScopeAllows(BasePermission):
    """A request made with an API token does only what the token's scope allows:
    `read` reads; `trade` also writes, except on views that say
    `scope_needed = "admin"` (connecting accounts, groups, risk rules); `admin`
    everything. A session or password request is judged by its role alone."""

    message = "This API token's scope does not allow that."

    def has_permission(self, request: Request, view: APIView) -> bool:
        from accounts.models import ApiToken
        from accounts.tokens import scope_allows

        token = request.auth
        if not isinstance(token, ApiToken):
            return True
        if request.method in SAFE_METHODS:
            needed = "read"
        else:
            needed = getattr(view, "scope_needed", "trade")
        if scope_allows(token.scope, needed):
            return True
        raise ScopeTooNarrow(
            f"This API token's scope is {token.scope}: {request.method} here needs "
            f"a {needed} token."
        )


class ScopeTooNarrow(PermissionDenied):
    tradeflow_code = "insufficient-scope"
