"""Template filters for quantities, prices and how an account follows its venue."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from brokers.streaming import feed_label
from common import numbers

register = template.Library()


@register.filter
def plain(value: Decimal | None) -> str:
    """A Decimal without trailing zeros or exponent: 10.00000000 -> "10"."""
    return "—" if value is None else numbers.plain(value)


EA_STATES = {
    "online": "EA connected",
    "offline": "EA offline",
    "never": "EA not set up",
}


@register.filter
def feed(account: Any) -> str:
    """How a real venue's account follows it: "Live stream", "Polling"; a
    MetaTrader account by its Expert Advisor: "EA connected", "EA offline"."""
    if account.venue in ("mt4", "mt5"):
        terminal = getattr(account, "terminal", None)
        return EA_STATES["never" if terminal is None else terminal.state]
    return feed_label(account.pk, account.venue)
