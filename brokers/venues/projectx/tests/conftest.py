"""A fake ProjectX on loopback, a trader's login at it, and a connected account."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from brokers.instruments.resolve import resolve
from brokers.models import BrokerAccount
from brokers.venues.projectx.adapter import ProjectXAdapter
from brokers.venues.projectx.client import Login, ProjectXClient
from brokers.venues.projectx.fake import FakeAccount, FakeProjectX
from common import ratelimit
from testkit.stacks import offset, private, ticking  # noqa: F401

USER, API_KEY = "trader", "px-api-key-0123456789"


@pytest.fixture
def fake(settings, clock) -> Iterator[FakeProjectX]:
    # Sessions, contracts and quotes are cached by host: a port an earlier test's
    # fake had must not lend this one its tokens.
    redis = ratelimit._client()
    stale = list(redis.scan_iter("*projectx:*"))
    if stale:
        redis.delete(*stale)
    with FakeProjectX.running() as server:
        server.user(USER, API_KEY)
        settings.PROJECTX_API_URLS = {"topstepx": server.url, "e8": server.url}
        settings.PROJECTX_BACKOFF_SECONDS = 0.01  # 429s waited out, quickly
        yield server


@pytest.fixture
def client(fake) -> Iterator[ProjectXClient]:
    made = ProjectXClient(Login(fake.url, USER, API_KEY), timeout=2)
    yield made
    made.close()


@dataclass
class Connected:
    fake: FakeProjectX
    venue_account: FakeAccount
    account: BrokerAccount
    adapter: ProjectXAdapter
    symbol: str  # our front MNQ contract, "MNQZ26"
    contract_id: str

    def price(self, last: Decimal) -> None:
        self.fake.price(self.contract_id, last)


@pytest.fixture
def connected(fake, world) -> Connected:
    """A 50K Combine at the fake, connected the way the connect page does it."""
    venue_account = fake.account(USER, "50KTC-V2-1", balance=Decimal(50_000))
    account = BrokerAccount.objects.create(
        workspace=world.workspace, venue="projectx", name=""
    )
    ProjectXAdapter.provision(
        account,
        {
            "firm": "topstepx",
            "user_name": USER,
            "api_key": API_KEY,
            "account_id": venue_account.id,
        },
    )
    symbol = resolve("MNQ1!").contract or ""
    contract_id = fake.contract_for(symbol).id
    fake.price(contract_id, Decimal(21000))
    account.refresh_from_db()
    return Connected(
        fake, venue_account, account, ProjectXAdapter(account), symbol, contract_id
    )


# --- Real processes (daphne, workers, venue streams) on a shifted clock ----------
# A module that uses `private` overrides `clock` with `ticking`: MNQ trades on the
# Tuesday noon in Chicago every process's clock reads, whatever day the suite runs
# (the fixtures: testkit.stacks).


def at_venue(fake: FakeProjectX) -> dict[str, str]:
    """The environment that points a stack's processes at the fake."""
    return {
        "PROJECTX_API_URLS": f"topstepx={fake.url}",
        "PROJECTX_USER_HUB_URLS": f"topstepx={fake.url}/hubs/user",
        "PROJECTX_MARKET_HUB_URLS": f"topstepx={fake.url}/hubs/market",
        "VENUE_STREAMS_RELOAD_SECONDS": "1",
    }
