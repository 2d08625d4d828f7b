"""A worker killed between Tradovate's acceptance of an order and our record of
it: after recovery the account has one order at the venue and one in our books,
found again through the command that carried our clOrdId.

Real processes (daphne and Celery workers on a throwaway Redis) against the fake
Tradovate in this process, every clock shifted to the same Tuesday noon in
Chicago (MNQ trades then, whatever day the suite runs)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from django.db import transaction

from brokers.models import Fill, Order, Position
from common.locks import advisory_lock_free
from testkit.clock import Clock
from testkit.locks import someone_waits_on_a_row_lock
from testkit.processes import kill_group, wait_until
from webhooks.intake.keys import api_key_issue
from webhooks.models import Execution, Signal

from .conftest import at_venue

pytestmark = pytest.mark.stack


@pytest.fixture
def clock(ticking) -> Clock:
    return ticking  # shifted as the stack's processes are


def test_a_worker_killed_after_tradovate_accepted_the_order_records_that_one_order(
    transactional_db, private, connected
):
    fake = connected.fake
    _, key = api_key_issue(account=connected.account, created_by=None, name="crash")
    # The placement is held at the venue for a moment (a gathering that never
    # fills: one order), long enough for the test to take our order's row.
    fake.knobs.gather, fake.knobs.gather_seconds = 2, 3.0

    with private.worker("victim", at_venue(fake)) as victim:
        response = httpx.post(
            f"{private.base_url}/api/unify/v1/webhook/tradovate/{key}",
            content="buy MNQ1! 1",
            headers={"Content-Type": "text/plain"},
        )
        assert response.status_code == 202, response.text
        signal_id = response.json()["signal_id"]
        wait_until(
            lambda: (
                Execution.objects.filter(
                    signal_id=signal_id, status=Execution.Status.EXECUTING
                ).exists()
                and Order.objects.filter(
                    executions__signal_id=signal_id, status=Order.Status.PENDING
                ).exists()
            ),
            60,
            "the venue call starting",
        )
        order_id = Order.objects.get().pk
        with transaction.atomic():
            Order.objects.select_for_update().get(pk=order_id)
            wait_until(
                lambda: any(o.cl_ord_id for o in fake.orders.values()),
                15,
                "Tradovate accepting the order",
            )
            wait_until(someone_waits_on_a_row_lock, 10, "the worker recording")
            kill_group(victim)

    wait_until(
        lambda: advisory_lock_free("account", connected.account.pk), 10, "lock freed"
    )
    order = Order.objects.get()
    assert order.status == Order.Status.PENDING and not Fill.objects.exists()
    fake.knobs.gather = 0
    with private.worker("rescuer", at_venue(fake)):
        assert signal_id in private.sweep()
        wait_until(
            lambda: (
                Signal.objects.get(pk=signal_id).status
                not in (Signal.Status.QUEUED, Signal.Status.EXECUTING)
            ),
            60,
            "the signal settling",
        )

    signal = Signal.objects.get(pk=signal_id)
    assert signal.status == Signal.Status.FILLED, signal.error_message
    tagged = [o for o in fake.orders.values() if o.cl_ord_id]
    assert len(tagged) == 1  # found by its clOrdId: not placed again
    assert tagged[0].cl_ord_id == order.client_order_id
    order.refresh_from_db()
    assert order.status == Order.Status.FILLED
    assert order.venue_order_id == str(tagged[0].id)
    assert Fill.objects.count() == 1
    assert Position.objects.get(account=connected.account).quantity == Decimal(1)
