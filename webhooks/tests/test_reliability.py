"""Exactly once under stress, with real processes: concurrent copies of one alert,
workers killed mid-execution, a Redis restart that loses the queue."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.db import transaction
from django.utils import timezone

from brokers.models import Fill, Order, Position
from common.locks import advisory_lock_free
from paperbroker.models import PaperAccount, PaperFill, PaperOrder
from testkit.locks import someone_waits_on_a_row_lock
from testkit.processes import (
    PrivateStack,
    RedisServer,
    kill_group,
    private_stack,
    wait_until,
)
from webhooks.models import Execution, Signal
from webhooks.tasks import signal_execute_task

pytestmark = pytest.mark.stack

PATH = "/api/unify/v1/webhook/paper"
SETTLING = (Signal.Status.QUEUED, Signal.Status.EXECUTING)


def alert(**fields: Any) -> dict[str, Any]:
    return {"action": "buy", "symbol": "BTCUSDT", "qty": 1, "price": "100", **fields}


async def _post_all(
    base_url: str, key: str, bodies: list[dict[str, Any]]
) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "text/plain"}
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        return await asyncio.gather(
            *(client.post(PATH, content=json.dumps(b), headers=headers) for b in bodies)
        )


def post_all(
    base_url: str, key: str, bodies: list[dict[str, Any]]
) -> list[httpx.Response]:
    """Post every body at once, as TradingView retries or a busy strategy would."""
    return asyncio.run(_post_all(base_url, key, bodies))


def post_one(base_url: str, key: str, **fields: Any) -> int:
    (response,) = post_all(base_url, key, [alert(**fields)])
    assert response.status_code == 202, response.text
    signal_id: int = response.json()["signal_id"]
    return signal_id


def wait_settled(signal_ids: list[int], timeout: float = 15) -> None:
    wait_until(
        lambda: not Signal.objects.filter(pk__in=signal_ids, status__in=SETTLING),
        timeout,
        f"signals {signal_ids} executing",
    )


def assert_executed_once(signal_id: int, quantity: Decimal) -> None:
    signal = Signal.objects.get(pk=signal_id)
    execution = signal.executions.get()
    assert (signal.status, execution.status) == ("filled", "filled"), (
        signal.error_code,
        execution.error_code,
    )
    assert Order.objects.get().status == Order.Status.FILLED
    assert (
        PaperOrder.objects.count()
        == PaperFill.objects.count()
        == Fill.objects.count()
        == 1
    )
    assert Position.objects.get(symbol="BTCUSDT").quantity == quantity


# --- Concurrent alerts, on the session stack ------------------------------------


@pytest.mark.parametrize("extra", [{}, {"id": "alert-42"}], ids=["body", "id"])
def test_twenty_concurrent_copies_of_one_alert_make_one_signal_and_one_order(
    transactional_db, stack, world, extra
):
    responses = post_all(stack.base_url, world.api_key, [alert(**extra)] * 20)
    assert sorted(r.status_code for r in responses) == [200] * 19 + [202]
    (first,) = [r.json()["signal_id"] for r in responses if r.status_code == 202]
    duplicates = [r.json() for r in responses if r.status_code == 200]
    assert {d["code"] for d in duplicates} == {"duplicate"}
    # A copy racing the first one's commit may not know its id yet: None.
    assert {d["signal_id"] for d in duplicates} <= {first, None}
    wait_settled([first])
    assert Signal.objects.get(pk=first).status == Signal.Status.FILLED
    assert Signal.objects.filter(status=Signal.Status.DUPLICATE).count() == 19
    assert_executed_once(first, Decimal(1))


def test_two_different_alerts_in_the_same_second_both_execute(
    transactional_db, stack, world
):
    fired = timezone.now().replace(microsecond=0).isoformat()
    bodies = [alert(qty=1, timenow=fired), alert(qty=2, timenow=fired)]
    responses = post_all(stack.base_url, world.api_key, bodies)
    assert [r.status_code for r in responses] == [202, 202], [r.text for r in responses]
    ids = [r.json()["signal_id"] for r in responses]
    wait_settled(ids)
    signals = Signal.objects.filter(pk__in=ids)
    assert {s.status for s in signals} == {Signal.Status.FILLED}
    first, second = sorted(s.received_at for s in signals)
    assert second - first < timedelta(seconds=1)
    assert Order.objects.count() == Fill.objects.count() == 2
    assert Position.objects.get(symbol="BTCUSDT").quantity == 3


# --- Crashes, on a private stack ------------------------------------------------


@pytest.fixture(scope="module")
def private(django_db_setup, tmp_path_factory) -> Iterator[PrivateStack]:
    """daphne on a throwaway Redis, its workers this module's to kill."""
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server on this machine")
    with private_stack(tmp_path_factory.mktemp("private")) as made:
        yield made


