"""Seed 004's accounts at their /api/v1 paths: a connection checked by the venue
before anything is kept, lists and details with no secret for anyone, a new
login, a sync, performance from closed positions, and a removal that never
strands money."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import jsonschema
import pytest
from django.db import connection
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

import testkit
from brokers.instruments.resolve import resolve
from brokers.models import BrokerAccount, Fill, Order, Position
from brokers.venues.projectx.adapter import Credentials
from brokers.venues.projectx.fake import FakeProjectX
from brokers.venues.tradovate.adapter import Credentials as TradovateLogin
from brokers.venues.tradovate.fake import FakeTradovate
from common import ratelimit
from paperbroker.models import PaperAccount, PaperTrade
from paperbroker.services import quote_record
from risk.models import RiskConfig
from testkit import api_client_for as api
from tradeflow.tests.test_openapi import answer_schema
from webhooks.models import ApiKey

pytestmark = pytest.mark.usefixtures("clock", "tasks_inline")

API = "/api/v1/accounts"
USER, KEY = "trader", "px-api-key-0123456789"


@pytest.fixture
def fake(settings) -> Iterator[FakeProjectX]:
    # Sessions are cached by host: a port an earlier test's fake had must not
    # lend this one its tokens.
    redis = ratelimit._client()
    stale = list(redis.scan_iter("*projectx:*"))
    if stale:
        redis.delete(*stale)
    with FakeProjectX.running() as server:
        server.user(USER, KEY)
        settings.PROJECTX_API_URLS = {"topstepx": server.url}
        yield server


def projectx(user, fake, **fields):
    combine = fake.account(USER, "50KTC-V2-1", balance=Decimal(50_000))
    body = {"exchange": "topstep", "user_name": USER, "api_key": KEY, **fields}
    return combine, api(user).post(f"{API}/create", body, format="json")


def stored(account: BrokerAccount) -> str:
    """The credentials column as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM brokers_brokeraccount WHERE id = %s", [account.pk]
        )
        return str(cursor.fetchone()[0])


def refused(response, status: int, code: str) -> None:
    assert (response.status_code, response.json()["code"]) == (status, code), (
        response.content
    )


# --- Create --------------------------------------------------------------------------


def test_a_paper_account_is_opened_with_its_initial_balance_and_first_key(world):
    response = api(world.trader).post(
        f"{API}/create", {"exchange": "paper", "initial_balance": 25000}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["success"] is True and body["message"] == "Account created successfully"
    assert body["api_key"].startswith("tfk_") and body["api_key"] in body["webhook_url"]
    account = BrokerAccount.objects.get(pk=body["account_id"])
    assert (account.workspace, account.venue, account.name) == (
        world.workspace,
        "paper",
        "Paper 25K",
    )
    assert PaperAccount.objects.get(broker_account=account).cash_balance == 25000


def test_a_projectx_login_is_checked_at_the_venue_and_kept_encrypted(world, fake):
    combine, response = projectx(world.owner, fake)
    assert response.status_code == 201, response.content
    assert KEY not in response.content.decode()
    account = BrokerAccount.objects.get(pk=response.json()["account_id"])
    assert (account.venue, account.external_id, account.name) == (
        "projectx",
        str(combine.id),
        "50KTC-V2-1",
    )
    assert account.balance == 50_000 and account.mode == "demo"
    assert Credentials.of(account).api_key == KEY
    assert KEY not in stored(account) and USER not in stored(account)
    assert "Auth/loginKey" in fake.calls and "Account/search" in fake.calls


def test_a_login_the_venue_refuses_keeps_nothing_and_says_the_venues_code(world, fake):
    before = BrokerAccount.objects.count()
    _, response = projectx(world.owner, fake, api_key="wrong")
    refused(response, 422, "login-failed")
    assert "refused the user name or the API key" in response.json()["detail"]
    assert BrokerAccount.objects.count() == before


def test_a_live_account_needs_is_testnet_false(world, fake):
    fake.account(USER, "PA-9", balance=Decimal(150_000), simulated=False)
    body = {"exchange": "projectx", "user_name": USER, "api_key": KEY}
    client = api(world.owner)
    refused(
        client.post(f"{API}/create", body, format="json"),
        422,
        "live-needs-confirmation",
    )
    answer = client.post(f"{API}/create", {**body, "is_testnet": False}, format="json")
    assert answer.status_code == 201, answer.content
    assert BrokerAccount.objects.get(venue="projectx").mode == "live"


def test_an_unreachable_venue_is_a_503_with_its_code(world, settings):
    settings.PROJECTX_API_URLS = {"topstepx": "http://127.0.0.1:9"}
    body = {"exchange": "projectx", "user_name": USER, "api_key": KEY}
    response = api(world.owner).post(f"{API}/create", body, format="json")
    refused(response, 503, "venue-unreachable")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"exchange": "binance"}, "unknown-exchange"),
        ({"exchange": "mt5"}, "connect-with-ea"),
        ({"exchange": "metatrader"}, "connect-with-ea"),
        ({"exchange": "projectx", "api_key": KEY}, "credentials-missing"),
        (
            {"exchange": "tradovate", "user_name": "u", "passphrase": "p"},
            ("credentials-missing"),
        ),
        ({"exchange": "tradelocker", "user_name": "a@b.c"}, "credentials-missing"),
    ],
)
def test_what_cannot_be_connected_from_keys_is_a_422_saying_how(world, body, code):
    before = BrokerAccount.objects.count()
    response = api(world.owner).post(f"{API}/create", body, format="json")
    refused(response, 422, code)
    assert BrokerAccount.objects.count() == before


