"""Turn what a TradingView alert says ("MNQ1!", "CME_MINI:NQZ2025", "FX:EURUSD")
into a catalogue instrument and, for futures, one dated contract.

The exchange prefix names TradingView's data feed, not the venue we trade on, so
it is dropped. Futures roots are matched longest first ("MNQ" before "NQ",
"SIL" before "SI") and the rest of the symbol must then parse completely, so a
root is never guessed from a fragment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from django.utils import timezone

from .catalogue import aliases, catalogue, futures_roots, get_instrument
from .contracts import Contract, front_contract, month_of
from .sessions import trading_day
from .specs import FutureSpec, Instrument

_CONTINUOUS = re.compile(r"(?P<index>\d{1,2})!")
_CONTRACT = re.compile(r"(?P<code>[FGHJKMNQUVXZ])(?P<year>\d{4}|\d{1,2})")
_SEPARATORS = str.maketrans("", "", "/- ")


class SymbolError(ValueError):
    """A symbol we cannot trade. The message is meant for the user."""


# The two names below are the API other apps were promised; N818 wants "...Error".
class UnknownSymbol(SymbolError):  # noqa: N818
    def __init__(self, symbol: str, reason: str = "not in the catalogue") -> None:
        self.symbol = symbol
        super().__init__(f"Unknown symbol {symbol!r}: {reason}")


class ExpiredContract(SymbolError):  # noqa: N818
    def __init__(self, symbol: str, contract: Contract, on: date) -> None:
        self.symbol = symbol
        self.contract = contract
        front = front_contract(contract.root, on).code
        named = contract.code
        if _body(symbol) != named:
            named = f"{symbol!r} ({named})"
        super().__init__(
            f"{named} expired on {contract.expiry:%Y-%m-%d}; the front contract on "
            f"{on:%Y-%m-%d} is {front} (or send {contract.root}1!)"
        )


@dataclass(frozen=True)
class Resolved:
    """A symbol resolved on a date. The futures fields are None otherwise."""

    instrument: Instrument
    root: str  # catalogue symbol: "MNQ", "EURUSD", "AAPL"
    contract: str | None = None  # "MNQZ25"
    month: int | None = None
    year: int | None = None  # 4 digits
    expiry: date | None = None  # last trading day
    roll_date: date | None = None  # when the continuous symbol moves past it

    @property
    def symbol(self) -> str:
        return self.contract or self.root


@dataclass(frozen=True)
class _Parsed:
    root: str
    suffix: str = ""  # "1!" or "Z2025" as written (upper case), "" if not a future
    index: int | None = None  # 1 for "1!"
    month_code: str | None = None
    year_digits: str | None = None


def _body(symbol: str) -> str:
    """Upper case, without the feed prefix and the separators of "EUR/USD"."""
    return symbol.strip().upper().rpartition(":")[2].translate(_SEPARATORS)


def _parse_future(symbol: str, body: str) -> _Parsed:
    for root in futures_roots():
        if not body.startswith(root):
            continue
        suffix = body[len(root) :]
        if match := _CONTINUOUS.fullmatch(suffix):
            return _Parsed(root, suffix, index=int(match["index"]))
        if match := _CONTRACT.fullmatch(suffix):
            return _Parsed(root, suffix, None, match["code"], match["year"])
    if body in futures_roots():
        # A bare root ("ES", as seed 003's examples send) means the front contract.
        return _Parsed(body, "", index=1)
    raise UnknownSymbol(symbol)


def _parse(symbol: str) -> _Parsed:
    body = _body(symbol)
    if not body:
        raise UnknownSymbol(symbol, "empty symbol")
    body = aliases().get(body, body)  # "OANDA:NAS100USD" is our NAS100
    spec = catalogue().get(body)
    if spec is not None and not isinstance(spec, FutureSpec):
        return _Parsed(body)
    return _parse_future(symbol, body)


def _year(digits: str, on: date) -> int:
    """4 digits as written; 2 digits in the 2000s; 1 digit: the only year with
    that last digit from last year to eight years ahead ("Z5" is 2025 in 2025
    and 2026, 2035 from 2027)."""
    if len(digits) == 4:
        return int(digits)
    if len(digits) == 2:
        return 2000 + int(digits)
    first = on.year - 1
    return first + (int(digits) - first) % 10


def _dated(symbol: str, parsed: _Parsed, spec: FutureSpec, on: date) -> Contract:
    if parsed.index is not None:
        if parsed.index < 1:
            raise UnknownSymbol(symbol, "continuous contracts count from 1!")
        return front_contract(spec.symbol, on, parsed.index)
    assert parsed.month_code is not None and parsed.year_digits is not None
    if parsed.month_code not in spec.months:
        reason = f"{spec.symbol} trades only the months {spec.months}"
        raise UnknownSymbol(symbol, reason)
    year = _year(parsed.year_digits, on)
    contract = Contract(spec.symbol, year, month_of(parsed.month_code))
    if contract.expiry < on:
        raise ExpiredContract(symbol, contract, on)
    return contract


def _today(spec: Instrument) -> date:
    # The exchange's trade date, not the server's: a CME evening session already
    # belongs to tomorrow, and so does tomorrow's roll.
    return trading_day(spec, timezone.now())


def resolve(symbol: str, on: date | None = None) -> Resolved:
    """Resolve an alert's symbol to an instrument (and contract) as of `on`.

    `on` is a trade date and defaults to the current one. Raises UnknownSymbol,
    or ExpiredContract for an explicit contract month past its last trading day.
    """
    if isinstance(on, datetime):
        raise TypeError("`on` is a trade date: use trading_day() for a timestamp")
    parsed = _parse(symbol)
    spec = catalogue()[parsed.root]
    if not isinstance(spec, FutureSpec):
        return Resolved(instrument=spec, root=spec.symbol)
    contract = _dated(symbol, parsed, spec, on or _today(spec))
    return Resolved(
        instrument=spec,
        root=spec.symbol,
        contract=contract.code,
        month=contract.month,
        year=contract.year,
        expiry=contract.expiry,
        roll_date=contract.roll_date,
    )


@lru_cache(maxsize=4096)
def instrument_of(symbol: str) -> Instrument | None:
    """The catalogue instrument of a symbol as TradeFlow stores it: a contract
    ("MNQZ25"), a root or a pair; None when the catalogue has no such thing.

    A lookup, not a resolution: no date, no expiry check. An alert's symbol is
    resolved once, at intake (`resolve`); what is stored afterwards is looked up.
    """
    try:
        return catalogue()[_parse(symbol).root]
    except UnknownSymbol:
        return None


def apply_root_override(symbol: str, overrides: Mapping[str, str]) -> str:
    """Rewrite the root of `symbol` per `overrides` (alert on NQ, trade MNQ).

    `NQ1!` becomes `MNQ1!` and `CME_MINI:NQZ2025` becomes `MNQZ2025`: the feed
    prefix goes, since it named the old root's feed. A symbol whose root has no
    override (or that does not parse; resolve will say why) comes back as is.
    """
    table = {
        key.strip().upper(): value.strip().upper() for key, value in overrides.items()
    }
    try:
        parsed = _parse(symbol)
    except UnknownSymbol:
        return symbol
    target = table.get(parsed.root)
    if target is None:
        return symbol
    target_spec = get_instrument(target)
    if target_spec is None:
        raise UnknownSymbol(target, f"the override for {parsed.root} names nothing")
    # A bare root ("NQ", the front contract) is a future too, with no suffix.
    future = bool(parsed.suffix) or parsed.index is not None
    if isinstance(target_spec, FutureSpec) != future:
        kind = target_spec.asset_class
        raise SymbolError(f"{parsed.root} cannot be traded as {target} (a {kind})")
    return f"{target}{parsed.suffix}"