def venue_delay(world, ms: int) -> None:
    PaperAccount.objects.filter(broker_account=world.account).update(
        execution_delay_ms=ms
    )


def in_flight(signal_id: int) -> bool:
    """Claimed and its order intent recorded: the venue call has begun."""
    return (
        Execution.objects.filter(
            signal_id=signal_id, status=Execution.Status.EXECUTING
        ).exists()
        and Order.objects.filter(
            executions__signal_id=signal_id, status=Order.Status.PENDING
        ).exists()
    )


def test_a_worker_killed_during_the_venue_call_is_resumed_into_one_order(
    transactional_db, private, world
):
    venue_delay(world, 3000)
    with private.worker("victim") as victim:
        signal_id = post_one(private.base_url, world.api_key)
        wait_until(lambda: in_flight(signal_id), 15, "the venue call starting")
        kill_group(victim)
    # Its PostgreSQL session, and so its account lock, died with it.
    wait_until(
        lambda: advisory_lock_free("account", world.account.pk), 10, "lock freed"
    )
    assert not PaperOrder.objects.exists()  # killed before the venue saw it
    venue_delay(world, 0)  # only the kill needed the slow venue
    with private.worker("rescuer"):
        # The message stays unacknowledged until the visibility timeout: the
        # sweeper is what brings the signal back.
        assert signal_id in private.sweep()
        wait_settled([signal_id])
    assert_executed_once(signal_id, Decimal(1))


def test_a_worker_killed_after_the_venue_filled_records_that_one_fill(
    transactional_db, private, world
):
    venue_delay(world, 1500)
    with private.worker("victim") as victim:
        signal_id = post_one(private.base_url, world.api_key)
        wait_until(lambda: in_flight(signal_id), 15, "the venue call starting")
        order_id = Order.objects.get().pk
        with transaction.atomic():
            # Holding the order's row: the worker learns the fill, cannot record it.
            Order.objects.select_for_update().get(pk=order_id)
            wait_until(
                lambda: PaperOrder.objects.filter(status="filled").exists(),
                10,
                "the venue filling",
            )
            wait_until(someone_waits_on_a_row_lock, 5, "the worker recording")
            kill_group(victim)
    wait_until(
        lambda: advisory_lock_free("account", world.account.pk), 10, "lock freed"
    )
    assert Order.objects.get().status == Order.Status.PENDING
    assert PaperFill.objects.count() == 1 and not Fill.objects.exists()
    with private.worker("rescuer"):
        assert signal_id in private.sweep()
        wait_settled([signal_id])
    assert_executed_once(signal_id, Decimal(1))


def queued_signal_ids(server: RedisServer) -> set[int]:
    """The signal ids waiting in the orders queue (kombu JSON envelope, base64 body)."""
    ids = set()
    for raw in server.client().lrange("orders", 0, -1):
        message = json.loads(raw)
        if message["headers"]["task"] == signal_execute_task.name:
            args, _, _ = json.loads(base64.b64decode(message["body"]))
            ids.add(args[0])
    return ids


def test_signals_queued_when_redis_restarts_are_all_executed_once(
    transactional_db, private, world
):
    before = [post_one(private.base_url, world.api_key, qty=n) for n in (1, 2)]
    assert set(before) <= queued_signal_ids(private.redis)  # waiting for a worker
    private.redis.restart()  # no persistence: the queue is gone
    assert not private.redis.client().exists("orders")
    after = post_one(private.base_url, world.api_key, qty=3)  # into the empty Redis
    with private.worker("after-restart"):
        private.sweep()
        wait_settled([*before, after])
    signals = Signal.objects.filter(pk__in=[*before, after])
    assert {s.status for s in signals} == {Signal.Status.FILLED}
    assert Execution.objects.filter(status=Execution.Status.FILLED).count() == 3
    assert (
        Order.objects.count() == PaperOrder.objects.count() == Fill.objects.count() == 3
    )
    assert Position.objects.get(symbol="BTCUSDT").quantity == 6
