"""The instrument catalogue and symbol resolution every venue shares.

    resolve("MNQ1!", date(2025, 12, 10)).contract      -> "MNQZ25"
    is_open(get_instrument("ES"), timezone.now())        -> True / False

Importing this package does not load pandas: the calendar library is imported
on the first question about sessions or business days.
"""

from __future__ import annotations

from .catalogue import catalogue, futures_roots, get_instrument
from .contracts import Contract, front_contract, next_contract
from .resolve import (
    ExpiredContract,
    Resolved,
    SymbolError,
    UnknownSymbol,
    apply_root_override,
    instrument_of,
    resolve,
)
from .sessions import NoSessionError, is_open, next_open, session_close, trading_day
from .specs import (
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

__all__ = [
    "AssetClass",
    "CfdSpec",
    "Contract",
    "CryptoSpec",
    "ExpiredContract",
    "ExpiryRule",
    "ForexSpec",
    "FutureSpec",
    "Instrument",
    "Margin",
    "NoSessionError",
    "Resolved",
    "RollRule",
    "SymbolError",
    "UnknownSymbol",
    "apply_root_override",
    "catalogue",
    "front_contract",
    "futures_roots",
    "get_instrument",
    "instrument_of",
    "is_open",
    "next_contract",
    "next_open",
    "resolve",
    "session_close",
    "trading_day",
]
