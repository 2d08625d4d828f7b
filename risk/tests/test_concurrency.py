"""Fifty different alerts for one account at once, on PostgreSQL, in threads: the
per-account lock judges them one after the other, so the account never holds more
than its contract limit (at the venue and in our books, at any moment), no order
risks more than the day has left, and every refused alert says which rule refused
it. An emergency close waits for an entry in flight. Stacked entries count what
the open positions already risk to their stops against the day's budget."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from itertools import accumulate
from typing import Any

import pytest
from django.db import connections

from brokers.models import BrokerAccount, Fill, Order, Position
from brokers.positions import signed
from paperbroker.models import PaperAccount, PaperFill, PaperPosition
from paperbroker.services import quote_record
from risk.models import RiskConfig
from risk.monitor import risk_monitor
from risk.services import account_emergency_close
from testkit.processes import wait_until
from webhooks.execution.claims import AccountBusy
from webhooks.execution.fanout import signal_execute
from webhooks.execution.run import execution_run
from webhooks.intake.services import signal_receive
from webhooks.models import Execution, Signal

ALERTS = 50
LIMIT = Decimal(5)
PRICE = Decimal(2000)
SETTLING = (Signal.Status.QUEUED, Signal.Status.EXECUTING)
RUNNABLE = (Execution.Status.PENDING, Execution.Status.EXECUTING)


@pytest.fixture
def account(transactional_db, world, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    quote_record(symbol="BTCUSDT", last=PRICE, source="manual")
    return world.account


def in_thread(work: Callable[[], Any]) -> Callable[[], Any]:
    """Each thread has its own database connection: close it when done."""

    def run() -> Any:
        try:
            return work()
        finally:
            connections.close_all()

    return run


def execute_like_a_worker(signal_id: int) -> None:
    """What the Celery tasks do: execute, and retry an execution while its
    account is busy (signal_execute enqueues it then; no worker is running)."""
    signal_execute(signal_id=signal_id)
    for pk in Execution.objects.filter(
        signal_id=signal_id, status__in=RUNNABLE
    ).values_list("pk", flat=True):
        while True:
            try:
                execution_run(execution_id=pk)
                break
            except AccountBusy:
                time.sleep(random.uniform(0.01, 0.05))


def fire_at_once(key: str, bodies: list[dict[str, Any]]) -> list[int]:
    """Every body through the intake and the executor, each in its own thread,
    released together. Returns the signal ids."""
    start = threading.Barrier(len(bodies))
    ids: list[int] = []
    errors: list[BaseException] = []

    def one(body: dict[str, Any]) -> None:
        start.wait()
        try:
            result = signal_receive(
                raw_body=json.dumps(body).encode(),
                token=key,
                content_type="text/plain",
            )
            assert result.http_status == 202, result.body
            ids.append(result.body["signal_id"])
            execute_like_a_worker(result.body["signal_id"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=in_thread(partial(one, b))) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(ids) == len(bodies)
    # A live worker (the session's stack) may have taken some: wait for them too.
    wait_until(
        lambda: not Signal.objects.filter(pk__in=ids, status__in=SETTLING).exists(),
        15,
        "every signal final",
    )
    return ids


@dataclass
class Sampler:
    """Polls both books while the alerts run: the largest position ever seen."""

    account_id: int
    largest: Decimal = Decimal(0)
    stop: bool = False

    def run(self) -> None:
        while not self.stop:
            held = [
                *Position.objects.filter(account_id=self.account_id).values_list(
                    "quantity", flat=True
                ),
                *PaperPosition.objects.filter(
                    account__broker_account_id=self.account_id
                ).values_list("quantity", flat=True),
            ]
            self.largest = max([self.largest, *(abs(q) for q in held)])
            time.sleep(0.005)


def fire_watched(key: str, account_id: int, bodies: list[dict[str, Any]]) -> list[int]:
    sampler = Sampler(account_id)
    watcher = threading.Thread(target=in_thread(sampler.run))
    watcher.start()
    try:
        return fire_at_once(key, bodies)
    finally:
        sampler.stop = True
        watcher.join()
        assert sampler.largest <= LIMIT, f"a position of {sampler.largest} was seen"


def path(fills: Iterable[tuple[str, Decimal]]) -> list[Decimal]:
    """The position after each fill, fills taken in the order they were booked."""
    return list(accumulate(signed(side, quantity) for side, quantity in fills))


def assert_never_past_the_limit(account) -> None:
    venue = path(
        PaperFill.objects.filter(account__broker_account=account)
        .order_by("pk")
        .values_list("side", "quantity")
    )
    ours = path(
        Fill.objects.filter(account=account)
        .order_by("pk")
        .values_list("side", "quantity")
    )
    assert venue, "nothing filled"
    assert max(abs(q) for q in venue) <= LIMIT, venue
    assert max(abs(q) for q in ours) <= LIMIT, ours
    # Both books agree on where the account ended.
    position = Position.objects.get(account=account, symbol="BTCUSDT").quantity
    paper = PaperPosition.objects.get(
        account__broker_account=account, symbol="BTCUSDT"
    ).quantity
    assert position == paper == venue[-1] == ours[-1]


def refusals(signal_ids: list[int]) -> dict[str, int]:
    """How many executions each rule refused (an entry refused after its exit
    filled leaves the execution filled, with the refusal's code)."""
    counts: dict[str, int] = {}
    for code in Execution.objects.filter(signal_id__in=signal_ids).values_list(
        "error_code", flat=True
    ):
        if code:
            counts[code] = counts.get(code, 0) + 1
    return counts


def test_fifty_concurrent_alerts_never_take_the_account_past_its_contract_limit(
    account, world
):
    RiskConfig.objects.create(account=account, max_contracts=LIMIT)
    rng = random.Random(42)
    bodies = [
        {
            "action": rng.choice(["buy", "buy", "sell"]),
            "symbol": "BTCUSDT",
            "qty": rng.randint(1, 3),
            "id": f"contracts-{n}",
        }
        for n in range(ALERTS)
    ]
    ids = fire_watched(world.api_key, account.pk, bodies)
    assert_never_past_the_limit(account)
    codes = refusals(ids)
    assert set(codes) == {"risk:max-contracts"}, codes
    statuses = set(Signal.objects.filter(pk__in=ids).values_list("status", flat=True))
    assert statuses <= {Signal.Status.FILLED, Signal.Status.REJECTED}


def test_with_stops_each_alert_is_also_held_to_the_daily_risk_budget(account, world):
    """Every other alert's stop would lose more than the $1,000 the day has left:
    all of those are refused, whatever order they are judged in."""
    RiskConfig.objects.create(
        account=account, max_contracts=LIMIT, daily_loss_limit=Decimal(1000)
    )
    risk_monitor(account=account)  # the day's starting balance and equity
    # x 1 BTCUSDT (point value 1): $1,100 or $150 at risk to the stop.
    stops = {n: PRICE - (1100 if n % 2 else 150) for n in range(ALERTS)}
    bodies = [
        {
            "action": "buy",
            "symbol": "BTCUSDT",
            "qty": 1,
            "price": str(PRICE),
            "stop_loss": str(stop),
            "id": f"budget-{n}",
        }
        for n, stop in stops.items()
    ]
    ids = fire_watched(world.api_key, account.pk, bodies)
    assert_never_past_the_limit(account)
    for signal in Signal.objects.filter(pk__in=ids).prefetch_related("executions"):
        (execution,) = signal.executions.all()
        if signal.payload["stop_loss"]["value"] == str(PRICE - 1100):
            assert execution.error_code in ("risk:risk-to-breach", "risk:max-contracts")
            assert signal.status == Signal.Status.REJECTED
        else:
            assert execution.error_code in ("", "risk:max-contracts")
    assert Position.objects.get(account=account).quantity == LIMIT
    assert sum(refusals(ids).values()) == ALERTS - LIMIT


def test_an_emergency_close_during_an_entrys_venue_call_leaves_the_account_flat(
    account, world
):
    RiskConfig.objects.create(account=account, max_contracts=LIMIT)
    PaperAccount.objects.filter(broker_account=account).update(execution_delay_ms=1500)
    body = {"action": "buy", "symbol": "BTCUSDT", "qty": 2, "id": "in-flight"}
    result = signal_receive(raw_body=json.dumps(body).encode(), token=world.api_key)
    entry = threading.Thread(
        target=in_thread(lambda: signal_execute(signal_id=result.body["signal_id"]))
    )
    entry.start()
    wait_until(
        lambda: Order.objects.filter(
            account=account, status=Order.Status.PENDING
        ).exists(),
        10,
        "the entry judged and on its way to the venue",
    )
    account_emergency_close(account=account)  # the kill switch, or a breach
    entry.join(timeout=15)
    wait_until(
        lambda: (
            Signal.objects.filter(pk=result.body["signal_id"])
            .exclude(status__in=SETTLING)
            .exists()
        ),
        15,
        "the entry final",
    )
    account.refresh_from_db()
    assert account.status == BrokerAccount.Status.CLOSE_ONLY
    assert PaperPosition.objects.get(account__broker_account=account).quantity == 0


def test_open_positions_risk_to_their_stops_counts_against_the_days_budget(
    account, world
):
    RiskConfig.objects.create(account=account, daily_loss_limit=Decimal(1000))
    risk_monitor(account=account)
    bodies = [
        {
            "action": "buy",
            "symbol": "BTCUSDT",
            "qty": 1,
            "price": str(PRICE),
            "stop_loss": str(PRICE - 300),  # $300 each: three fit in $1,000
            "id": f"stacked-{n}",
        }
        for n in range(10)
    ]
    ids = fire_at_once(world.api_key, bodies)
    assert Position.objects.get(account=account).quantity <= 3
    assert refusals(ids) == {"risk:risk-to-breach": 7}
