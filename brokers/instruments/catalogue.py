"""Load catalogue.json once into frozen specs, and look instruments up.

The JSON is configuration: adding a root is a data change, not a code change.
It is checked when it loads, so a typo fails the first import in tests instead of
mis-sizing an order in production.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .specs import (
    ALWAYS_OPEN_CALENDAR,
    FOREX_CALENDAR,
    AssetClass,
    CfdSpec,
    CryptoSpec,
    ExpiryRule,
    ForexSpec,
    FutureSpec,
    Instrument,
    Margin,
    RollRule,
)

CATALOGUE_PATH = Path(__file__).with_name("catalogue.json")
MONTH_CODES = "FGHJKMNQUVXZ"


class CatalogueError(ValueError):
    """catalogue.json says something impossible."""


def _dec(raw: Any) -> Decimal:
    if isinstance(raw, float):  # json.loads(parse_float=Decimal) makes this rare
        raise CatalogueError(f"{raw!r} must be a string or Decimal, not a float")
    return Decimal(str(raw))


def _roll(raw: Mapping[str, Any]) -> RollRule:
    rule = RollRule(
        days_before_expiry=raw.get("days_before_expiry"),
        month_before=bool(raw.get("month_before", False)),
    )
    if (rule.days_before_expiry is None) == (not rule.month_before):
        raise CatalogueError(f"roll needs days_before_expiry or month_before: {raw}")
    return rule


def _future(
    symbol: str, raw: Mapping[str, Any], margins: Mapping[str, Any]
) -> FutureSpec:
    months = raw["months"]
    if not months or any(code not in MONTH_CODES for code in months):
        raise CatalogueError(f"{symbol}: bad month cycle {months!r}")
    margin = Margin(
        intraday=_dec(raw["margin"]["intraday"]),
        overnight=_dec(raw["margin"]["overnight"]),
        source=margins["source"],
        as_of=date.fromisoformat(margins["as_of"]),
    )
    return FutureSpec(
        symbol=symbol,
        name=raw["name"],
        asset_class=AssetClass.FUTURE,
        exchange=raw["exchange"],
        currency=raw["currency"],
        tick_size=_dec(raw["tick_size"]),
        tick_value=_dec(raw["tick_value"]),
        point_value=_dec(raw["point_value"]),
        calendar=raw["calendar"],
        # Keep the cycle in calendar order whatever order the JSON lists it in.
        months="".join(sorted(months, key=MONTH_CODES.index)),
        expiry_rule=ExpiryRule(raw["expiry_rule"]),
        roll=_roll(raw["roll"]),
        margin=margin,
        micro_of=raw.get("micro_of"),
    )


def _forex(symbol: str, raw: Mapping[str, Any]) -> ForexSpec:
    tick_size, lot_size = _dec(raw["tick_size"]), _dec(raw["lot_size"])
    return ForexSpec(
        symbol=symbol,
        name=raw["name"],
        asset_class=AssetClass.FOREX,
        exchange="FX",
        currency=raw["quote"],
        tick_size=tick_size,
        tick_value=tick_size * lot_size,
        point_value=lot_size,
        calendar=FOREX_CALENDAR,
        base=raw["base"],
        quote=raw["quote"],
        pip_size=_dec(raw["pip_size"]),
        lot_size=lot_size,
    )


def _stock(symbol: str, raw: Mapping[str, Any]) -> Instrument:
    tick_size, multiplier = _dec(raw["tick_size"]), _dec(raw["multiplier"])
    return Instrument(
        symbol=symbol,
        name=raw["name"],
        asset_class=AssetClass.STOCK,
        exchange=raw["exchange"],
        currency=raw["currency"],
        tick_size=tick_size,
        tick_value=tick_size * multiplier,
        point_value=multiplier,
        calendar=raw["calendar"],
    )


def _crypto(symbol: str, raw: Mapping[str, Any]) -> CryptoSpec:
    tick_size, multiplier = _dec(raw["tick_size"]), _dec(raw["multiplier"])
    return CryptoSpec(
        symbol=symbol,
        name=raw["name"],
        asset_class=AssetClass.CRYPTO,
        exchange=raw["exchange"],
        currency=raw["quote"],
        tick_size=tick_size,
        tick_value=tick_size * multiplier,
        point_value=multiplier,
        calendar=ALWAYS_OPEN_CALENDAR,
        base=raw["base"],
        quote=raw["quote"],
    )


def _cfd(symbol: str, raw: Mapping[str, Any]) -> CfdSpec:
    tick_size, size = _dec(raw["tick_size"]), _dec(raw["contract_size"])
    return CfdSpec(
        symbol=symbol,
        name=raw["name"],
        asset_class=AssetClass.CFD,
        exchange="CFD",
        currency=raw["currency"],
        tick_size=tick_size,
        tick_value=tick_size * size,
        point_value=size,
        calendar=raw["calendar"],
        contract_size=size,
        aliases=tuple(alias.upper() for alias in raw.get("aliases", ())),
    )


def _parse(doc: Mapping[str, Any]) -> list[Instrument]:
    margins = doc["margins"]
    specs: list[Instrument] = [
        _future(sym, raw, margins) for sym, raw in doc["futures"].items()
    ]
    specs += [_forex(sym, raw) for sym, raw in doc["forex"].items()]
    specs += [_stock(sym, raw) for sym, raw in doc["stocks"].items()]
    specs += [_crypto(sym, raw) for sym, raw in doc["crypto"].items()]
    specs += [_cfd(sym, raw) for sym, raw in doc.get("cfds", {}).items()]
    return specs


def _check(specs: list[Instrument]) -> None:
    symbols = [spec.symbol for spec in specs]
    if len(set(symbols)) != len(symbols):
        raise CatalogueError("a symbol is listed twice across asset classes")
    for spec in specs:
        if spec.tick_size <= 0 or spec.point_value != spec.tick_value / spec.tick_size:
            raise CatalogueError(f"{spec.symbol}: point_value != tick_value/tick_size")
        if isinstance(spec, FutureSpec) and spec.micro_of not in (None, *symbols):
            raise CatalogueError(f"{spec.symbol}: micro_of {spec.micro_of} unknown")
    aliases = [a for spec in specs if isinstance(spec, CfdSpec) for a in spec.aliases]
    if len(set(aliases)) != len(aliases) or set(aliases) & set(symbols):
        raise CatalogueError("an alias is listed twice, or is another symbol")


@cache
def catalogue() -> Mapping[str, Instrument]:
    """Every instrument by its catalogue symbol (futures by root). Loaded once."""
    text = CATALOGUE_PATH.read_text(encoding="utf-8")
    specs = _parse(json.loads(text, parse_float=Decimal))
    _check(specs)
    return MappingProxyType({spec.symbol: spec for spec in specs})


def get_instrument(symbol: str) -> Instrument | None:
    """The spec for a catalogue symbol ("ES", "EURUSD", "AAPL") or a CFD's alias
    ("GOLD", "NAS100USD"), or None."""
    key = symbol.upper()
    return catalogue().get(key) or catalogue().get(aliases().get(key, ""))


@cache
def aliases() -> Mapping[str, str]:
    """Other names of catalogue CFDs -> their catalogue symbol ("US100" -> "NAS100")."""
    return MappingProxyType(
        {
            alias: spec.symbol
            for spec in catalogue().values()
            if isinstance(spec, CfdSpec)
            for alias in spec.aliases
        }
    )


@cache
def futures_roots() -> tuple[str, ...]:
    """Futures roots, longest first, so "MNQ" is tried before "NQ"."""
    roots = (s for s, spec in catalogue().items() if isinstance(spec, FutureSpec))
    return tuple(sorted(roots, key=lambda root: (-len(root), root)))


def future_spec(root: str) -> FutureSpec:
    spec = catalogue()[root]
    if not isinstance(spec, FutureSpec):
        raise KeyError(root)
    return spec