def test_an_unknown_exchange_lists_the_accepted_ones(world):
    detail = (
        api(world.owner)
        .post(f"{API}/create", {"exchange": "binance"}, format="json")
        .json()["detail"]
    )
    for name in ("paper", "projectx", "topstep", "tradovate", "tradelocker"):
        assert name in detail


def test_bad_input_is_a_400_naming_the_field(world):
    client = api(world.owner)
    refused(client.post(f"{API}/create", {}, format="json"), 400, "validation-error")
    response = client.post(
        f"{API}/create", {"exchange": "paper", "initial_balance": 0}, format="json"
    )
    refused(response, 400, "validation-error")
    assert "initial_balance" in response.json()["errors"]


def test_the_plans_quota_applies_as_on_the_page(world, settings):
    settings.WORKSPACE_MAX_ACCOUNTS = 1  # the world's paper account fills it
    response = api(world.owner).post(
        f"{API}/create", {"exchange": "paper"}, format="json"
    )
    refused(response, 403, "quota-exceeded")


def test_only_admins_connect_and_anonymous_is_401(world):
    refused(
        api(world.viewer).post(f"{API}/create", {"exchange": "paper"}, format="json"),
        403,
        "permission-denied",
    )
    anonymous = APIClient().post(f"{API}/create", {"exchange": "paper"}, format="json")
    refused(anonymous, 401, "not-authenticated")


# --- List and detail -----------------------------------------------------------------


def test_the_list_pages_with_skip_and_limit_and_carries_no_secret(world, fake):
    projectx(world.owner, fake)
    body = api(world.viewer).get(f"{API}/list?skip=1&limit=1").json()
    assert body["pagination"] == {"total": 2, "skip": 1, "limit": 1}
    [listed] = body["accounts"]
    assert listed["account_info"]["exchange"] == "projectx"
    assert set(listed) == {
        "account_info",
        "balances",
        "positions",
        "performance",
        "references",
    }
    everything = api(world.viewer).get(f"{API}/list").content.decode()
    assert KEY not in everything and "credentials" not in everything
    assert api(world.outsider).get(f"{API}/list").json()["pagination"]["total"] == 0
    refused(APIClient().get(f"{API}/list"), 401, "not-authenticated")
    bad = api(world.owner).get(f"{API}/list?skip=-1")
    refused(bad, 400, "validation-error")
    assert "skip" in bad.json()["errors"]


