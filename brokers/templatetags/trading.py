"""Template filters for quantities and prices."""

from __future__ import annotations

from decimal import Decimal

from django import template

from common import numbers

register = template.Library()


@register.filter
def plain(value: Decimal | None) -> str:
    """A Decimal without trailing zeros or exponent: 10.00000000 -> "10"."""
    return "—" if value is None else numbers.plain(value)
