"""The example alert TradeFlow prints for a new key (key page, `demo_data`)."""

from __future__ import annotations

import json

# Crypto never closes: the printed example fills whenever it is run, not only in
# the session that was open when it was printed (a futures example failed
# `market-closed` in CME's daily break and at weekends).
EXAMPLE = {"symbol": "BTCUSDT", "qty": 0.1, "price": 95000}


def example_curl(*, url: str, key: str, venue: str) -> str:
    """A curl that sends one market buy, and fills at any hour on paper."""
    intent = {"broker": venue, "side": "buy", "type": "market", **EXAMPLE}
    body = {"version": "unify.v1", "intent": intent}
    return (
        f"curl -X POST {url} -H 'Authorization: Bearer {key}' "
        f"-H 'Content-Type: application/json' -d '{json.dumps(body)}'"
    )
