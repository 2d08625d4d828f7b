"""Executing a queued signal on the paper venue: fill, position, idempotency, risk."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from billing.models import BillingAccount
from brokers.models import BrokerAccount, Fill, Order, Position
from paperbroker.models import PaperOrder, PaperPosition
from paperbroker.services import quote_record
from risk.models import RiskConfig
from testkit import run_signal
from testkit.locks import held_elsewhere
from webhooks.execution.fanout import signal_execute
from webhooks.models import Execution, Signal

URL = "/api/unify/v1/webhook/paper"


def send(world, **intent) -> Signal:
    body = {"action": "buy", "symbol": "BTCUSDT", "qty": 1, **intent}
    response = Client().post(
        URL,
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.api_key}",
    )
    assert response.status_code == 202, response.json()
    return Signal.objects.get(pk=response.json()["signal_id"])


def execute(signal: Signal) -> Signal:
    return run_signal(signal.pk)


def test_a_market_buy_fills_at_the_ask_around_the_alerts_price(world):
    signal = execute(send(world, price="21000.25", qty=2))
    assert signal.status == Signal.Status.FILLED
    order = Order.objects.get()
    assert (order.status, order.filled_quantity, order.avg_fill_price) == (
        Order.Status.FILLED,
        2,
        Decimal("21000.26"),
    )
    assert order.client_order_id == f"tf-{signal.pk}-{world.account.pk}-2"
    position = Position.objects.get(account=world.account, symbol="BTCUSDT")
    assert (position.quantity, position.avg_price) == (Decimal(2), Decimal("21000.26"))
    execution = signal.executions.get()
    assert execution.risk_checked_at <= execution.sent_at <= execution.acknowledged_at
    assert BillingAccount.objects.get(workspace=world.workspace).trades_count == 1
    assert signal.api_key.last_used_at == signal.received_at


def test_without_a_price_the_last_known_price_is_used(world):
    quote_record(symbol="ETHUSDT", last=Decimal("5000.50"), source="manual")
    execute(send(world, symbol="ETHUSDT"))
    assert Fill.objects.get().price == Decimal("5000.51")  # a buy pays the ask


def test_with_no_price_at_all_the_alert_is_refused_at_intake_with_a_sentence(world):
    """No price in the alert and none known for SOLUSDT: once accepted, then
    failed in the worker (or filled at an invented price); now the sender hears."""
    response = Client().post(
        URL,
        data=json.dumps({"action": "buy", "symbol": "SOLUSDT", "qty": 1}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.api_key}",
    )
    assert response.status_code == 422
    assert response.json()["code"] == "no-price"
    assert '"price": {{close}}' in response.json()["detail"]
    signal = Signal.objects.get(pk=response.json()["signal_id"])
    assert (signal.status, signal.error_code) == (Signal.Status.REJECTED, "no-price")
    assert not Position.objects.exclude(quantity=0).exists()
    # With the alert's price it trades; afterwards the symbol has a price.
    execute(send(world, symbol="SOLUSDT", price="150.5"))
    assert execute(send(world, symbol="SOLUSDT")).status == Signal.Status.FILLED


def test_buys_and_sells_net_into_one_position(world):
    execute(send(world, qty=3, price=100))
    execute(send(world, action="sell", qty=1, price=110))
    execute(send(world, action="sell", qty=4, price=120))
    position = Position.objects.get(symbol="BTCUSDT")
    assert (position.quantity, position.avg_price) == (Decimal(-2), Decimal(120))
    venue = PaperPosition.objects.get(symbol="BTCUSDT")
    assert (venue.quantity, venue.avg_price) == (position.quantity, position.avg_price)


def crashed(signal: Signal) -> None:
    """As if the worker died after the venue call, before recording the outcome."""
    Signal.objects.filter(pk=signal.pk).update(status=Signal.Status.QUEUED)
    Execution.objects.filter(signal=signal).update(status=Execution.Status.EXECUTING)


def test_executing_the_same_signal_twice_places_one_order(world):
    signal = send(world, price=100)
    execute(signal)
    crashed(signal)
    execute(signal)
    assert (
        Order.objects.count() == PaperOrder.objects.count() == Fill.objects.count() == 1
    )
    assert Position.objects.get().quantity == 1


def test_a_signal_claimed_by_a_live_worker_is_not_executed_by_a_second(world):
    signal = send(world, price=100)
    Signal.objects.filter(pk=signal.pk).update(status=Signal.Status.EXECUTING)
    with held_elsewhere("signal", signal.pk):
        assert signal_execute(signal_id=signal.pk) is None
    assert not Order.objects.exists()


def test_a_signal_whose_worker_died_is_resumed_at_once(world):
    signal = send(world, price=100)
    Signal.objects.filter(pk=signal.pk).update(status=Signal.Status.EXECUTING)
    assert execute(signal).status == Signal.Status.FILLED
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("limits", "rule"),
    [
        ({"max_order_quantity": 2}, "risk:max-order-quantity"),
        ({"max_position_per_symbol": 3}, "risk:max-position"),
        ({"max_contracts": 4}, "risk:max-contracts"),
    ],
)
def test_risk_limits_stop_an_order_before_it_reaches_the_venue(world, limits, rule):
    execute(send(world, symbol="ETHUSDT", qty=2, price=10))
    RiskConfig.objects.create(account=world.account, **limits)
    signal = execute(send(world, qty=4, price=100))
    # The account refused it, and the signal says so in the account's word.
    assert (signal.status, signal.error_code) == (Signal.Status.REJECTED, rule)
    assert not PaperOrder.objects.filter(symbol="BTCUSDT").exists()


def test_an_exit_is_allowed_even_over_the_limits(world):
    execute(send(world, qty=3, price=100))
    RiskConfig.objects.create(
        account=world.account, max_contracts=1, max_order_quantity=1
    )
    signal = execute(send(world, action="sell", qty=3, price=101))
    assert signal.status == Signal.Status.FILLED
    assert Position.objects.get().quantity == 0


def test_a_retry_after_the_order_reached_the_venue_is_not_judged_again(world):
    """The first attempt filled, then the worker died before marking the signal."""
    RiskConfig.objects.create(account=world.account, max_position_per_symbol=2)
    signal = send(world, qty=2, price=100)
    execute(signal)
    crashed(signal)
    again = execute(signal)
    # Judged anew, the filled position (2) plus 2 would break the limit of 2.
    assert again.status == Signal.Status.FILLED and not again.error_code
    assert Order.objects.count() == PaperOrder.objects.count() == 1


def test_an_account_disabled_after_the_alert_was_queued_does_not_trade(world):
    signal = send(world, price=100)
    BrokerAccount.objects.filter(pk=world.account.pk).update(enabled=False)
    assert execute(signal).error_code == "account-disabled"
    assert not Order.objects.exists()


def test_the_printed_example_alert_fills_whatever_the_day(world):
    import shlex

    from webhooks.intake.examples import example_curl

    curl = shlex.split(example_curl(url="http://x", key=world.api_key, venue="paper"))
    body = curl[curl.index("-d") + 1]
    response = Client().post(
        URL,
        data=body,
        content_type="text/plain",
        HTTP_AUTHORIZATION=f"Bearer {world.api_key}",
    )
    assert (
        execute(Signal.objects.get(pk=response.json()["signal_id"])).status
        == Signal.Status.FILLED
    )
