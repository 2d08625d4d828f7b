"""A seeded synthetic price feed, so a demo market moves on its own.

A random walk in whole ticks per symbol, with a per-asset-class volatility, for
every symbol that has working paper orders or open paper positions and a known
price. Each new price goes through `price_update`, which evaluates working orders.
"""

from __future__ import annotations

import random
from decimal import Decimal

from django.utils import timezone

from brokers.instruments.resolve import SymbolError
from brokers.instruments.sessions import is_open
from brokers.instruments.specs import AssetClass
from paperbroker.accounting import instrument_for
from paperbroker.models import PaperOrder, PaperPosition, Quote
from paperbroker.realtime import notify_orders
from paperbroker.services import price_update

# Standard deviation of one step, in ticks.
STEP_TICKS = {
    AssetClass.FUTURE: 2,
    AssetClass.FOREX: 5,
    AssetClass.STOCK: 3,
    AssetClass.CRYPTO: 50,
    AssetClass.CFD: 5,
}


def active_symbols() -> list[str]:
    working = PaperOrder.objects.filter(status=PaperOrder.Status.WORKING).values_list(
        "symbol", flat=True
    )
    held = PaperPosition.objects.exclude(quantity=0).values_list("symbol", flat=True)
    return sorted(set(working) | set(held))


def next_price(
    last: Decimal, tick: Decimal, step_ticks: int, rng: random.Random
) -> Decimal:
    """One step of the walk: a whole number of ticks, never below one tick."""
    move = round(rng.gauss(0, step_ticks))
    return max(last + tick * move, tick)


def feed_step(*, rng: random.Random | None = None) -> int:
    """Move every active symbol that is in session; returns how many moved."""
    rng = rng or random.Random()  # noqa: S311 (a simulation, not a secret)
    now = timezone.now()
    quotes = dict(
        Quote.objects.filter(
            symbol__in=active_symbols(), account__isnull=True
        ).values_list("symbol", "last")
    )
    moved = 0
    for symbol, last in quotes.items():
        try:
            instrument = instrument_for(symbol)
        except SymbolError:
            continue
        if not is_open(instrument, now):
            continue
        step = STEP_TICKS.get(instrument.asset_class, 2)
        price = next_price(last, instrument.tick_size, step, rng)
        notify_orders(
            price_update(symbol=symbol, last=price, source=Quote.Source.SYNTHETIC)
        )
        moved += 1
    return moved