def test_the_detail_says_what_the_account_holds_and_how_its_news_arrives(world):
    Position.objects.create(
        workspace=world.workspace,
        account=world.account,
        symbol="BTCUSDT",
        quantity=Decimal(2),
        avg_price=Decimal(100),
    )
    body = api(world.viewer).get(f"{API}/{world.account.pk}").json()
    account = body["account"]
    assert account["account_info"]["id"] == str(world.account.pk)
    assert account["balances"]["balance"] == 50000
    assert account["positions"]["count"] == 1
    assert account["positions"]["open"][0]["side"] == "long"
    assert account["settings"]["close_only"] is False
    assert body["ws_status"]["source"] == "in_process"
    assert body["performance"]["trades"] == 0 and body["references"] == []


def test_an_outsider_gets_404_at_every_account_route(world):
    client = api(world.outsider)
    pk = world.account.pk
    for method, path in [
        ("get", f"{API}/{pk}"),
        ("delete", f"{API}/{pk}"),
        ("post", f"{API}/{pk}/update-credentials"),
        ("post", f"{API}/{pk}/sync-balance"),
        ("get", f"{API}/{pk}/performance"),
    ]:
        refused(getattr(client, method)(path, {}, format="json"), 404, "not-found")


def test_a_viewer_may_not_change_an_account(world):
    client = api(world.viewer)
    pk = world.account.pk
    for method, path in [
        ("delete", f"{API}/{pk}"),
        ("post", f"{API}/{pk}/update-credentials"),
        ("post", f"{API}/{pk}/sync-balance"),
    ]:
        refused(
            getattr(client, method)(path, {}, format="json"), 403, ("permission-denied")
        )
    assert BrokerAccount.objects.filter(pk=pk).exists()


# --- New login, sync -----------------------------------------------------------------


def test_a_new_api_key_is_checked_then_kept_and_a_wrong_one_changes_nothing(
    world, fake
):
    _, created = projectx(world.owner, fake)
    account = BrokerAccount.objects.get(pk=created.json()["account_id"])
    url = f"{API}/{account.pk}/update-credentials"
    fake.user(USER, "px-rotated-key-98765")
    refused(
        api(world.owner).post(url, {"api_key": "wrong"}, format="json"),
        422,
        "login-failed",
    )
    account.refresh_from_db()
    assert Credentials.of(account).api_key == KEY
    answer = api(world.owner).post(
        url, {"api_key": "px-rotated-key-98765"}, format="json"
    )
    assert answer.json() == {"success": True}
    account.refresh_from_db()
    assert Credentials.of(account).api_key == "px-rotated-key-98765"
    assert Credentials.of(account).user_name == USER  # kept from the old login
    assert "px-rotated-key-98765" not in stored(account)


def test_a_paper_account_has_no_login_to_replace(world):
    response = api(world.owner).post(
        f"{API}/{world.account.pk}/update-credentials", {"api_key": "x"}, format="json"
    )
    refused(response, 422, "no-credentials")


def test_sync_balance_reads_the_venue_now(world):
    PaperAccount.objects.filter(broker_account=world.account).update(
        cash_balance=Decimal("51234.50")
    )
    body = api(world.owner).post(f"{API}/{world.account.pk}/sync-balance").json()
    assert body == {"success": True, "balance": 51234.5, "equity": 51234.5}
    world.account.refresh_from_db()
    assert world.account.balance == Decimal("51234.50")


# --- Performance ---------------------------------------------------------------------


def round_trip(world, clock, entry: str = "100", exit_price: str = "110") -> None:
    quote_record(symbol="BTCUSDT", last=Decimal(entry), source="manual")
    testkit.alert(world.api_key, qty=2, price=entry)
    clock.advance(minutes=5)
    quote_record(symbol="BTCUSDT", last=Decimal(exit_price), source="manual")
    testkit.alert(world.api_key, action="sell", qty=2, price=exit_price)


