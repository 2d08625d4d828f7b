"""Futures contracts as the venues name them: our dated code ("MNQZ26", the
exchange root, the month letter and a two-digit year) and theirs, which
ProjectX and Tradovate write with a one-digit year ("MNQZ6"). A name read back
takes the decade nearest the date: a contract is at most a few years out, or a
few months gone.
"""

from __future__ import annotations

import re
from datetime import date

_OUR_CODE = re.compile(
    r"^(?P<root>[A-Z0-9]+?)(?P<month>[FGHJKMNQUVXZ])(?P<year>\d{2})$"
)
_THEIR_NAME = re.compile(
    r"^(?P<root>[A-Z0-9]+?)(?P<month>[FGHJKMNQUVXZ])(?P<year>\d{1,2})$"
)


def is_contract_code(symbol: str) -> bool:
    """Whether `symbol` is our dated contract code ("MNQZ26"), nothing to resolve."""
    return _OUR_CODE.match(symbol) is not None


def contract_name(code: str) -> tuple[str, str]:
    """Our "MNQZ25" -> (the root to search for, the venue's name "MNQZ5")."""
    match = _OUR_CODE.match(code)
    if match is None:
        raise ValueError(f"{code!r} is not a dated futures contract")
    root, month, year = match["root"], match["month"], match["year"]
    return root, f"{root}{month}{year[-1]}"


def names_match(name: str, code: str) -> bool:
    """Whether a venue's contract name (one- or two-digit year) is our code."""
    match = _THEIR_NAME.match(name)
    ours = _OUR_CODE.match(code)
    if match is None or ours is None:
        return False
    return (
        match["root"] == ours["root"]
        and match["month"] == ours["month"]
        and ours["year"].endswith(match["year"])
    )


def contract_code(name: str, on: date) -> str:
    """A venue's "MNQZ5" read on `on` -> our "MNQZ25": the year ending in that digit
    nearest to `on` (a contract is at most a few years out, or a few months gone)."""
    match = _THEIR_NAME.match(name)
    if match is None:
        raise ValueError(f"{name!r} is not a futures contract name")
    digits = match["year"]
    if len(digits) == 2:
        year = 2000 + int(digits)
    else:
        candidates = [
            on.year - 10 + n
            for n in range(21)
            if (on.year - 10 + n) % 10 == int(digits)
        ]
        year = min(candidates, key=lambda y: (abs(y - on.year), -y))
    return f"{match['root']}{match['month']}{year % 100:02d}"
