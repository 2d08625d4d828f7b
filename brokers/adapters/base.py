"""The interface every venue implements, and the plain values that cross it.

Adapters speak the venue's protocol and nothing else: they know nothing of alerts,
rules or billing. Everything crossing the boundary is a frozen dataclass with
`Decimal` quantities and prices and timezone-aware UTC times.
"""

from __future__ import annotations

import abc
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from brokers.instruments.specs import Instrument

if TYPE_CHECKING:
    from brokers.models import BrokerAccount

log = logging.getLogger(__name__)


def order_tag(client_order_id: str, limit: int) -> str:
    """Our client order id in a venue's short text field (TradeLocker's
    `strategyId`, MetaTrader's order comment, both 31 characters): itself when it
    fits, else a stable digest of it that does."""
    if len(client_order_id) <= limit:
        return client_order_id
    digest = hashlib.sha256(client_order_id.encode()).hexdigest()
    return f"tf-{digest[: limit - 3]}"


class VenueError(Exception):
    """The venue refused or failed. `code` is stable and machine-readable."""

    def __init__(self, code: str, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.transient = transient


@dataclass(frozen=True)
class OrderRequest:
    client_order_id: str
    symbol: str
    side: str  # "buy" | "sell"
    order_type: str  # brokers.models.OrderType
    quantity: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str = ""  # DAY | GTC | IOC | FOK; "" = the venue's default
    trail_distance: Decimal | None = None
    # Bracket levels, attached to the fill as an OCO pair.
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    # The price the alert reported, a hint a simulated venue may use.
    reference_price: Decimal | None = None
    strategy: str = ""
    comment: str = ""
    # The catalogue instrument of `symbol` when the caller resolved it (intake
    # does, once): a venue maps it to its own contract instead of parsing again.
    instrument: Instrument | None = None


@dataclass(frozen=True)
class FillReport:
    venue_fill_id: str
    quantity: Decimal
    price: Decimal
    commission: Decimal
    filled_at: datetime


@dataclass(frozen=True)
class OrderReport:
    client_order_id: str
    venue_order_id: str
    status: str  # brokers.models.Order.Status
    filled_quantity: Decimal = Decimal(0)
    avg_fill_price: Decimal | None = None
    reject_reason: str = ""
    fills: tuple[FillReport, ...] = field(default_factory=tuple)
    symbol: str = ""


@dataclass(frozen=True)
class PositionReport:
    symbol: str
    quantity: Decimal  # signed: short < 0
    avg_price: Decimal | None


@dataclass(frozen=True)
class AccountSnapshot:
    balance: Decimal
    equity: Decimal
    currency: str


@dataclass(frozen=True)
class VenueAccount:
    """One of a login's accounts at the venue, for the trader to pick."""

    id: str
    name: str
    balance: Decimal
    live: bool
    can_trade: bool


@dataclass(frozen=True)
class Measure:
    """An account's balance and equity, and whether it holds no position."""

    balance: Decimal
    equity: Decimal
    flat: bool


class VenueAdapter(abc.ABC):
    """A connection to one venue account."""

    venue: str

    def __init__(self, account: BrokerAccount) -> None:
        self.account = account

    @classmethod
    @abc.abstractmethod
    def provision(cls, account: BrokerAccount, options: dict[str, Any]) -> None:
        """Set the account up at the venue: validate credentials, or open it.

        Raises VenueError with a code a trader can act on.
        """

    @classmethod
    def venue_accounts(cls, options: dict[str, Any]) -> list[VenueAccount]:
        """The accounts a login (credentials in `options`) holds at the venue, so
        that the trader picks which to connect. Raises VenueError when the venue
        refuses the login; a venue where accounts are opened, not picked, has none."""
        raise VenueError(
            "not-supported", f"{cls.venue} accounts are opened, not picked."
        )

    @classmethod
    def measure_many(cls, accounts: list[BrokerAccount]) -> dict[int, Measure]:
        """Measure several accounts of this venue (the risk monitor's sweep), keyed
        by account id; one that cannot be measured now is left out and logged.
        A venue that can answer for many accounts at once overrides this."""
        measured = {}
        for account in accounts:
            try:
                snapshot, positions = cls(account).account_state()
                flat = not positions
            except VenueError as exc:
                log.warning("account %s not measured: %s", account.pk, exc)
                continue
            measured[account.pk] = Measure(snapshot.balance, snapshot.equity, flat)
        return measured

    def venue_symbol(self, symbol: str) -> str:
        """The venue's own name for our symbol ("MNQZ26" at Tradovate is "MNQZ6",
        "XAUUSD" at a TradeLocker broker may be "GOLD"), asking the venue where
        it must. Raises VenueError when the venue has no such thing or cannot be
        asked. A venue that names instruments as we do keeps this default."""
        return symbol

    def account_error(self) -> VenueError | None:
        """A lasting condition of the account that reading it does not end (an
        Expert Advisor gone silent): kept on the account by each sync while it
        lasts. Most venues have none."""
        return None

    @abc.abstractmethod
    def account_snapshot(self) -> AccountSnapshot: ...

    @abc.abstractmethod
    def positions(self) -> list[PositionReport]: ...

    def account_state(self) -> tuple[AccountSnapshot, list[PositionReport]]:
        """Balance, equity and positions together (an account sync). A venue whose
        equity is worked out from its positions overrides this to read them once."""
        return self.account_snapshot(), self.positions()

    @abc.abstractmethod
    def working_orders(self) -> list[OrderReport]: ...

    @abc.abstractmethod
    def place_order(self, request: OrderRequest) -> OrderReport:
        """Place once: a second call with the same client order id returns the first."""

    @abc.abstractmethod
    def find_order(self, client_order_id: str) -> OrderReport | None: ...

    @abc.abstractmethod
    def cancel_order(self, venue_order_id: str) -> OrderReport: ...

    @abc.abstractmethod
    def flatten(self) -> list[OrderReport]:
        """Cancel working orders and close every position."""
