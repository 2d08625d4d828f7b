"""Seed 004's trading on one account and its TradingView webhook at /api/v1:
closed positions as the venue booked them, a close that leaves the paper
account flat (billing never refuses it), terminate, and the same intake as
/webhook/tradingview in the seed's shape."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client
from rest_framework.test import APIClient

import testkit
from paperbroker.models import PaperTrade
from paperbroker.services import quote_record
from testkit import api_client_for as api
from testkit.positions import held_at_venue, held_in_books
from webhooks.models import Signal

pytestmark = pytest.mark.usefixtures("clock", "tasks_inline")

API = "/api/v1/trading"


@pytest.fixture(autouse=True)
def _price(db) -> None:
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")


@pytest.fixture
def long_two(world) -> None:
    testkit.alert(world.api_key, qty=2)
    assert held_at_venue(world) == 2


def refused(response, status: int, code: str) -> None:
    assert (response.status_code, response.json()["code"]) == (status, code), (
        response.content
    )


def close(user, account, **body):
    url = f"{API}/close-position/{account.pk}"
    return api(user).post(url, {"symbol": "BTCUSDT", **body}, format="json")


# --- Closed positions ----------------------------------------------------------------


def test_closed_positions_are_what_the_paper_venue_booked_newest_first(
    world, clock, long_two
):
    clock.advance(minutes=5)
    quote_record(symbol="BTCUSDT", last=Decimal(110), source="manual")
    testkit.alert(world.api_key, action="sell", qty=1, price="110")
    clock.advance(minutes=5)
    quote_record(symbol="BTCUSDT", last=Decimal(90), source="manual")
    testkit.alert(world.api_key, action="sell", qty=1, price="90")
    body = api(world.viewer).get(f"{API}/positions/{world.account.pk}").json()
    booked = list(PaperTrade.objects.order_by("-closed_at"))
    assert len(body) == len(booked) == 2
    for row, trade in zip(body, booked, strict=True):
        assert (row["symbol"], row["side"], row["size"]) == ("BTCUSDT", "long", 1)
        assert Decimal(str(row["entry_price"])) == trade.entry_price
        assert Decimal(str(row["exit_price"])) == trade.exit_price
        assert Decimal(str(row["pnl"])) == trade.pnl  # to the cent
        assert Decimal(str(row["fee"])) == trade.costs
    assert body[0]["pnl"] < 0 < body[1]["pnl"]
    one = api(world.viewer).get(f"{API}/positions/{world.account.pk}?limit=1").json()
    assert one == body[:1]


def test_a_position_closed_by_terminate_is_a_closed_position_too(world, long_two):
    api(world.owner).post(f"{API}/terminate/{world.account.pk}")
    [row] = api(world.viewer).get(f"{API}/positions/{world.account.pk}").json()
    trade = PaperTrade.objects.get()
    assert (row["side"], row["size"]) == ("long", 2)
    assert Decimal(str(row["pnl"])) == trade.pnl


def test_closed_positions_are_tenant_scoped_and_limit_is_checked(world):
    url = f"{API}/positions/{world.account.pk}"
    refused(api(world.outsider).get(url), 404, "not-found")
    refused(APIClient().get(url), 401, "not-authenticated")
    refused(api(world.owner).get(f"{url}?limit=zero"), 400, "validation-error")
    assert api(world.owner).get(url).json() == []


# --- Close one position --------------------------------------------------------------


def test_close_position_leaves_the_paper_account_flat(world, long_two):
    response = close(world.trader, world.account, order_type="market")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["success"], body["message"], body["symbol"]) == (
        True,
        "Position closed",
        "BTCUSDT",
    )
    assert held_at_venue(world) == 0 and held_in_books(world) == 0
    signal = Signal.objects.get(pk=body["signal_id"])
    assert signal.broker == "api" and signal.status == Signal.Status.FILLED


def test_billing_never_refuses_a_close(world, billing_on, clock, long_two):
    clock.advance(days=3, seconds=1)  # the trial is over: entries are refused
    response = close(world.owner, world.account)
    assert response.status_code == 200, response.content
    assert held_at_venue(world) == 0


def test_nothing_to_close_is_a_409(world):
    refused(close(world.owner, world.account), 409, "no-position")


def test_a_disabled_account_is_told_that_terminate_flattens_it(world, long_two):
    world.account.enabled = False
    world.account.save()
    response = close(world.owner, world.account)
    refused(response, 409, "account-disabled")
    assert "terminate" in response.json()["detail"]


def test_close_position_input_and_roles(world, long_two):
    refused(
        close(world.owner, world.account, order_type="stop"), 400, ("validation-error")
    )
    response = close(world.owner, world.account, order_type="limit")
    refused(response, 400, "validation-error")
    assert "price" in response.json()["errors"]
    refused(close(world.viewer, world.account), 403, "permission-denied")
    refused(close(world.outsider, world.account), 404, "not-found")
    anonymous = APIClient().post(f"{API}/close-position/{world.account.pk}", {})
    refused(anonymous, 401, "not-authenticated")
    assert held_at_venue(world) == 2


def test_a_close_is_position_closes_as_api_orders_close_sends_it(world, long_two):
    response = close(world.owner, world.account, order_type="market")
    signal = Signal.objects.get(pk=response.json()["signal_id"])
    assert "owner@example.com" in signal.payload["comment"]  # who asked
    assert (signal.payload["action"], signal.payload["order_type"]) == (
        "exit",
        "market",
    )


# --- Terminate -----------------------------------------------------------------------


def test_terminate_flattens_the_account(world, long_two):
    response = api(world.owner).post(f"{API}/terminate/{world.account.pk}")
    assert response.json() == {
        "success": True,
        "terminated_positions": 1,
        "errors": [],
    }
    assert held_at_venue(world) == 0 and held_in_books(world) == 0


def test_terminate_is_for_admins_of_the_account(world, long_two):
    url = f"{API}/terminate/{world.account.pk}"
    refused(api(world.viewer).post(url), 403, "permission-denied")
    refused(api(world.outsider).post(url), 404, "not-found")
    refused(APIClient().post(url), 401, "not-authenticated")
    assert held_at_venue(world) == 2


# --- The TradingView webhook ---------------------------------------------------------


def test_the_v1_webhook_is_the_tradingview_intake_in_the_seeds_shape(world):
    body = {"key": world.api_key, "action": "buy", "symbol": "BTCUSDT", "qty": 1}
    response = Client().post(
        "/api/v1/webhook/tradingview", json.dumps(body), content_type="text/plain"
    )
    assert response.status_code == 202, response.content
    answer = response.json()
    assert answer["success"] is True and answer["message"]
    assert set(answer["data"]) == {
        "correlation_id",
        "success_count",
        "error_count",
        "results",
    }
    signal = Signal.objects.get(pk=answer["data"]["correlation_id"])
    assert signal.account == world.account
    assert held_at_venue(world) == 1


def test_the_v1_webhook_refuses_what_the_intake_refuses(world):
    response = Client().post(
        "/api/v1/webhook/tradingview", "buy BTCUSDT 1", content_type="text/plain"
    )
    refused(response, 401, "missing-key")


def test_the_v1_webhook_test_says_it_is_operational():
    body = Client().get("/api/v1/webhook/tradingview/test").json()
    assert body["success"] is True
    assert body["message"] == "Webhook endpoint is operational"
    assert set(body["data"]) == {"timestamp", "correlation_id"}
