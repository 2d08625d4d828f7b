"""An account's two symbol maps, and what an alert's symbol trades on it.

- `symbol_overrides`: instruments to trade instead of the alert's ({"NQ": "MNQ"}:
  an alert on NQ1! trades MNQ1!), applied at intake before the symbol resolves;
- `venue_symbols`: the venue's own names for our instruments ({"XAUUSD": "GOLD"}),
  which its adapter reads when it finds the instrument.

`symbol_lookup` follows an alert's symbol through both, and asks the venue, as an
alert would go, without sending or saving anything.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from accounts.models import User
from brokers.adapters.base import VenueError
from brokers.adapters.registry import get_adapter
from brokers.instruments.catalogue import get_instrument
from brokers.instruments.resolve import (
    ExpiredContract,
    SymbolError,
    apply_root_override,
    instrument_of,
    resolve,
)
from brokers.instruments.specs import FutureSpec, Instrument
from brokers.models import BrokerAccount
from common.ratelimit import rate_hit

log = logging.getLogger(__name__)

MAX_ENTRIES = 50
MAX_SYMBOL = 64
VENUE_NAME = re.compile(r"[A-Za-z0-9._-]{1,32}")
# Each lookup may ask the venue, whose request limits the account's trading shares.
LOOKUPS_PER_MINUTE = 30


class SymbolMapError(ValueError):
    """A map TradeFlow cannot use; the message says which entry and why."""


# --- The maps -------------------------------------------------------------------------


def _known(symbol: str) -> Instrument:
    spec = get_instrument(symbol.strip())
    if spec is None:
        raise SymbolMapError(
            f"TradeFlow does not know {symbol.strip()!r}: name an instrument of its "
            "catalogue, e.g. NQ, MNQ, EURUSD or XAUUSD (a root, not NQ1!)."
        )
    return spec


def _few(mapping: Mapping[str, str]) -> None:
    if len(mapping) > MAX_ENTRIES:
        raise SymbolMapError(f"A map holds at most {MAX_ENTRIES} entries.")


def symbol_overrides_checked(mapping: Mapping[str, str]) -> dict[str, str]:
    """{"nq": "mnq"} as {"NQ": "MNQ"}: both sides catalogue instruments (an alias
    becomes its catalogue symbol), a future traded as a future and anything else
    as anything but a future. An entry that changes nothing is dropped."""
    _few(mapping)
    checked = {}
    for source, target in mapping.items():
        ours, theirs = _known(source), _known(target)
        if isinstance(ours, FutureSpec) != isinstance(theirs, FutureSpec):
            raise SymbolMapError(
                f"{ours.symbol} ({ours.asset_class}) cannot be traded as "
                f"{theirs.symbol} ({theirs.asset_class}): a future maps to a future, "
                "anything else to anything but a future."
            )
        if ours.symbol != theirs.symbol:
            checked[ours.symbol] = theirs.symbol
    return checked


def venue_symbols_checked(mapping: Mapping[str, str]) -> dict[str, str]:
    """{"xauusd": "GOLD"} as {"XAUUSD": "GOLD"}: the key a catalogue instrument
    that is not a future (a venue finds contracts by month), the venue's name kept
    as written, 1 to 32 letters, digits, dots, dashes or underscores."""
    _few(mapping)
    checked = {}
    for ours, theirs in mapping.items():
        spec, name = _known(ours), theirs.strip()
        if isinstance(spec, FutureSpec):
            raise SymbolMapError(
                f"{spec.symbol} is a future: its contracts are found at the venue "
                "by month, not named here."
            )
        if not VENUE_NAME.fullmatch(name):
            raise SymbolMapError(
                f"{name[:40]!r} is not a name a broker gives an instrument: write "
                "1 to 32 letters, digits, dots, dashes or underscores "
                "(GOLD, EURUSD.r, US30_cash)."
            )
        checked[spec.symbol] = name
    return checked


def account_symbols_update(
    *,
    account: BrokerAccount,
    symbol_overrides: Mapping[str, str],
    venue_symbols: Mapping[str, str],
    user: User,
) -> BrokerAccount:
    """Check both maps and save them; raises SymbolMapError, and then saves
    nothing. Alerts that arrive afterwards follow them (intake reads the row)."""
    overrides = symbol_overrides_checked(symbol_overrides)
    names = venue_symbols_checked(venue_symbols)
    BrokerAccount.objects.filter(pk=account.pk).update(
        symbol_overrides=overrides, venue_symbols=names
    )
    account.symbol_overrides, account.venue_symbols = overrides, names
    # Who changed what an account trades: the log is the audit trail for now.
    log.info(
        "account %s symbol maps set by user %s: overrides %s, venue names %s",
        account.pk,
        user.pk,
        overrides,
        names,
    )
    return account


# --- The lookup -----------------------------------------------------------------------


@dataclass(frozen=True)
class Lookup:
    """What an alert's symbol would trade on an account now, as far as it got:
    `code` and `message` say why it stops there ("" when it does not)."""

    account_id: int
    venue: str
    venue_name: str  # "Tradovate"
    alert_symbol: str  # "NQ1!"
    mapped: str = ""  # after the account's override: "MNQ1!"
    override: tuple[str, str] | None = None  # ("NQ", "MNQ") when one applied
    instrument: Instrument | None = None
    contract: str | None = None  # "MNQZ26"; None but for a future
    expiry: date | None = None  # the contract's last trading day
    symbol: str = ""  # what TradeFlow trades: the contract, or the pair or CFD
    venue_symbol: str = ""  # the venue's name for it: "MNQZ6", "GOLD"
    code: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return not self.code

    def as_dict(self) -> dict[str, Any]:
        spec = self.instrument
        return {
            "account_id": self.account_id,
            "broker": self.venue,
            "alert_symbol": self.alert_symbol,
            "mapped_symbol": self.mapped or None,
            "override": None
            if self.override is None
            else {"from": self.override[0], "to": self.override[1]},
            "instrument": None
            if spec is None
            else {
                "symbol": spec.symbol,
                "name": spec.name,
                "asset_class": str(spec.asset_class),
            },
            "contract": self.contract,
            "expiry": self.expiry.isoformat() if self.expiry else None,
            "symbol": self.symbol or None,
            "venue_symbol": self.venue_symbol or None,
            "ok": self.ok,
            "code": self.code or None,
            "detail": self.message or None,
        }


def symbol_lookup(*, account: BrokerAccount, alert_symbol: str) -> Lookup:
    """Follow `alert_symbol` as an alert to `account` would go: the account's
    override, the catalogue (today's contract of a future), the venue's name.

    Reads only; asks the venue (its adapter's `venue_symbol`), at most
    LOOKUPS_PER_MINUTE times a minute per account. Never raises: a symbol the
    catalogue or the venue refuses, or a venue that cannot be asked, comes back
    as a Lookup with a code and a sentence.
    """
    lookup = Lookup(
        account.pk, account.venue, account.get_venue_display(), alert_symbol.strip()
    )
    if not lookup.alert_symbol or len(lookup.alert_symbol) > MAX_SYMBOL:
        return replace(
            lookup,
            alert_symbol=lookup.alert_symbol[:MAX_SYMBOL],
            code="unknown-symbol",
            message="Type the symbol an alert sends (up to 64 characters), "
            "e.g. NQ1! or XAUUSD.",
        )
    lookup = _resolved(lookup, account.symbol_overrides or {})
    return _asked(lookup, account) if lookup.ok else lookup


def _override(alert: str, mapped: str) -> tuple[str, str] | None:
    source, target = instrument_of(alert), instrument_of(mapped)
    if mapped == alert or source is None or target is None:
        return None
    return source.symbol, target.symbol


def _resolved(lookup: Lookup, overrides: Mapping[str, str]) -> Lookup:
    """The account's override, then the catalogue, as intake applies them."""
    alert = lookup.alert_symbol
    try:
        mapped = apply_root_override(alert, overrides)
    except SymbolError as exc:
        return replace(lookup, code="invalid-override", message=f"{exc}.")
    lookup = replace(lookup, mapped=mapped, override=_override(alert, mapped))
    try:
        resolved = resolve(mapped)
    except ExpiredContract as exc:
        return replace(lookup, code="expired-contract", message=f"{exc}.")
    except SymbolError as exc:
        return replace(lookup, code="unknown-symbol", message=f"{exc}.")
    return replace(
        lookup,
        instrument=resolved.instrument,
        contract=resolved.contract,
        expiry=resolved.expiry,
        symbol=resolved.symbol,
    )


def _asked(lookup: Lookup, account: BrokerAccount) -> Lookup:
    """The venue's name for the symbol, or why the venue could not give one."""
    venue = lookup.venue_name
    if not rate_hit(f"symbol-lookup:{account.pk}", LOOKUPS_PER_MINUTE).allowed:
        return replace(
            lookup,
            code="too-many-lookups",
            message=f"More than {LOOKUPS_PER_MINUTE} lookups a minute on this "
            "account: wait a minute (the venue's request limits are shared with "
            "its trading).",
        )
    try:
        name = get_adapter(account).venue_symbol(lookup.symbol)
    except VenueError as exc:
        if exc.transient or exc.code == "venue-unavailable":
            return replace(
                lookup,
                code="venue-unavailable",
                message=f"TradeFlow could not ask {venue} what it calls "
                f"{lookup.symbol} now ({exc.message.rstrip('.')}): try again in a "
                "minute.",
            )
        return replace(lookup, code=exc.code, message=exc.message)
    except Exception:
        # A venue answering something its client did not expect: the trader
        # gets a sentence, the log gets the traceback.
        log.exception("symbol lookup of %s on account %s", lookup.symbol, account.pk)
        return replace(
            lookup,
            code="venue-unavailable",
            message=f"TradeFlow could not ask {venue} what it calls "
            f"{lookup.symbol}: the error is logged.",
        )
    return replace(lookup, venue_symbol=name)
