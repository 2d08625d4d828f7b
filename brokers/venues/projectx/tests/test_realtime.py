"""The venue-streams process against the fake's hub: a resting order that fills at
the venue is recorded from the stream, without waiting for the beat's polling;
a duplicated event is recorded once; a dropped stream reconnects."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from django.test import Client

from brokers.models import Order, Position
from brokers.streaming import stream_state
from webhooks.models import Execution
from webhooks.streams import VenueStreams, logins

from .conftest import USER

pytestmark = pytest.mark.django_db(transaction=True)  # the streams' threads read it


@pytest.fixture
def streams(fake, settings) -> Iterator[VenueStreams]:
    """The venue-streams process's loop, in a thread, until the test ends."""
    settings.PROJECTX_USER_HUB_URLS = {"topstepx": f"{fake.url}/hubs/user"}
    settings.PROJECTX_MARKET_HUB_URLS = {"topstepx": f"{fake.url}/hubs/market"}
    settings.PROJECTX_QUOTE_STALE_SECONDS = 1
    settings.VENUE_STREAMS_RELOAD_SECONDS = 1
    runner = VenueStreams()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=lambda: loop.run_until_complete(runner.run(stop)), daemon=True
    )
    thread.start()
    yield runner
    loop.call_soon_threadsafe(stop.set)
    thread.join(timeout=10)


def wait_for(check: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def resting_limit(connected, key: str) -> Execution:
    response = Client().post(
        f"/api/unify/v1/webhook/topstep/{key}",
        "buy MNQ1! 1 type=limit price=20990",
        content_type="text/plain",
    )
    assert response.status_code == 202, response.content
    execution = Execution.objects.latest("pk")
    assert execution.status == Execution.Status.WORKING, execution.error_message
    return execution


@pytest.fixture
def key(connected) -> str:
    from webhooks.intake.keys import api_key_issue

    _, plain = api_key_issue(account=connected.account, created_by=None, name="t")
    return plain


def test_a_fill_at_the_venue_is_recorded_from_the_stream(
    connected, key, streams, tasks_inline
):
    execution = resting_limit(connected, key)
    account = connected.account
    wait_for(lambda: stream_state(account.pk) == "live", "the stream to be live")
    wait_for(lambda: len(connected.fake.hubs.subscriptions) >= 4, "subscriptions")
    connected.fake.hubs.duplicate = 4  # the fill's events, each sent twice
    connected.price(Decimal("20989"))
    wait_for(
        lambda: (
            Execution.objects.get(pk=execution.pk).status == Execution.Status.FILLED
        ),
        "the fill recorded",
    )
    [order] = Order.objects.filter(account=account)
    assert order.status == Order.Status.FILLED and order.fills.count() == 1
    position = Position.objects.get(account=account)
    assert position.quantity == Decimal(1)


def test_a_dropped_stream_reconnects_and_what_filled_meanwhile_is_recorded(
    connected, key, streams, tasks_inline
):
    execution = resting_limit(connected, key)
    fake = connected.fake
    wait_for(lambda: fake.hubs.live() == 1, "the stream")
    fake.hubs.disconnect()  # the socket drops, and while it is down ...
    connected.price(Decimal("20989"))  # ... the order fills: no event will say so
    wait_for(lambda: len(fake.hubs.used) == 2 and fake.hubs.live() == 1, "a reconnect")
    wait_for(
        lambda: (
            Execution.objects.get(pk=execution.pk).status == Execution.Status.FILLED
        ),
        "the fill recorded",
    )


def test_quotes_of_a_held_contract_mark_it_and_price_paper_and_a_frozen_feed_is_redone(
    connected, key, streams, tasks_inline
):
    from brokers.venues.projectx.adapter import quote_of
    from paperbroker.models import Quote

    fake = connected.fake
    Client().post(
        f"/api/unify/v1/webhook/topstep/{key}", "buy MNQ1! 1", content_type="text/plain"
    )
    assert Position.objects.get(account=connected.account).quantity == 1
    wait_for(lambda: fake.hubs.live("market") == 1, "the market stream (next reload)")
    wait_for(lambda: len(fake.hubs.subscriptions) >= 5, "the quote subscription")
    connected.price(Decimal("21004.5"))
    wait_for(lambda: quote_of(connected.contract_id) == Decimal("21004.5"), "a quote")
    wait_for(
        lambda: Quote.objects.filter(
            symbol=connected.symbol, account=None, last=Decimal("21004.5")
        ).exists(),
        "the paper price of the same contract",
    )
    assert (
        connected.adapter.account_snapshot().equity
        > connected.adapter.account_snapshot().balance
    )
    fake.hubs.frozen = True  # the feed stops; the socket stays up
    market = next(iter(streams.markets.values()))
    wait_for(lambda: market.stale >= 1, "the watchdog to notice", seconds=5)
    fake.hubs.frozen = False
    wait_for(lambda: market.connects >= 2, "a new market connection")
    connected.price(Decimal("21006"))
    wait_for(
        lambda: quote_of(connected.contract_id) == Decimal("21006"), "quotes again"
    )


def test_the_market_stream_takes_the_contracts_of_resting_orders_too(
    connected, key, tasks_inline
):
    assert not logins()[("topstepx", USER)].contracts  # flat, nothing working
    resting_limit(connected, key)
    login = logins()[("topstepx", USER)]
    assert login.contracts == {connected.contract_id: connected.symbol}
