"""The account's instruments, found by our symbols in the broker's own names.

Our catalogue symbol ("EURUSD", "XAUUSD", "US30") is found among the account's
instruments by the account's own name for it (`venue_symbols`, {"XAUUSD":
"GOLD"}), else by the symbol or one of its aliases (GOLD, US100...), with a
broker's suffix ("EURUSD.r", "US30.cash") allowed. The list is read once an hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from brokers.adapters.base import VenueError
from brokers.instruments.catalogue import get_instrument
from brokers.instruments.resolve import instrument_of
from brokers.instruments.specs import CfdSpec, FutureSpec

from .client import TradeLockerClient

INSTRUMENTS_SECONDS = 3600
SUFFIXES = (".", "_", "-")  # "EURUSD.r", "US30_cash", "GER40-sp": a broker's tag


@dataclass(frozen=True)
class Instrument:
    """One of the account's instruments, as TradeLocker lists it."""

    tradable_id: int
    name: str
    trade_route: int
    info_route: int


def instruments_listed(client: TradeLockerClient, account_id: int) -> list[Instrument]:
    """The account's instruments, read at most once an hour for its login."""
    key = f"tradelocker:instruments:{client.login.key}:{account_id}"
    cached = cache.get(key)
    if cached is None:
        cached = [
            [
                int(row["tradableInstrumentId"]),
                str(row["name"]),
                _route(row, "TRADE"),
                _route(row, "INFO"),
            ]
            for row in client.instruments(account_id)
        ]
        cache.set(key, cached, INSTRUMENTS_SECONDS)
    return [Instrument(*row) for row in cached]


def instrument_for(
    symbol: str, listed: list[Instrument], venue_symbols: object
) -> Instrument:
    """The account's instrument for our symbol ("XAUUSD" -> its "GOLD")."""
    own = _upper_map(venue_symbols).get(symbol.upper())
    if own:
        found = next((i for i in listed if i.name.upper() == own), None)
        if found is None:
            raise VenueError(
                "unknown-symbol",
                f"This account maps {symbol} to {own}, which TradeLocker does "
                "not list for it.",
            )
        return found
    spec = get_instrument(symbol) or instrument_of(symbol)  # a root, or "NQZ26"
    if isinstance(spec, FutureSpec):
        raise VenueError(
            "not-tradable-here",
            f"TradeLocker trades forex and CFDs; {symbol} is a future.",
        )
    names = [symbol.upper()]
    if isinstance(spec, CfdSpec):
        names += list(spec.aliases)
    for wanted in names:  # exact names first, then with a broker's suffix
        for instrument in listed:
            if instrument.name.upper() == wanted:
                return instrument
    for wanted in names:
        for instrument in listed:
            if _bare(instrument.name) == wanted:
                return instrument
    raise VenueError(
        "unknown-symbol",
        f"TradeLocker lists no instrument for {symbol} on this account: name "
        "the broker's own symbol for it in the account's symbol map.",
    )


def symbols_by_id(listed: list[Instrument], venue_symbols: object) -> dict[int, str]:
    """tradableInstrumentId -> our symbol (the venue's name if we have none)."""
    own = {name: ours for ours, name in _upper_map(venue_symbols).items()}
    named = {}
    for instrument in listed:
        upper = instrument.name.upper()
        spec = get_instrument(own.get(upper, upper)) or get_instrument(
            _bare(instrument.name)
        )
        ours = (
            spec.symbol
            if spec is not None and not isinstance(spec, FutureSpec)
            else instrument.name
        )
        named[instrument.tradable_id] = ours
    return named


def _route(row: dict[str, Any], kind: str) -> int:
    for route in row.get("routes") or []:
        if str(route.get("type")) == kind:
            return int(route["id"])
    return 0


def _upper_map(mapping: object) -> dict[str, str]:
    if not isinstance(mapping, dict):
        return {}
    return {str(k).strip().upper(): str(v).strip().upper() for k, v in mapping.items()}


def _bare(name: str) -> str:
    """A broker's name without its tag: "EURUSD.r" -> "EURUSD"."""
    upper = name.upper()
    for mark in SUFFIXES:
        upper = upper.split(mark)[0]
    return upper
