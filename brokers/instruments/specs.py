"""What we know about a tradable instrument, as plain frozen values.

The catalogue (catalogue.json) is turned into these once; everything downstream
(sizing, risk, venue adapters) reads them and never the JSON. Prices, sizes and
money are `Decimal`: tick arithmetic in floats drifts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

# Pseudo calendar names that no calendar library backs; sessions.py handles them.
FOREX_CALENDAR = "forex"
ALWAYS_OPEN_CALENDAR = "24/7"


class AssetClass(StrEnum):
    FUTURE = "future"
    FOREX = "forex"
    STOCK = "stock"
    CRYPTO = "crypto"
    CFD = "cfd"  # a contract for difference on an index or a metal


class ExpiryRule(StrEnum):
    """Named last-trading-day rules, as CME words them in its contract specs."""

    THIRD_FRIDAY = "third_friday"
    FX_IMM = "two_business_days_before_third_wednesday"
    CRUDE = "three_business_days_before_25th_of_prior_month"
    CRUDE_MICRO = "one_business_day_before_crude"
    NATGAS = "three_business_days_before_contract_month"
    METALS = "third_last_business_day"
    TREASURY = "seventh_business_day_before_last_business_day"
    LAST_BUSINESS_DAY = "last_business_day"


# The smallest quantity step per asset class (contracts, shares, lots, coins).
QUANTITY_STEP = {
    AssetClass.FUTURE: Decimal(1),
    AssetClass.STOCK: Decimal(1),
    AssetClass.FOREX: Decimal("0.01"),
    AssetClass.CRYPTO: Decimal("0.00001"),
    AssetClass.CFD: Decimal("0.01"),
}


@dataclass(frozen=True)
class RollRule:
    """When the continuous symbol (`ES1!`) moves on to the next contract.

    Exactly one of the two is set: a number of calendar days before expiry, or
    "at the end of the month before the contract month" (first notice day for
    physically delivered metals and treasuries, which we must never hold into).
    """

    days_before_expiry: int | None = None
    month_before: bool = False


@dataclass(frozen=True)
class Margin:
    """Per-contract margin in the root's currency: configuration, not live data."""

    intraday: Decimal
    overnight: Decimal
    source: str
    as_of: date


@dataclass(frozen=True, kw_only=True)
class Instrument:
    """Fields every asset class shares.

    `point_value` is the value, in `currency`, of a 1.0 price move for one unit
    of quantity (a contract, a lot, a share, a coin), so that
    `pnl = price_change * quantity * point_value` holds everywhere, and
    `tick_value == tick_size * point_value`.
    """

    symbol: str
    name: str
    asset_class: AssetClass
    exchange: str
    currency: str
    tick_size: Decimal
    tick_value: Decimal
    point_value: Decimal
    calendar: str

    @property
    def quantity_step(self) -> Decimal:
        """The smallest quantity an order may add (a contract, 0.01 lot...)."""
        return QUANTITY_STEP[self.asset_class]


@dataclass(frozen=True, kw_only=True)
class FutureSpec(Instrument):
    """A futures root (ES, MNQ, CL...): the contracts are derived from it."""

    months: str  # the contract month codes we trade, e.g. "HMUZ"
    expiry_rule: ExpiryRule
    roll: RollRule
    margin: Margin
    micro_of: str | None = None  # the full-size root, for micro-counting rules

    @property
    def is_micro(self) -> bool:
        return self.micro_of is not None


@dataclass(frozen=True, kw_only=True)
class ForexSpec(Instrument):
    base: str
    quote: str
    pip_size: Decimal
    lot_size: Decimal

    @property
    def pip_value(self) -> Decimal:
        """Value of one pip for one standard lot, in the quote currency."""
        return self.pip_size * self.lot_size


@dataclass(frozen=True, kw_only=True)
class CryptoSpec(Instrument):
    base: str
    quote: str


@dataclass(frozen=True, kw_only=True)
class CfdSpec(Instrument):
    """A CFD as forex/CFD brokers list it: a lot is `contract_size` units of the
    underlying (100 oz of gold, $1 a point of the Dow), in `currency`. Brokers
    name them differently (`aliases`: GOLD, US100, USTEC...)."""

    contract_size: Decimal
    aliases: tuple[str, ...] = ()
