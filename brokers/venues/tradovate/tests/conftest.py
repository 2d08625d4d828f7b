"""A fake Tradovate on loopback, a trader's login at it, and a connected account."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from brokers.instruments.resolve import resolve
from brokers.models import BrokerAccount
from brokers.venues.tradovate.adapter import TradovateAdapter
from brokers.venues.tradovate.fake import FakeTradovate
from brokers.venues.tradovate.fake_world import FakeAccount
from common import ratelimit
from testkit.stacks import offset, private, ticking  # noqa: F401

USER, PASSWORD, CID, SEC = "trader", "correct-horse-42", 7, "tv-api-secret-0123"


def login_options(**extra: object) -> dict[str, object]:
    return {"user_name": USER, "password": PASSWORD, "cid": CID, "sec": SEC, **extra}


@pytest.fixture
def fake(settings, clock) -> Iterator[FakeTradovate]:
    # Sessions and contracts are cached by host: a port an earlier test's fake had
    # must not lend this one its tokens (nor a lockout).
    redis = ratelimit._client()
    stale = list(redis.scan_iter("*tradovate:*"))
    if stale:
        redis.delete(*stale)
    with FakeTradovate.running() as server:
        server.user(USER, PASSWORD, cid=CID, sec=SEC)
        settings.TRADOVATE_API_URLS = {"demo": server.url, "live": server.url}
        settings.TRADOVATE_MAX_WAIT_SECONDS = 3
        yield server


@dataclass
class Connected:
    fake: FakeTradovate
    venue_account: FakeAccount
    account: BrokerAccount
    adapter: TradovateAdapter
    symbol: str  # our front MNQ contract, "MNQZ26"
    contract_id: int

    def price(self, last: Decimal) -> None:
        self.fake.price(self.contract_id, last)


@pytest.fixture
def connected(fake, world) -> Connected:
    """A demo account at the fake, connected the way the connect page does it."""
    venue_account = fake.account(USER, "DEMO4471", balance=Decimal(50_000))
    account = BrokerAccount.objects.create(
        workspace=world.workspace, venue="tradovate", name=""
    )
    TradovateAdapter.provision(account, login_options(account_id=venue_account.id))
    symbol = resolve("MNQ1!").contract or ""
    contract_id = fake.contract_for(symbol).id
    fake.price(contract_id, Decimal(21000))
    account.refresh_from_db()
    return Connected(
        fake, venue_account, account, TradovateAdapter(account), symbol, contract_id
    )


def at_venue(fake: FakeTradovate) -> dict[str, str]:
    """The environment that points a stack's processes at the fake."""
    return {"TRADOVATE_API_URLS": f"demo={fake.url},live={fake.url}"}
