"""Decimals as people and programs read them: no trailing zeros, no exponent."""

from __future__ import annotations

from decimal import Decimal


def plain(value: Decimal | int) -> str:
    """`Decimal("2.00000000")` -> "2", `Decimal("2.40000000000000")` -> "2.4",
    `Decimal("1E+3")` -> "1000"; minus zero is "0"."""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in {"-0", "0"} else text
