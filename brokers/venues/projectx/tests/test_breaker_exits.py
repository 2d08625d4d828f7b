"""An open venue breaker refuses new entries and nothing that takes risk off:
at the fake ProjectX, with the breaker open, an entry fails fast and reaches
nothing, while an exit alert, a sell against a long, a flatten and a cancel
still reach the venue and fill (or cancel), and their own outcomes still count."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from django.test import Client

from brokers.adapters.base import OrderRequest, VenueError
from brokers.models import Order, OrderType, Position
from brokers.services import account_flatten
from brokers.venues.breaker import Breaker, breakers_state, exits
from brokers.venues.projectx.mapping import Side, Status
from risk.services import account_emergency_close
from webhooks.execution.fanout import signal_execute
from webhooks.execution.run import execution_run
from webhooks.intake.keys import api_key_issue
from webhooks.models import Execution, Signal

FAILURES = 3


@pytest.fixture(autouse=True)
def breaker_settings(settings):
    settings.VENUE_BREAKER_FAILURES = FAILURES
    settings.VENUE_BREAKER_COOLDOWN_SECONDS = 30


def breaker_open(fake) -> None:
    """The host's breaker as N failures in a row leave it."""
    breaker = Breaker("ProjectX", httpx.URL(fake.url).netloc.decode())
    for _ in range(FAILURES):
        breaker.record(ok=False)
    assert [state.state for state in breakers_state()] == ["open"]


def alert(connected, text: str) -> Signal:
    """An alert through the webhook, executed as the worker would."""
    _, key = api_key_issue(account=connected.account, created_by=None, name="alert")
    response = Client().post(
        f"/api/unify/v1/webhook/topstep/{key}", text, content_type="text/plain"
    )
    assert response.status_code == 202, response.content
    signal_id = response.json()["signal_id"]
    signal_execute(signal_id=signal_id)
    return Signal.objects.get(pk=signal_id)


def held(connected) -> int:
    found = connected.fake.positions.get(
        (connected.venue_account.id, connected.contract_id)
    )
    return found[0] if found else 0


def resting(connected) -> OrderRequest:
    """A buy limit far below the market: it rests, working, at the venue."""
    return OrderRequest(
        client_order_id="tf-resting-1",
        symbol=connected.symbol,
        side="buy",
        order_type=OrderType.LIMIT,
        quantity=Decimal(1),
        limit_price=Decimal(20000),
        reference_price=Decimal(21000),
    )


def test_an_entry_fails_fast_and_reaches_nothing(connected):
    breaker_open(connected.fake)
    calls = len(connected.fake.calls)
    signal = alert(connected, "buy MNQ1! 1")
    execution = Execution.objects.get(signal=signal)
    assert execution.status != Execution.Status.FILLED  # left for the retry
    with pytest.raises(VenueError) as held_back:
        execution_run(execution_id=execution.pk)
    assert held_back.value.code == "venue-circuit-open"
    assert len(connected.fake.calls) == calls
    assert not Order.objects.exists()


def test_an_exit_alert_reaches_projectx_and_fills(connected):
    assert alert(connected, "buy MNQ1! 2").status == Signal.Status.FILLED
    breaker_open(connected.fake)
    signal = alert(connected, "exit MNQ1!")
    assert signal.status == Signal.Status.FILLED, signal.error_message
    assert held(connected) == 0
    assert Position.objects.get(account=connected.account).quantity == 0
    # The exit's success is the venue answering: the breaker closed on it.
    assert breakers_state() == []


def test_a_sell_against_a_long_is_an_exit_too(connected):
    assert alert(connected, "buy MNQ1! 1").status == Signal.Status.FILLED
    breaker_open(connected.fake)
    signal = alert(connected, "sell MNQ1! 1")
    assert signal.status == Signal.Status.FILLED, signal.error_message
    assert held(connected) == 0


def test_an_exit_answered_by_a_failure_is_sent_again_at_once(connected, settings):
    """The exit leg itself passes the breaker its own failure opened: its retry
    does not wait out the cool-down, and finds the order instead of placing
    another."""
    assert alert(connected, "buy MNQ1! 1").status == Signal.Status.FILLED
    settings.VENUE_BREAKER_FAILURES = 1
    connected.fake.knobs.drop_after_place = 1  # booked, answered with a 500
    signal = alert(connected, "exit MNQ1!")
    assert signal.status != Signal.Status.FILLED
    assert [state.state for state in breakers_state()] == ["open"]
    execution = Execution.objects.get(signal=signal)
    execution_run(execution_id=execution.pk)  # no clock moved: still open
    execution.refresh_from_db()
    assert execution.status == Execution.Status.FILLED, execution.error_message
    exits_placed = [o for o in connected.fake.orders.values() if o.side == Side.ASK]
    assert len(exits_placed) == 1 and held(connected) == 0


def test_a_flatten_cancels_and_closes_everything_at_projectx(connected):
    assert alert(connected, "buy MNQ1! 2").status == Signal.Status.FILLED
    connected.adapter.place_order(resting(connected))
    breaker_open(connected.fake)
    done = account_flatten(account=connected.account)
    assert (done.orders_cancelled, done.positions_closed) == (1, 1)
    assert held(connected) == 0
    assert {o.status for o in connected.fake.orders.values()} == {
        Status.FILLED,
        Status.CANCELLED,
    }


def test_the_kill_switch_closes_the_account_at_projectx(connected):
    assert alert(connected, "buy MNQ1! 1").status == Signal.Status.FILLED
    breaker_open(connected.fake)
    report = account_emergency_close(account=connected.account)
    assert (report.errors, report.positions_closed) == ([], 1)
    assert held(connected) == 0


def test_a_cancel_alert_reaches_projectx(connected):
    connected.adapter.place_order(resting(connected))
    breaker_open(connected.fake)
    signal = alert(connected, "cancel MNQ1!")
    assert signal.status == Signal.Status.DONE, signal.error_message
    [order] = connected.fake.orders.values()
    assert order.status == Status.CANCELLED


def test_calls_taking_risk_off_still_count_their_failures(connected, client):
    client.sign_in()
    connected.fake.knobs.fail = [500] * (FAILURES + 1)
    with exits():
        for _ in range(FAILURES + 1):
            with pytest.raises(VenueError):
                client.accounts()
    [state] = breakers_state()
    assert (state.state, state.failures) == ("open", FAILURES + 1)
    calls = len(connected.fake.calls)
    with pytest.raises(VenueError) as entry:
        client.accounts()  # anything else is held back by what the exits saw
    assert entry.value.code == "venue-circuit-open"
    assert len(connected.fake.calls) == calls
