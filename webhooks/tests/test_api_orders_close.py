"""`POST /api/orders/close` (seed 002): a position closed, whole or in part,
through the pipeline every alert takes: logged as a signal with who asked,
risk-checked as an exit, flat at the paper venue afterwards; billing never
refuses it; nothing to close is a 409; trading members only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

import testkit
from accounts.models import Role
from brokers.venues.tradovate.tests import conftest as tradovate
from paperbroker.models import PaperOrder
from paperbroker.services import quote_record
from risk.models import RiskConfig
from testkit import api_client_for as api
from testkit.factories import MembershipFactory
from testkit.positions import held_at_venue, held_in_books
from webhooks.models import Signal

URL = "/api/orders/close"
# The Tradovate fake and an account connected to it, on the frozen clock.
connected = tradovate.connected
fake = tradovate.fake

pytestmark = pytest.mark.usefixtures("clock", "tasks_inline")


@pytest.fixture(autouse=True)
def _price(db) -> None:
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")


@pytest.fixture
def long_two(world) -> None:
    """The paper account holds 2 BTCUSDT."""
    testkit.alert(world.api_key, qty=2)
    assert held_at_venue(world) == 2


def close(user, **body):
    return api(user).post(URL, body, format="json")


def test_closing_leaves_the_position_flat_at_the_venue_and_in_our_books(
    world, long_two
):
    response = close(world.owner, account_id=world.account.pk, symbol="BTCUSDT")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["success"], body["status"], body["symbol"]) == (
        True,
        "filled",
        "BTCUSDT",
    )
    assert (body["account_id"], body["remaining"]) == (world.account.pk, 0)
    [order] = body["orders"]
    assert (order["side"], order["quantity"], order["status"]) == ("sell", 2, "filled")
    assert order["filled_quantity"] == 2 and order["avg_fill_price"] is not None
    assert held_at_venue(world) == 0 and held_in_books(world) == 0
    # Logged like an alert, saying who closed it.
    signal = Signal.objects.get(pk=body["signal_id"])
    assert (signal.broker, signal.status, signal.account_id) == (
        "api",
        "filled",
        world.account.pk,
    )
    assert signal.payload["action"] == "exit"
    assert "owner@example.com" in signal.payload["comment"]
    venue_order = PaperOrder.objects.get(client_order_id=order["client_order_id"])
    assert venue_order.status == PaperOrder.Status.FILLED


def test_a_quantity_closes_part_of_the_position(world, long_two):
    response = close(
        world.trader, account_id=world.account.pk, symbol="BTCUSDT", quantity="0.5"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert [o["quantity"] for o in body["orders"]] == [0.5]
    assert body["remaining"] == 1.5
    assert held_at_venue(world) == Decimal("1.5")
    assert held_in_books(world) == Decimal("1.5")


def test_more_than_is_held_closes_what_is_held_and_never_reverses(world, long_two):
    body = close(
        world.owner, account_id=world.account.pk, symbol="BTCUSDT", quantity=5
    ).json()
    assert [o["quantity"] for o in body["orders"]] == [2]
    assert held_at_venue(world) == 0


def test_nothing_to_close_is_a_409_and_still_logged(world):
    response = close(world.owner, account_id=world.account.pk, symbol="BTCUSDT")
    assert response.status_code == 409
    assert response.json()["code"] == "no-position"
    assert "BTCUSDT" in response.json()["detail"]
    signal = Signal.objects.get(broker="api")
    assert signal.status == Signal.Status.DONE


def test_billing_never_refuses_a_close(world, billing_on, clock, long_two):
    clock.advance(days=3, seconds=1)  # the trial is over: entries are refused
    status = api(world.owner).get("/api/billing/status").json()
    assert (status["can_trade"], status["code"]) == (False, "trial-expired")
    response = close(world.owner, account_id=world.account.pk, symbol="BTCUSDT")
    assert response.status_code == 200, response.content
    assert held_at_venue(world) == 0


def test_the_risk_rules_judge_it_as_an_exit(world, long_two):
    RiskConfig.objects.create(
        account=world.account,
        timezone="America/Chicago",
        trading_windows={"tue": [["08:30", "09:00"]]},  # noon: outside
        exits_outside_window=False,
    )
    response = close(world.owner, account_id=world.account.pk, symbol="BTCUSDT")
    assert response.status_code == 422
    assert response.json()["code"] == "risk:outside-window"
    assert held_at_venue(world) == 2


def test_while_the_worker_has_not_run_it_is_a_202_with_the_signal(
    world, long_two, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # queued after a commit, never here
    response = close(world.owner, account_id=world.account.pk, symbol="BTCUSDT")
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["orders"], body["remaining"]) == ("queued", [], None)
    assert Signal.objects.get(pk=body["signal_id"]).status == Signal.Status.QUEUED
    assert held_at_venue(world) == 2


def test_readers_may_not_close_and_an_outsider_is_a_404(world, long_two):
    exporter = MembershipFactory.create(
        workspace=world.workspace,
        user__email="exporter@example.com",
        role=Role.EXPORTER,
    ).user
    for reader in (world.viewer, exporter):
        response = close(reader, account_id=world.account.pk, symbol="BTCUSDT")
        assert response.status_code == 403
        assert response.json()["code"] == "permission-denied"
    for account_id in (world.account.pk, 999_999):
        response = close(world.outsider, account_id=account_id, symbol="BTCUSDT")
        assert (response.status_code, response.json()["code"]) == (404, "not-found")
    assert held_at_venue(world) == 2
    assert not Signal.objects.filter(broker="api").exists()


def test_an_anonymous_request_is_a_401(world):
    body = {"account_id": world.account.pk, "symbol": "BTCUSDT"}
    response = APIClient().post(URL, body, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not-authenticated"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"symbol": "BTCUSDT"}, "account_id"),
        ({"account_id": "mine", "symbol": "BTCUSDT"}, "account_id"),
        ({"account_id": 1}, "symbol"),
        ({"account_id": 1, "symbol": "  "}, "symbol"),
        ({"account_id": 1, "symbol": "BTCUSDT", "quantity": 0}, "quantity"),
        ({"account_id": 1, "symbol": "BTCUSDT", "quantity": "-1"}, "quantity"),
        ({"account_id": 1, "symbol": "BTCUSDT", "quantity": "lots"}, "quantity"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(world, body, field):
    response = close(world.owner, **body)
    assert response.status_code == 400
    assert response.json()["code"] == "validation-error"
    assert field in response.json()["errors"]


def test_an_unknown_symbol_is_a_422_with_the_intakes_code(world):
    response = close(world.owner, account_id=world.account.pk, symbol="NOPE1!")
    assert response.status_code == 422
    assert response.json()["code"] == "unknown-symbol"


def test_a_venue_refusing_the_login_is_a_409_with_its_code(connected, world):
    connected.fake.expire_tokens()  # the close signs in again, and meets a captcha
    connected.fake.knobs.penalty, connected.fake.knobs.captcha = 1, True
    response = close(world.owner, account_id=connected.account.pk, symbol="MNQ1!")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "captcha-required"
    assert "captcha" in response.json()["detail"]
    signal = Signal.objects.get(broker="api")
    assert (signal.status, signal.error_code) == ("failed", "venue:captcha-required")
