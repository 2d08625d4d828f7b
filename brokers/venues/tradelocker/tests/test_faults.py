"""TradeLocker through a storm of faults, counted: 40 orders (a buy that opens,
a sell that closes it by id, over and over), each sent as the executor sends it
while the fake fails the way a venue fails — 5xx, answers lost after a placement
or a close was booked, calls that hang past the timeout, 429s, a session that
ends. At the end every order is filled, none was placed twice, no position was
closed twice, and the account is flat."""

from __future__ import annotations

import random
from decimal import Decimal

from brokers.adapters.base import OrderRequest
from brokers.adapters.contract import as_the_executor_would
from brokers.models import Order, OrderType, PositionClose
from brokers.venues.tradelocker.adapter import TradeLockerAdapter, strategy_id

ORDERS = 40
FAULTS = ("none", "5xx", "lost", "hang", "429", "expired")


def test_forty_orders_through_faults_none_twice_none_lost(connected, settings):
    settings.TRADELOCKER_TIMEOUT_SECONDS = 1
    fake = connected.fake
    fake.knobs.hang_seconds = 1.5
    adapter = TradeLockerAdapter(connected.account)  # with the short timeout
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
            if side == "buy":
                fake.knobs.drop_after_place = 1
            else:
                fake.knobs.drop_after_close = 1
        elif fault == "hang":
            fake.knobs.hang = 1
        elif fault == "429":
            fake.knobs.fail = [429]
        elif fault == "expired":
            fake.expire_tokens()
        request = OrderRequest(
            f"tf-{n}-1-{1 if side == 'sell' else 2}",
            "XAUUSD",
            side,
            OrderType.MARKET,
            Decimal("0.10"),
        )
        report, failures = as_the_executor_would(adapter, request)
        retried += failures
        assert report.status == Order.Status.FILLED, (n, fault, report)
        assert report.filled_quantity == Decimal("0.10"), (n, fault)
    opened = [o for o in fake.orders.values() if o.strategy_id and not o.closing]
    tags = [o.strategy_id for o in opened]
    buys = [strategy_id(f"tf-{n}-1-2") for n in range(0, ORDERS, 2)]
    assert sorted(tags) == sorted(buys)  # each buy placed once, none lost
    closes = [o for o in fake.orders.values() if o.closing]
    assert len(closes) == ORDERS // 2  # each sell closed one position, once
    assert len({o.position_id for o in closes}) == ORDERS // 2
    assert PositionClose.objects.count() == ORDERS // 2
    assert fake.positions == {} and adapter.positions() == []
    print(f"faults {seen}, transient errors retried {retried}")
    assert seen["lost"] and seen["hang"] and retried >= seen["5xx"]
