"""A fan-out's executions run side by side on threads (EXECUTION_FANOUT_THREADS),
each on its own connection, and a live venue fills after the judgement: the
trial's last trades still go to one execution each (those judged and not yet
finished count)."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest

import testkit
from billing.models import BillingAccount
from paperbroker.services import quote_record
from testkit.factories import PaperAccountFactory
from webhooks.execution import fanout, run
from webhooks.models import Execution, Signal
from webhooks.strategies.services import strategy_create, subscription_save

pytestmark = pytest.mark.django_db(transaction=True)


def test_side_by_side_executions_take_only_the_trials_last_trades(
    world, settings, billing_on, monkeypatch
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.TRIAL_TRADES = 3
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    BillingAccount.objects.filter(workspace=world.workspace).update(trades_count=1)
    strategy, key = strategy_create(
        workspace=world.workspace, user=world.owner, name="c"
    )
    for n in range(6):
        account = PaperAccountFactory.create(workspace=world.workspace, name=f"c{n}")
        subscription_save(strategy=strategy, account=account)
    threads: set[str] = set()
    real = fanout._execution_side_by_side

    def noted(execution_id: int) -> None:
        threads.add(threading.current_thread().name)
        real(execution_id)

    monkeypatch.setattr(fanout, "_execution_side_by_side", noted)
    placed = run.order_place

    def slow_venue(**kwargs):  # a live venue's round trip: fills come late
        time.sleep(0.3)
        return placed(**kwargs)

    monkeypatch.setattr(run, "order_place", slow_venue)
    response = testkit.post_alert(key, {"action": "buy", "symbol": "BTCUSDT", "qty": 1})
    assert response.status_code == 202, response.content
    fanout.signal_execute(signal_id=response.json()["signal_id"])
    assert len(threads) > 1  # really side by side
    outcomes = Execution.objects.filter(signal__strategy=strategy)
    assert sorted(outcomes.values_list("error_code", flat=True)) == [
        "",
        "",
        *["trial-expired"] * 4,
    ]
    assert BillingAccount.objects.get(workspace=world.workspace).trades_count == 3
    assert Signal.objects.get().status == "partial"  # some accounts filled, not all
