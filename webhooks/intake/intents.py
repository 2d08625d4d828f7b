"""The internal signal: what every accepted alert spelling is read into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from common.numbers import plain

MAX_QUANTITY = Decimal(1_000_000)
MAX_PRICE = Decimal(10) ** 12  # what an order's price column holds, with margin


class ParseError(Exception):
    def __init__(self, code: str, message: str, http_status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


@dataclass(frozen=True)
class Offset:
    """A stop-loss, take-profit or trail distance: a price, or a distance in a unit."""

    value: Decimal
    unit: str  # price | ticks | points | percent | dollars

    def as_payload(self) -> dict[str, str]:
        return {"value": plain(self.value), "unit": self.unit}

    @classmethod
    def from_payload(cls, data: dict[str, str] | None) -> Offset | None:
        return None if data is None else cls(Decimal(data["value"]), data["unit"])


@dataclass(frozen=True)
class Intent:
    action: str  # buy | sell | exit | flatten | cancel | reverse | add
    symbol: str | None
    quantity: Decimal | None = None
    quantity_type: str = "fixed"
    sentiment: str | None = None  # long | short | flat: the position wanted after
    target_size: Decimal | None = None  # signed position wanted after, if stated
    order_type: str = "market"
    price: Decimal | None = None  # the alert's price ({{close}}), for sizing
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trailing_stop: Offset | None = None
    stop_loss: Offset | None = None
    take_profit: Offset | None = None
    time_in_force: str = ""
    cancel_orders: bool = False
    sender_id: str | None = None
    sent_at: datetime | None = None
    comment: str = ""
    strategy: str | None = None  # botname / strategy named in the body
    group: str | None = None  # account_group / accountGroup named in the body
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def side(self) -> str | None:
        return self.action if self.action in ("buy", "sell") else None

    def as_payload(self) -> dict[str, Any]:
        """JSON-safe: Decimals as strings, times as ISO-8601."""
        data: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, Decimal):
                value = plain(value)
            elif isinstance(value, Offset):
                value = value.as_payload()
            elif isinstance(value, datetime):
                value = value.isoformat()
            data[name] = value
        return data

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Intent:
        def dec(name: str) -> Decimal | None:
            raw = data.get(name)
            return None if raw is None else Decimal(raw)

        sent_at = data.get("sent_at")
        return cls(
            action=data["action"],
            symbol=data.get("symbol"),
            quantity=dec("quantity"),
            quantity_type=data.get("quantity_type", "fixed"),
            sentiment=data.get("sentiment"),
            target_size=dec("target_size"),
            order_type=data.get("order_type", "market"),
            price=dec("price"),
            limit_price=dec("limit_price"),
            stop_price=dec("stop_price"),
            trailing_stop=Offset.from_payload(data.get("trailing_stop")),
            stop_loss=Offset.from_payload(data.get("stop_loss")),
            take_profit=Offset.from_payload(data.get("take_profit")),
            time_in_force=data.get("time_in_force", ""),
            cancel_orders=bool(data.get("cancel_orders")),
            sender_id=data.get("sender_id"),
            sent_at=None if sent_at is None else datetime.fromisoformat(sent_at),
            comment=data.get("comment", ""),
            strategy=data.get("strategy"),
            group=data.get("group"),
            extras=data.get("extras") or {},
        )
