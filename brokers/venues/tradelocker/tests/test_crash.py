"""A worker killed between TradeLocker's close of a position and our record of
it: after recovery the position is closed once, and our books say so.

The exit is the hard case at TradeLocker: a close by position id carries no id
of ours, so it is written down (`PositionClose`) before it is sent. Real
processes (daphne and Celery workers on a throwaway Redis) against the fake in
this process, every clock shifted to the same Tuesday noon in Chicago."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from brokers.models import Order, Position, PositionClose
from common.locks import advisory_lock_free
from testkit.clock import Clock
from testkit.locks import someone_waits_on_a_row_lock
from testkit.processes import kill_group, wait_until
from webhooks.intake.keys import api_key_issue
from webhooks.models import Signal

from .conftest import at_venue

pytestmark = pytest.mark.stack


@pytest.fixture
def clock(ticking) -> Clock:
    return ticking  # shifted as the stack's processes are


def settled(signal_id: int) -> bool:
    return Signal.objects.get(pk=signal_id).status not in (
        Signal.Status.QUEUED,
        Signal.Status.EXECUTING,
    )


def test_a_worker_killed_after_tradelocker_closed_the_position_closes_it_once(
    transactional_db, private, connected
):
    fake = connected.fake
    fake.knobs.rate_limits_enforced = False  # two workers, one login: not the point
    _, key = api_key_issue(account=connected.account, created_by=None, name="crash")
    with private.worker("opener", at_venue(fake)):
        opened = private.alert("tradelocker", key, "buy XAUUSD 0.1")
        wait_until(lambda: settled(opened), 60, "the entry settling")
    assert Signal.objects.get(pk=opened).status == Signal.Status.FILLED
    [position] = fake.positions.values()
    balance = fake.accounts[connected.venue_account.id].balance

    fake.knobs.latency = 0.3  # every answer late: time to take the order's row
    with private.worker("victim", at_venue(fake)) as victim:
        closing = private.alert("tradelocker", key, "sell XAUUSD 0.1")
        wait_until(
            lambda: Order.objects.filter(
                executions__signal_id=closing, status=Order.Status.PENDING
            ).exists(),
            60,
            "the exit's order recorded",
        )
        order_id = Order.objects.get(executions__signal_id=closing).pk
        with transaction.atomic():
            # Holding the order's row: the worker hears TradeLocker's answer
            # and cannot record it.
            Order.objects.select_for_update().get(pk=order_id)
            wait_until(lambda: not fake.positions, 20, "TradeLocker closing it")
            wait_until(someone_waits_on_a_row_lock, 10, "the worker recording")
            kill_group(victim)

    wait_until(
        lambda: advisory_lock_free("account", connected.account.pk), 10, "lock freed"
    )
    assert Order.objects.get(pk=order_id).status == Order.Status.PENDING
    assert PositionClose.objects.filter(position_id=str(position.id)).count() == 1
    fake.knobs.latency = 0
    with private.worker("rescuer", at_venue(fake)):
        assert closing in private.sweep()
        wait_until(lambda: settled(closing), 60, "the exit settling")

    signal = Signal.objects.get(pk=closing)
    assert signal.status == Signal.Status.FILLED, signal.error_message
    closes = [o for o in fake.orders.values() if o.closing]
    assert len(closes) == 1  # closed once: the rescuer read it from the position
    assert not any(
        o.strategy_id and not o.closing and o.side == "sell"
        for o in fake.orders.values()
    )  # and opened no short
    order = Order.objects.get(pk=order_id)
    assert order.status == Order.Status.FILLED
    assert order.filled_quantity == Decimal("0.1")
    assert Position.objects.get(account=connected.account).quantity == 0
    # Bought at the ask 2000.30, sold at the bid 2000.00: -$0.30 on 10 oz, once.
    assert fake.accounts[connected.venue_account.id].balance == balance - 3
