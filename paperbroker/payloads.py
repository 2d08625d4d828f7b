"""Seed 003's JSON shapes for accounts, orders and fills (API and websocket)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from brokers.instruments.resolve import SymbolError
from paperbroker.accounting import PositionState, account_state, instrument_for
from paperbroker.models import PaperAccount, PaperFill, PaperOrder
from paperbroker.selectors import (
    account_last_updated,
    cents,
    public_account_id,
    public_order_id,
)

ENGINE = "simulator"


def _asset_type(symbol: str) -> str:
    try:
        return str(instrument_for(symbol).asset_class)
    except SymbolError:
        return "unknown"


def _position_body(position: PositionState) -> dict[str, Any]:
    return {
        "symbol": position.symbol,
        "asset_type": position.asset_type,
        "quantity": position.quantity,
        "avg_price": position.avg_price,
        "market_price": position.market_price,
        "unrealized_pnl": cents(position.unrealized_pnl),
        "multiplier": position.multiplier,
    }


def account_body(account: PaperAccount) -> dict[str, Any]:
    state = account_state(account)
    return {
        "id": public_account_id(account),
        "name": account.broker_account.name,
        "broker": ENGINE,
        "mode": ENGINE,
        "currency": account.currency,
        "initial_balance": cents(account.initial_balance),
        "current_balance": cents(state.cash),
        "equity": cents(state.equity),
        "day_pnl": cents(state.day_pnl),
        "total_pnl": cents(state.total_pnl),
        "buying_power": cents(state.buying_power),
        "positions": {p.symbol: _position_body(p) for p in state.positions},
        "created_at": account.created_at,
        "last_updated": account_last_updated(account),
    }


class OrderOut(serializers.ModelSerializer[PaperOrder]):
    id = serializers.SerializerMethodField()
    account_id = serializers.SerializerMethodField()
    asset_type = serializers.SerializerMethodField()
    action = serializers.CharField(source="side")
    price = serializers.SerializerMethodField()
    broker = serializers.SerializerMethodField()

    class Meta:
        model = PaperOrder
        fields = [
            "id",
            "account_id",
            "symbol",
            "asset_type",
            "action",
            "order_type",
            "quantity",
            "price",
            "filled_quantity",
            "avg_fill_price",
            "status",
            "broker",
            "strategy",
            "comment",
            "created_at",
            "filled_at",
            "time_in_force",
            "stop_price",
            "reject_reason",
        ]

    def get_id(self, order: PaperOrder) -> str:
        return public_order_id(order)

    def get_account_id(self, order: PaperOrder) -> str:
        return public_account_id(order.account)

    def get_asset_type(self, order: PaperOrder) -> str:
        return _asset_type(order.symbol)

    def get_price(self, order: PaperOrder) -> Decimal | None:
        return order.limit_price if order.limit_price is not None else order.stop_price

    def get_broker(self, order: PaperOrder) -> str:
        return ENGINE


class FillOut(serializers.ModelSerializer[PaperFill]):
    id = serializers.SerializerMethodField()
    order_id = serializers.SerializerMethodField()
    account_id = serializers.SerializerMethodField()
    side = serializers.CharField()  # one enum name for buy/sell: the alert's action
    timestamp = serializers.DateTimeField(source="filled_at")
    broker = serializers.SerializerMethodField()

    class Meta:
        model = PaperFill
        fields = [
            "id",
            "order_id",
            "account_id",
            "symbol",
            "side",
            "quantity",
            "price",
            "commission",
            "fees",
            "slippage",
            "timestamp",
            "broker",
        ]

    def get_id(self, fill: PaperFill) -> str:
        return f"fill_{fill.pk}"

    def get_order_id(self, fill: PaperFill) -> str:
        return public_order_id(fill.order)

    def get_account_id(self, fill: PaperFill) -> str:
        return public_account_id(fill.account)

    def get_broker(self, fill: PaperFill) -> str:
        return ENGINE
