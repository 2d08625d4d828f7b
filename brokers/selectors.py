"""Reads for broker accounts, orders and positions, always tenant-scoped."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from accounts.permissions import Perm
from accounts.scoping import AnyUser, user_can
from brokers.models import BrokerAccount, Order, Position
from common.http import parse_id


def accounts_for_user(user: AnyUser) -> QuerySet[BrokerAccount]:
    # A MetaTrader account's page line says how its Expert Advisor is.
    return (
        BrokerAccount.objects.for_user(user).select_related("terminal").order_by("pk")
    )


def account_for_user_or_404(
    user: AnyUser,
    pk: object,
    perm: Perm = Perm.VIEW,
    *,
    workspace_id: int | None = None,
) -> BrokerAccount:
    """The account `pk` if the user sees it, else 404 (an outsider never learns
    it exists); 403 when the user sees it but may not `perm` it. With
    `workspace_id`, an account of another workspace is 404 too.

    The one "account for this user" of every boundary: pages, API views (DRF
    turns both errors into its 404 and 403), forms that name an account.
    """
    text, number = str(pk), parse_id(pk)
    account = (
        BrokerAccount.objects.for_user(user)
        .select_related("workspace")
        .filter(pk=number)
        .first()
        if number is not None
        else None
    )
    if account is None or workspace_id not in (None, account.workspace_id):
        raise Http404(f"No account {text[:20]!r} here.")
    if not user_can(user, account.workspace, perm):
        raise PermissionDenied(f"Your role cannot do this on {account.name}.")
    return account


def open_positions_for_user(user: AnyUser) -> QuerySet[Position]:
    return (
        Position.objects.for_user(user)
        .exclude(quantity=0)
        .select_related("account")
        .order_by("account_id", "symbol")
    )


def recent_orders_for_user(user: AnyUser, limit: int = 20) -> QuerySet[Order]:
    return Order.objects.for_user(user).select_related("account")[:limit]
