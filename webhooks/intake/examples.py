"""The example alert TradeFlow prints for a new key (key page, `demo_data`)."""

from __future__ import annotations

import json

from django.utils import timezone

from brokers.instruments.resolve import resolve
from brokers.instruments.sessions import is_open


def example_curl(*, url: str, key: str, venue: str) -> str:
    """A curl that sends one market buy and fills now, whatever the day.

    Futures trade in sessions: outside them the example is a tenth of a coin (a whole
    one would need more margin than a small paper account has).
    """
    futures_open = is_open(resolve("MNQ1!").instrument, timezone.now())
    symbol, qty, price = (
        ("MNQ1!", 1, 21000.25) if futures_open else ("BTCUSDT", 0.1, 95000)
    )
    intent = {"broker": venue, "side": "buy", "type": "market"}
    body = {
        "version": "unify.v1",
        "intent": {**intent, "symbol": symbol, "qty": qty, "price": price},
    }
    return (
        f"curl -X POST {url} -H 'Authorization: Bearer {key}' "
        f"-H 'Content-Type: application/json' -d '{json.dumps(body)}'"
    )
