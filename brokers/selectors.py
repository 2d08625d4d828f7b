"""Reads for broker accounts, orders and positions, always tenant-scoped."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.scoping import AnyUser
from brokers.models import BrokerAccount, Order, Position


def accounts_for_user(user: AnyUser) -> QuerySet[BrokerAccount]:
    return BrokerAccount.objects.for_user(user).order_by("pk")


def open_positions_for_user(user: AnyUser) -> QuerySet[Position]:
    return (
        Position.objects.for_user(user)
        .exclude(quantity=0)
        .select_related("account")
        .order_by("account_id", "symbol")
    )


def recent_orders_for_user(user: AnyUser, limit: int = 20) -> QuerySet[Order]:
    return Order.objects.for_user(user).select_related("account")[:limit]
