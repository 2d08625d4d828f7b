"""Formatting of the benchmark figures."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def ratio(value: float | None) -> str:
    """Two significant figures, whatever the size: 5.9, 27, 2,739, 0.028 (a
    TradeFlow rate 36 times below the floor's read 0.0 before)."""
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.2g}"
