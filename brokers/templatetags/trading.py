"""Template filters for quantities and prices."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def plain(value: Decimal | None) -> str:
    """A Decimal without trailing zeros or exponent: 10.00000000 -> "10"."""
    if value is None:
        return "—"
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", "0"} else text
