"""The venue-streams process against the fake's WebSocket: a resting order that
fills at Tradovate is recorded from the socket's events, without polling; one
socket serves every account of a login; a dropped socket whose sign-in is
refused leaves the accounts "reconnecting" (polled), and when it comes back
what filled meanwhile is recorded."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import Client

from brokers import streaming
from brokers.models import BrokerAccount, Order, Position
from brokers.streaming import feed_label, stream_state
from brokers.venues.tradovate.adapter import TradovateAdapter
from webhooks.intake.keys import api_key_issue
from webhooks.models import Execution
from webhooks.streams import VenueStreams, tradovate_logins

from .conftest import CID, PASSWORD, SEC, USER, login_options

pytestmark = pytest.mark.django_db(transaction=True)  # the streams' threads read it


@pytest.fixture
def streams(fake, settings) -> Iterator[VenueStreams]:
    """The venue-streams process's loop, in a thread, until the test ends."""
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


@pytest.fixture
def key(connected) -> str:
    _, plain = api_key_issue(account=connected.account, created_by=None, name="t")
    return plain


def resting_limit(key: str) -> Execution:
    response = Client().post(
        f"/api/unify/v1/webhook/tradovate/{key}",
        "buy MNQ1! 1 type=limit price=20990",
        content_type="text/plain",
    )
    assert response.status_code == 202, response.content
    execution = Execution.objects.latest("pk")
    assert execution.status == Execution.Status.WORKING, execution.error_message
    return execution


def settled(streams: VenueStreams, account_id: int) -> bool:
    """The account's last record is done and none is wanted: a price moved now
    cannot land between its reads (its orders', then its positions')."""
    pending = streams.pending.get(account_id)
    return pending is not None and pending.done() and account_id not in streams.dirty


def live(streams: VenueStreams, account_id: int) -> bool:
    return stream_state(account_id) == "live" and settled(streams, account_id)


def filled(execution: Execution) -> bool:
    return Execution.objects.get(pk=execution.pk).status == Execution.Status.FILLED


def test_a_fill_at_tradovate_is_recorded_from_the_socket(
    connected, key, streams, tasks_inline
):
    execution = resting_limit(key)
    account, fake = connected.account, connected.fake
    wait_for(lambda: live(streams, account.pk), "the socket to be live")
    assert feed_label(account.pk, "tradovate") == "Live stream"
    calls_before = len(fake.calls)
    connected.price(Decimal("20989.75"))
    wait_for(lambda: filled(execution), "the fill recorded")
    [order] = Order.objects.filter(account=account)
    assert order.status == Order.Status.FILLED and order.fills.count() == 1
    assert order.fills.get().price == Decimal("20989.75")
    assert Position.objects.get(account=account).quantity == Decimal(1)
    kinds = {m["d"]["entityType"] for m in fake.socket.sent}
    assert {"order", "fill", "position"} <= kinds
    # Recorded because the socket said so: REST was read after the fill only.
    assert fake.calls[calls_before:] and "fill/list" in fake.calls[calls_before:]


def test_one_socket_serves_every_account_of_a_login(
    connected, key, streams, tasks_inline, world
):
    fake = connected.fake
    second_venue = fake.account(USER, "DEMO4472", balance=Decimal(25_000))
    second = BrokerAccount.objects.create(
        workspace=world.workspace, venue="tradovate", name=""
    )
    TradovateAdapter.provision(second, login_options(account_id=second_venue.id))
    [login] = tradovate_logins().values()
    assert set(login.accounts) == {connected.venue_account.id, second_venue.id}
    wait_for(lambda: live(streams, second.pk), "the second account live")
    wait_for(lambda: live(streams, connected.account.pk), "the first live")
    assert fake.socket.live(USER) == 1
    syncs = [b for e, b in fake.socket.requests if e == "user/syncrequest"]
    assert str(second_venue.id) in syncs[-1]
    assert str(connected.venue_account.id) in syncs[-1]

    execution = resting_limit(key)
    connected.price(Decimal("20990"))
    wait_for(lambda: filled(execution), "the first account's fill recorded")
    assert Position.objects.get(account=connected.account).quantity == 1
    assert not Position.objects.filter(account=second).exclude(quantity=0).exists()


def test_a_dropped_socket_is_reconnecting_until_it_can_sign_in_then_catches_up(
    connected, key, streams, tasks_inline
):
    execution = resting_limit(key)
    account, fake = connected.account, connected.fake
    wait_for(lambda: live(streams, account.pk), "the socket to be live")
    fake.user(USER, "changed-at-tradovate", cid=CID, sec=SEC)  # sign-ins refused
    fake.expire_tokens()
    fake.socket.drop()
    wait_for(lambda: stream_state(account.pk) == "reconnecting", "reconnecting")
    assert feed_label(account.pk, "tradovate") == "Stream reconnecting, polling"
    connected.price(Decimal("20989"))  # fills while no socket can say so
    assert fake.socket.live() == 0 and not filled(execution)

    fake.user(USER, PASSWORD, cid=CID, sec=SEC)  # signing in works again
    wait_for(lambda: stream_state(account.pk) == "live", "live again", seconds=40)
    wait_for(lambda: filled(execution), "what filled meanwhile recorded")
    assert Position.objects.get(account=account).quantity == Decimal(1)


def test_a_live_state_is_written_again_each_reload_so_it_never_lapses(
    connected, streams
):
    account = connected.account
    wait_for(lambda: stream_state(account.pk) == "live", "the socket to be live")
    cache.delete(streaming._key(account.pk))  # as if its STATE_SECONDS ran out
    assert stream_state(account.pk) is None
    wait_for(lambda: stream_state(account.pk) == "live", "the next reload's write")
