"""The venue circuit breaker, at the fake ProjectX: it opens after failures in a
row, fails fast while open (nothing reaches the venue), lets one probe through
after the cool-down, and never makes an order twice."""

from __future__ import annotations

import httpx
import pytest
from django.test import Client

from brokers.adapters.base import VenueError
from brokers.models import Fill, Order, Position
from brokers.venues.breaker import Breaker, breakers_state
from brokers.venues.sessions import send
from webhooks.execution.fanout import signal_execute
from webhooks.execution.run import execution_run
from webhooks.intake.keys import api_key_issue
from webhooks.models import Execution, Signal


@pytest.fixture(autouse=True)
def breaker_settings(settings):
    settings.VENUE_BREAKER_FAILURES = 3
    settings.VENUE_BREAKER_COOLDOWN_SECONDS = 30


def host(fake) -> str:
    return httpx.URL(fake.url).netloc.decode()


def code_of(call) -> str:
    with pytest.raises(VenueError) as raised:
        call()
    assert raised.value.transient
    return raised.value.code


def test_failures_in_a_row_open_it_and_then_calls_fail_without_reaching_projectx(
    fake, client
):
    client.sign_in()
    fake.knobs.fail = [500, 502, 503]
    assert [code_of(client.accounts) for _ in range(3)] == ["venue-error"] * 3
    calls = len(fake.calls)
    # The fake would answer now; the breaker does not ask it.
    assert code_of(client.accounts) == "venue-circuit-open"
    assert len(fake.calls) == calls
    [state] = breakers_state()
    assert (state.venue, state.host, state.state, state.failures) == (
        "projectx",
        host(fake),
        "open",
        3,
    )


def test_after_the_cool_down_one_probe_goes_and_its_success_closes_it(
    fake, client, clock
):
    client.sign_in()
    fake.knobs.fail = [500] * 3
    for _ in range(3):
        code_of(client.accounts)
    clock.advance(seconds=29)
    assert code_of(client.accounts) == "venue-circuit-open"
    clock.advance(seconds=1)
    assert client.accounts() == []  # the probe, answered
    assert breakers_state() == []
    assert client.accounts() == []


def test_a_failed_probe_opens_it_again_for_a_whole_cool_down(fake, client, clock):
    client.sign_in()
    fake.knobs.fail = [500] * 4
    for _ in range(3):
        code_of(client.accounts)
    clock.advance(seconds=30)
    assert code_of(client.accounts) == "venue-error"  # the probe, failed
    assert code_of(client.accounts) == "venue-circuit-open"
    clock.advance(seconds=29)
    assert code_of(client.accounts) == "venue-circuit-open"
    clock.advance(seconds=1)
    assert client.accounts() == []


def test_half_open_lets_one_probe_through_whichever_process_takes_it(
    fake, client, clock
):
    client.sign_in()
    fake.knobs.fail = [500] * 3
    for _ in range(3):
        code_of(client.accounts)
    clock.advance(seconds=30)
    Breaker("ProjectX", host(fake)).admit()  # another worker's probe, in flight
    assert code_of(client.accounts) == "venue-circuit-open"
    [state] = breakers_state()
    assert state.state == "half_open"


def test_an_answer_that_is_not_a_failure_ends_the_run_of_failures(fake, client):
    client.sign_in()
    fake.knobs.fail = [500, 500, 404, 500, 500]
    for _ in range(5):
        with pytest.raises(VenueError):
            client.accounts()
    assert client.accounts() == []  # two in a row since the 404: still closed
    assert breakers_state() == []


def test_an_unreachable_venue_opens_it_too(db):
    http = httpx.Client(base_url="http://127.0.0.1:9", timeout=1)
    for _ in range(3):
        assert code_of(lambda: send(http, "ProjectX", "POST", "/api/x")) == (
            "venue-unreachable"
        )
    assert code_of(lambda: send(http, "ProjectX", "POST", "/api/x")) == (
        "venue-circuit-open"
    )
    # Another host of the same venue (another firm) is not held back by it.
    other = httpx.Client(base_url="http://127.0.0.1:7", timeout=1)
    assert code_of(lambda: send(other, "ProjectX", "POST", "/api/x")) == (
        "venue-unreachable"
    )


def test_an_order_answered_by_a_failure_is_found_again_never_placed_twice(
    world, connected, clock, settings
):
    settings.VENUE_BREAKER_FAILURES = 1
    fake = connected.fake
    _, key = api_key_issue(account=connected.account, created_by=None, name="b")
    response = Client().post(
        f"/api/unify/v1/webhook/topstep/{key}", "buy MNQ1! 1", content_type="text/plain"
    )
    assert response.status_code == 202, response.content
    signal_id = response.json()["signal_id"]
    fake.knobs.drop_after_place = 1  # booked at ProjectX, answered with a 500
    signal_execute(signal_id=signal_id)  # transient: left for the task's retry
    execution = Execution.objects.get(signal_id=signal_id)
    assert execution.status == Execution.Status.EXECUTING
    assert Order.objects.get().status == Order.Status.PENDING
    assert [state.state for state in breakers_state()] == ["open"]
    calls = len(fake.calls)
    # The task's retry while the breaker is open: nothing is sent, nothing lost.
    with pytest.raises(VenueError) as held:
        execution_run(execution_id=execution.pk)
    assert held.value.code == "venue-circuit-open"
    assert len(fake.calls) == calls
    clock.advance(seconds=settings.VENUE_BREAKER_COOLDOWN_SECONDS)
    execution_run(execution_id=execution.pk)  # the probe finds the order by its tag

    tagged = [order for order in fake.orders.values() if order.custom_tag]
    assert len(tagged) == 1
    order = Order.objects.get()
    assert order.client_order_id == tagged[0].custom_tag
    assert order.status == Order.Status.FILLED and Fill.objects.count() == 1
    assert Position.objects.get(account=connected.account).quantity == 1
    assert Signal.objects.get(pk=signal_id).status == Signal.Status.FILLED
