"""One paper execution's cost in queries and channel-layer trips: a regression
here slows every account a signal fans out to."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client

import common.realtime
from common.realtime import workspace_group
from paperbroker.services import quote_record
from webhooks.execution.fanout import signal_execute
from webhooks.models import Signal

URL = "/api/unify/v1/webhook/paper"

# Outside a caller's transaction, as in a worker: commits and their hooks are real.
pytestmark = pytest.mark.django_db(transaction=True)


def send(world, side: str, number: int) -> Signal:
    body = {"action": side, "symbol": "BTCUSDT", "qty": "0.01", "id": f"q-{number}"}
    response = Client().post(
        URL,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.api_key}",
    )
    assert response.status_code == 202, response.json()
    return Signal.objects.get(pk=response.json()["signal_id"])


@pytest.fixture
def priced(world):
    quote_record(symbol="BTCUSDT", last=Decimal(95000), source="manual")
    # The first fill of a trading day remembers its starting equity: not counted.
    signal_execute(signal_id=send(world, "buy", 0).pk)
    return world


@pytest.mark.parametrize("side", ["sell", "buy"])
def test_a_filled_paper_execution_costs_at_most_its_queries(
    priced, side, django_assert_max_num_queries
):
    signal = send(priced, side, 1)
    # 58 without Stripe's keys (an unlimited instance asks no plan). With them,
    # an entry asks the plan again (a trial that ran out while the alert was
    # queued refuses entries, never exits): billing/tests cover that path.
    with django_assert_max_num_queries(58):
        signal_execute(signal_id=signal.pk)
    signal.refresh_from_db()
    assert signal.status == Signal.Status.FILLED


def test_with_billing_on_an_entry_costs_ten_queries_more(
    priced, billing_on, django_assert_max_num_queries
):
    # In a savepoint (a failure there spares the exit: SAVEPOINT, RELEASE): the
    # billing row read, then locked (a trial counts its trades), the plan it
    # tries, the entries in flight, the fan-out's rank and the accounts held;
    # and the fill's count in one transaction with its finish (BEGIN, COMMIT).
    signal = send(priced, "buy", 1)
    with django_assert_max_num_queries(58 + 10):
        signal_execute(signal_id=signal.pk)
    signal.refresh_from_db()
    assert signal.status == Signal.Status.FILLED


def test_an_executions_events_all_arrive_in_one_trip_to_the_channel_layer(
    priced, monkeypatch
):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(workspace_group(priced.workspace.pk), channel)
    trips = []
    real = common.realtime.async_to_sync

    def counted(fn):
        trips.append(fn)
        return real(fn)

    monkeypatch.setattr(common.realtime, "async_to_sync", counted)
    signal_execute(signal_id=send(priced, "sell", 2).pk)

    async def drain() -> list[str]:
        seen: list[str] = []
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), 0.5)
            except TimeoutError:
                return seen
            seen.append(message["event"]["type"])

    assert sorted(async_to_sync(drain)()) == [
        "execution.update",
        "paper_account_update",
        "paper_fill_update",
        "paper_order_update",
        "position.update",
        "signal.update",
    ]
    assert len(trips) == 1