def test_performance_is_the_closed_positions_of_the_range(world, clock):
    round_trip(world, clock)
    trade = PaperTrade.objects.get()
    url = f"{API}/{world.account.pk}/performance"
    body = api(world.viewer).get(url).json()
    assert body["account_id"] == str(world.account.pk)
    metrics = body["metrics"]
    assert (metrics["trades"], metrics["wins"], metrics["losses"]) == (1, 1, 0)
    # The paper venue's own books agree, to the cent.
    assert Decimal(str(metrics["net_pnl"])) == trade.pnl
    assert Decimal(str(metrics["fees"])) == trade.costs
    assert metrics["win_rate"] == 100 and metrics["net_pnl"] > 0
    yesterday = clock.now().date() - timedelta(days=1)
    before = api(world.owner).get(f"{url}?start_date={yesterday}&end_date={yesterday}")
    assert before.json()["metrics"]["trades"] == 0


def test_a_range_that_is_not_one_is_a_400(world):
    url = f"{API}/{world.account.pk}/performance"
    refused(api(world.owner).get(f"{url}?start_date=soon"), 400, "validation-error")
    response = api(world.owner).get(f"{url}?start_date=2026-11-20&end_date=2026-11-10")
    refused(response, 400, "validation-error")


# --- Removal -------------------------------------------------------------------------


def test_an_open_position_refuses_the_removal_with_a_409(world, clock):
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    testkit.alert(world.api_key, qty=1)
    response = api(world.owner).delete(f"{API}/{world.account.pk}")
    refused(response, 409, "account-has-positions")
    world.account.refresh_from_db()
    assert world.account.enabled  # untouched
    assert ApiKey.objects.filter(account=world.account, revoked_at=None).exists()


def test_a_flat_account_that_traded_is_disabled_and_its_history_kept(world, clock):
    round_trip(world, clock)
    response = api(world.owner).delete(f"{API}/{world.account.pk}")
    assert response.json() == {"success": True, "removed": "disabled"}
    world.account.refresh_from_db()
    assert not world.account.enabled
    assert Fill.objects.filter(account=world.account).count() == 2
    assert not ApiKey.objects.filter(account=world.account, revoked_at=None).exists()
    # Removed: no longer there to remove (webhooks/tests/test_account_removed.py).
    again = api(world.owner).delete(f"{API}/{world.account.pk}")
    assert again.status_code == 404


def test_an_account_that_never_traded_is_deleted(world, fake):
    _, created = projectx(world.owner, fake)
    account = BrokerAccount.objects.get(pk=created.json()["account_id"])
    response = api(world.owner).delete(f"{API}/{account.pk}")
    assert response.json() == {"success": True, "removed": "deleted"}
    assert not BrokerAccount.objects.filter(pk=account.pk).exists()


def test_a_venue_account_kept_for_its_history_forgets_its_login(world, fake):
    _, created = projectx(world.owner, fake)
    account = BrokerAccount.objects.get(pk=created.json()["account_id"])
    Order.objects.create(
        workspace=world.workspace,
        account=account,
        client_order_id="tf-history-1",
        symbol="MNQZ26",
        side="buy",
        order_type="market",
        quantity=Decimal(1),
        status=Order.Status.CANCELLED,
    )
    response = api(world.owner).delete(f"{API}/{account.pk}")
    assert response.json() == {"success": True, "removed": "disabled"}
    account.refresh_from_db()
    assert not account.enabled and not account.credentials
    assert Order.objects.filter(account=account).exists()


