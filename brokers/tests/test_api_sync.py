"""`POST /api/accounts/sync/{id}` (seed 002): the account read from its venue now,
through the periodic sync's service; trading members only, outsiders 404; a venue
that fails is a 502, one that refuses for good a 409 with its code, never a 500;
a few syncs a minute per account."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

import testkit
from accounts.models import Role
from accounts.tokens import token_issue
from brokers import api_sync
from brokers.models import BrokerAccount, Position
from brokers.venues.tradovate.tests import conftest as tradovate
from paperbroker.services import quote_record
from testkit import api_client_for as api
from testkit.factories import MembershipFactory, PaperAccountFactory

# The Tradovate fake and an account connected to it, on the frozen clock.
connected = tradovate.connected
fake = tradovate.fake

pytestmark = pytest.mark.usefixtures("clock")


def url(account: BrokerAccount | int) -> str:
    pk = account if isinstance(account, int) else account.pk
    return f"/api/accounts/sync/{pk}"


@pytest.fixture
def exporter(world):
    return MembershipFactory.create(
        workspace=world.workspace,
        user__email="exporter@example.com",
        role=Role.EXPORTER,
    ).user


def test_a_sync_reads_the_venue_and_moves_last_sync_on(world, clock, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    testkit.alert(world.api_key, qty=2)
    # Our mirror drifts (a missed report): the sync puts it back from the venue.
    Position.objects.filter(account=world.account).delete()
    BrokerAccount.objects.filter(pk=world.account.pk).update(
        balance=Decimal(1), last_sync_at=clock.now() - timedelta(hours=1)
    )
    later = clock.advance(minutes=5)
    response = api(world.owner).post(url(world.account))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True and body["id"] == world.account.pk
    assert (body["broker"], body["open_positions"]) == ("paper", 1)
    assert body["last_sync"] == later.isoformat().replace("+00:00", "Z")
    assert Decimal(str(body["balance"])) > 40_000
    world.account.refresh_from_db()
    assert world.account.last_sync_at == later
    assert world.account.balance == Decimal(str(body["balance"]))
    assert Position.objects.get(account=world.account).quantity == 2


def test_another_admin_may_sync_and_readers_may_not(world, exporter):
    assert api(world.trader).post(url(world.account)).status_code == 200
    for reader in (world.viewer, exporter):
        response = api(reader).post(url(world.account))
        assert response.status_code == 403
        assert response.json()["code"] == "permission-denied"


def test_an_outsider_and_a_missing_account_are_404s(world):
    for target in (world.account.pk, 999_999):
        response = api(world.outsider).post(url(target))
        assert response.status_code == 404
        assert response.json()["code"] == "not-found"
    assert api(world.owner).post("/api/accounts/sync/abc").status_code == 404


def test_an_anonymous_request_is_a_401(world):
    response = APIClient().post(url(world.account))
    assert response.status_code == 401
    assert response.json()["code"] == "not-authenticated"


def test_a_read_token_may_not_sync_and_a_trade_token_may(world):
    for scope, expected in (("read", 403), ("trade", 200)):
        _, plain = token_issue(user=world.owner, name=scope, scope=scope, days=30)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
        response = client.post(url(world.account))
        assert response.status_code == expected, response.content
        if expected == 403:
            assert response.json()["code"] == "insufficient-scope"


def test_past_the_syncs_a_minute_it_is_a_429_for_that_account_only(world, clock):
    client = api(world.owner)
    for _ in range(api_sync.SYNCS_PER_MINUTE):
        assert client.post(url(world.account)).status_code == 200
    refused = client.post(url(world.account))
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate-limited"
    assert int(refused["Retry-After"]) > 0
    other = PaperAccountFactory.create(workspace=world.workspace, name="Second")
    assert client.post(url(other)).status_code == 200
    clock.advance(minutes=1)
    assert client.post(url(world.account)).status_code == 200


def test_a_venue_that_fails_is_a_502_and_last_sync_stays(connected, world):
    account = connected.account
    before = BrokerAccount.objects.get(pk=account.pk).last_sync_at
    connected.fake.knobs.fail = [503] * 5
    response = api(world.owner).post(url(account))
    assert response.status_code == 502
    body = response.json()
    assert (body["success"], body["code"]) == (False, "venue-unavailable")
    assert body["detail"] and body["venue_code"]
    assert BrokerAccount.objects.get(pk=account.pk).last_sync_at == before


def test_a_venue_refusing_for_good_is_a_409_with_its_code(connected, world):
    fake, account = connected.fake, connected.account
    fake.expire_tokens()  # the next call signs in again, and meets the captcha
    fake.knobs.penalty, fake.knobs.captcha = 1, True
    response = api(world.owner).post(url(account))
    assert response.status_code == 409
    assert response.json()["code"] == "captcha-required"
    assert "captcha" in response.json()["detail"]
    account.refresh_from_db()
    assert account.error_code == "captcha-required"  # kept for the dashboard

    fake.knobs.penalty, fake.knobs.captcha = 0, False  # the trader solved it
    body = api(world.owner).post(url(account)).json()
    assert (body["success"], body["error_code"], body["broker"]) == (
        True,
        "",
        "tradovate",
    )
    assert Decimal(str(body["balance"])) == Decimal(50_000)
