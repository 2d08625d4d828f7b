"""The retry paths, on a venue that misbehaves as scripted: a timeout before or
after the venue took the order, a rate limit, a refusal, a partial fill that
completes later. Every one ends with the order at the venue once, our books
equal to the venue's, and the execution's outcome saying what happened."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import BillingAccount
from brokers.adapters.base import VenueError
from brokers.adapters.scripted import ScriptedAdapter, ScriptedBook
from brokers.models import Order, Position
from testkit import post_alert
from testkit.factories import AccountFactory
from webhooks.execution.fanout import signal_execute
from webhooks.execution.run import execution_run
from webhooks.execution.supervision import executions_refresh
from webhooks.models import Execution
from webhooks.tasks import execution_run_task


@pytest.fixture
def scripted(world, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.BROKER_ADAPTERS = {
        **settings.BROKER_ADAPTERS,
        "scripted": "brokers.adapters.scripted.ScriptedAdapter",
    }
    account = AccountFactory.create(
        workspace=world.workspace, venue="scripted", name="Scripted"
    )
    ScriptedAdapter.book(account).price("BTCUSDT", Decimal(100))
    return account


def book(account) -> ScriptedBook:
    return ScriptedAdapter.book(account)


def alerted(account, *steps: str) -> Execution:
    """An alert for 2 BTCUSDT whose first attempt meets the scripted `steps`, as
    the worker runs it: the fan-out executes the one account inline and, on a
    transient error, hands the execution to its retrying task (queued here, not
    run: each test runs the retry itself)."""
    book(account).script(*steps)
    body = {"action": "buy", "symbol": "BTCUSDT", "qty": 2}
    response = post_alert(account.plain_key, body)
    assert response.status_code == 202, response.json()
    signal_execute(signal_id=response.json()["signal_id"])
    return Execution.objects.get(signal_id=response.json()["signal_id"])


def held(account) -> Decimal:
    row = Position.objects.filter(account=account, symbol="BTCUSDT").first()
    return row.quantity if row else Decimal(0)


def test_the_task_retries_transient_venue_errors_and_a_busy_account():
    retried = execution_run_task.autoretry_for
    assert VenueError in retried and "AccountBusy" in {e.__name__ for e in retried}


def test_a_timeout_after_the_venue_took_the_order_is_not_placed_twice(scripted):
    execution = alerted(scripted, "timeout-after")
    assert execution.status == Execution.Status.EXECUTING  # resumable
    assert Order.objects.get().status == Order.Status.PENDING  # recorded first
    assert book(scripted).held("BTCUSDT") == 2  # the venue did fill it
    calls_before = len(book(scripted).calls)
    done = execution_run(execution_id=execution.pk)  # the task's retry
    assert done is not None and done.status == Execution.Status.FILLED
    retry_calls = book(scripted).calls[calls_before:]
    assert "find_order" in retry_calls and "place_order" not in retry_calls
    assert len(book(scripted).orders) == 1
    assert held(scripted) == book(scripted).held("BTCUSDT") == 2
    assert BillingAccount.objects.get(workspace=scripted.workspace).trades_count == 1
    execution.refresh_from_db()
    assert execution.signal.status == "filled"


def test_a_timeout_before_the_venue_took_it_is_placed_on_the_retry(scripted):
    execution = alerted(scripted, "timeout-before")
    assert execution.status == Execution.Status.EXECUTING
    assert book(scripted).orders == {}
    done = execution_run(execution_id=execution.pk)
    assert done is not None and done.status == Execution.Status.FILLED
    assert len(book(scripted).orders) == 1 and held(scripted) == 2


def test_a_rate_limit_is_waited_out_and_then_fills(scripted):
    execution = alerted(scripted, "rate-limited", "rate-limited")
    with pytest.raises(VenueError) as limited:  # the task's first retry
        execution_run(execution_id=execution.pk)
    assert (limited.value.code, limited.value.transient) == ("rate-limited", True)
    done = execution_run(execution_id=execution.pk)
    assert done is not None and done.status == Execution.Status.FILLED
    assert held(scripted) == 2


def test_a_refusal_ends_the_execution_with_the_venues_code(scripted):
    done = alerted(scripted, "reject")
    assert (done.status, done.error_code) == (
        Execution.Status.REJECTED,
        "venue:rejected",
    )
    assert done.error_message == "The venue refused the order."
    assert held(scripted) == 0
    assert BillingAccount.objects.get(workspace=scripted.workspace).trades_count == 0


def test_a_partial_fill_works_until_the_venue_completes_it(scripted):
    execution = alerted(scripted, "partial")
    assert execution.status == Execution.Status.WORKING
    assert held(scripted) == 1
    assert executions_refresh() == 0  # nothing new at the venue yet
    (order,) = Order.objects.all()
    book(scripted).complete(order.client_order_id)
    assert executions_refresh() == 1
    execution.refresh_from_db()
    assert execution.status == Execution.Status.FILLED
    assert held(scripted) == book(scripted).held("BTCUSDT") == 2
    assert execution.signal.status == "filled"
    assert BillingAccount.objects.get(workspace=scripted.workspace).trades_count == 1