def test_a_working_order_in_our_books_refuses_the_removal(world, fake):
    _, created = projectx(world.owner, fake)
    account = BrokerAccount.objects.get(pk=created.json()["account_id"])
    Order.objects.create(
        workspace=world.workspace,
        account=account,
        client_order_id="tf-working-1",
        symbol="MNQZ26",
        side="buy",
        order_type="limit",
        quantity=Decimal(1),
        limit_price=Decimal(20000),
        status=Order.Status.WORKING,
    )
    refused(
        api(world.owner).delete(f"{API}/{account.pk}"), 409, ("account-has-positions")
    )
    assert BrokerAccount.objects.filter(pk=account.pk, enabled=True).exists()


def test_a_position_only_the_venue_knows_of_refuses_the_removal(world, fake):
    combine, created = projectx(world.owner, fake)
    account = BrokerAccount.objects.get(pk=created.json()["account_id"])
    contract = fake.contract_for(resolve("MNQ1!").contract or "")
    fake.positions[(combine.id, contract.id)] = (1, Decimal(21000))  # by hand
    assert not Position.objects.filter(account=account).exists()
    response = api(world.owner).delete(f"{API}/{account.pk}")
    refused(response, 409, "account-has-positions")
    assert "1 open position" in response.json()["detail"]


def test_what_the_account_routes_answer_is_what_their_schema_says(world, clock):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    round_trip(world, clock)
    testkit.alert(world.api_key, qty=1)  # and one open
    # Nested objects filled in: the strict check reads `nullable` on typed nodes.
    world.account.error_code, world.account.error_message = "x", "A sentence."
    world.account.save()
    RiskConfig.objects.create(account=world.account, daily_loss_limit=Decimal(900))
    pk = world.account.pk
    for documented, url in (
        ("/api/v1/accounts/list", f"{API}/list"),
        ("/api/v1/accounts/{account_id}", f"{API}/{pk}"),
        ("/api/v1/accounts/{account_id}/performance", f"{API}/{pk}/performance"),
        ("/api/v1/trading/positions/{account_id}", f"/api/v1/trading/positions/{pk}"),
    ):
        response = api(world.owner).get(url)
        assert response.status_code == 200, response.content
        jsonschema.validate(response.json(), answer_schema(schema, documented))


@pytest.fixture
def tradovate(settings) -> Iterator[FakeTradovate]:
    redis = ratelimit._client()
    stale = list(redis.scan_iter("*tradovate:*"))
    if stale:
        redis.delete(*stale)
    with FakeTradovate.running() as server:
        server.user("tv-trader", "correct-horse-42", cid=7, sec="tv-secret-0123")
        settings.TRADOVATE_API_URLS = {"demo": server.url, "live": server.url}
        yield server


def test_the_seeds_fields_are_a_tradovate_login_and_a_new_password_alone_is_kept(
    world, tradovate
):
    tradovate.account("tv-trader", "DEMO4471", balance=Decimal(25_000))
    body = {
        "exchange": "tradovate",
        "user_name": "tv-trader",
        "passphrase": "correct-horse-42",
        "api_key": "7",
        "api_secret": "tv-secret-0123",
    }
    response = api(world.owner).post(f"{API}/create", body, format="json")
    assert response.status_code == 201, response.content
    account = BrokerAccount.objects.get(pk=response.json()["account_id"])
    login = TradovateLogin.of(account)
    assert (login.environment, login.cid, login.sec, login.password) == (
        "demo",
        7,
        "tv-secret-0123",
        "correct-horse-42",
    )
    tradovate.user("tv-trader", "a-new-password-7", cid=7, sec="tv-secret-0123")
    url = f"{API}/{account.pk}/update-credentials"
    refused(api(world.owner).post(url, {}, format="json"), 400, "validation-error")
    answer = api(world.owner).post(
        url, {"passphrase": "a-new-password-7"}, format="json"
    )
    assert answer.json() == {"success": True}, answer.content
    account.refresh_from_db()
    renewed = TradovateLogin.of(account)
    assert (renewed.password, renewed.cid, renewed.sec) == (
        "a-new-password-7",
        7,
        "tv-secret-0123",
    )
    assert renewed.device_id == login.device_id  # the same device to Tradovate
