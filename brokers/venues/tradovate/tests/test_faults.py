"""Tradovate through a storm of faults, counted: 40 orders (buy 1, sell 1, over
and over), each sent as the executor sends it while the fake fails the way
Tradovate fails — 5xx, answers lost after an order was booked, calls that hang
past the timeout, penalty tickets, a session that ends. (A 429 is left out: at
Tradovate it locks a login out for an hour, tested apart.) At the end every
order is filled, none was placed twice and the account is flat."""

from __future__ import annotations

import random
from decimal import Decimal

from brokers.adapters.base import OrderRequest
from brokers.adapters.contract import as_the_executor_would
from brokers.models import Order, OrderType
from brokers.venues.tradovate.adapter import TradovateAdapter

ORDERS = 40
FAULTS = ("none", "5xx", "lost", "hang", "ticket", "expired")


def test_forty_orders_through_faults_none_twice_none_lost(connected, settings):
    settings.TRADOVATE_TIMEOUT_SECONDS = 1
    fake = connected.fake
    fake.knobs.hang_seconds = 1.5
    fake.knobs.penalty_seconds = 1
    adapter = TradovateAdapter(connected.account)  # with the short timeout
    chance = random.Random(14)  # a fixed, reproducible storm
    seen = dict.fromkeys(FAULTS, 0)
    retried = 0
    for n in range(ORDERS):
        side = "buy" if n % 2 == 0 else "sell"
        fault = chance.choice(FAULTS)
        seen[fault] += 1
        if fault == "5xx":
            fake.knobs.fail = [chance.choice([500, 502, 503])]
        elif fault == "lost":
            fake.knobs.drop_after_place = 1
        elif fault == "hang":
            fake.knobs.hang = 1
        elif fault == "ticket":
            fake.knobs.penalty = 1
        elif fault == "expired":
            fake.expire_tokens()
        request = OrderRequest(
            f"tf-{n}-1-{1 if side == 'sell' else 2}",
            connected.symbol,
            side,
            OrderType.MARKET,
            Decimal(1),
        )
        report, failures = as_the_executor_would(adapter, request)
        retried += failures
        assert report.status == Order.Status.FILLED, (n, fault, report)
    tags = sorted(o.cl_ord_id for o in fake.orders.values() if o.cl_ord_id)
    assert tags == sorted(
        f"tf-{n}-1-{1 if n % 2 else 2}" for n in range(ORDERS)
    )  # each placed once, none lost
    assert adapter.positions() == []
    print(f"faults {seen}, transient errors retried {retried}")
    assert seen["lost"] and seen["hang"] and retried >= seen["5xx"]
