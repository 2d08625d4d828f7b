"""A fake TradeLocker on loopback and a trader's login at it.

The clock ticks here (shifted to the suite's Tuesday noon in Chicago, forex
open): TradeLocker's rate limits are per second, and a frozen clock would hold a
window shut for ever."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from brokers.models import BrokerAccount
from brokers.venues.tradelocker.adapter import TradeLockerAdapter
from brokers.venues.tradelocker.client import Login, TradeLockerClient
from brokers.venues.tradelocker.fake import FakeTradeLocker
from brokers.venues.tradelocker.fake_world import FakeAccount
from common import ratelimit
from testkit.clock import Clock, offset_to, shifted
from testkit.stacks import offset, private, ticking  # noqa: F401

EMAIL, PASSWORD, SERVER = "trader@example.com", "correct-horse-42", "OSP-DEMO"


@pytest.fixture
def clock() -> Iterator[Clock]:
    with shifted(offset_to()) as moving:
        yield moving


@pytest.fixture
def fake(settings, clock) -> Iterator[FakeTradeLocker]:
    # Sessions and configurations are cached by host: a port an earlier test's
    # fake had must not lend this one its tokens.
    redis = ratelimit._client()
    stale = list(redis.scan_iter("*tradelocker:*"))
    if stale:
        redis.delete(*stale)
    with FakeTradeLocker.running() as server:
        server.user(EMAIL, PASSWORD, SERVER)
        settings.TRADELOCKER_API_URLS = {"demo": server.url, "live": server.url}
        settings.TRADELOCKER_BACKOFF_SECONDS = 0.01
        yield server


@dataclass
class Trader:
    client: TradeLockerClient
    account: FakeAccount


@pytest.fixture
def trader(fake) -> Iterator[Trader]:
    """A client on the trader's one account (its accNum in every /trade/ call)."""
    account = fake.account(EMAIL, "OSP#1", balance=Decimal(100_000))
    login = Login(fake.url, EMAIL, PASSWORD, SERVER)
    client = TradeLockerClient(login, acc_num=account.acc_num, timeout=2)
    yield Trader(client, account)
    client.close()


@dataclass
class Connected:
    fake: FakeTradeLocker
    venue_account: FakeAccount
    account: BrokerAccount
    adapter: TradeLockerAdapter
    symbol: str  # "XAUUSD"

    def price(self, bid: Decimal) -> None:
        """Gold's quote: `bid`, and the ask 30 cents above."""
        self.fake.price(self.symbol, bid, bid + Decimal("0.30"))


def login_options(**extra: object) -> dict[str, object]:
    return {"email": EMAIL, "password": PASSWORD, "server": SERVER, **extra}


@pytest.fixture
def connected(fake, world) -> Connected:
    """A demo account at the fake, connected the way the connect page does it,
    gold quoted at 2000.00 / 2000.30."""
    venue_account = fake.account(EMAIL, "OSP#712345", balance=Decimal(100_000))
    account = BrokerAccount.objects.create(
        workspace=world.workspace, venue="tradelocker", name=""
    )
    TradeLockerAdapter.provision(account, login_options())
    account.refresh_from_db()
    connected = Connected(
        fake, venue_account, account, TradeLockerAdapter(account), "XAUUSD"
    )
    connected.price(Decimal(2000))
    return connected


def at_venue(fake: FakeTradeLocker) -> dict[str, str]:
    """The environment that points a stack's processes at the fake."""
    return {"TRADELOCKER_API_URLS": f"demo={fake.url},live={fake.url}"}
