"""Seed 000's account reads: `GET /api/accounts/{id}` (the account, no secret),
`/trades` (its closed trades, from the one source every trade route reads,
paged and ranged) and `/positions` (as /api/positions shows them). A viewer may
read them, an outsider gets 404, an anonymous caller 401."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

import testkit
from brokers.models import BrokerAccount, Fill
from brokers.services import account_flatten
from paperbroker.models import PaperTrade
from paperbroker.services import quote_record
from risk.models import RiskConfig
from testkit import api_client_for as api
from tradeflow.tests.test_openapi import check_answer

pytestmark = pytest.mark.usefixtures("clock", "tasks_inline")


@pytest.fixture(autouse=True)
def _price(db) -> None:
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")


def url(account: BrokerAccount, tail: str = "") -> str:
    return f"/api/accounts/{account.pk}{tail}"


def refused(response, status: int, code: str) -> None:
    assert (response.status_code, response.json()["code"]) == (status, code), (
        response.content
    )


def trips(world, clock, count: int) -> None:
    """`count` round trips, a day apart: in at 100, out at 100 + n."""
    for n in range(count):
        testkit.alert(world.api_key, qty=1, comment=f"trip {n}")
        clock.advance(minutes=5)
        exit_price = str(100 + n)
        quote_record(symbol="BTCUSDT", last=Decimal(exit_price), source="manual")
        exit_all = {"action": "exit", "symbol": "BTCUSDT", "price": exit_price}
        testkit.alert(world.api_key, exit_all)
        clock.advance(days=1)
        quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")


# --- The account ----------------------------------------------------------------------


def test_the_account_is_its_venue_money_and_positions_and_no_secret(world):
    world.account.credentials = "a-secret-login"
    world.account.save()
    testkit.alert(world.api_key, qty=2)
    response = api(world.viewer).get(url(world.account))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["broker"], body["name"]) == (
        world.account.pk,
        "paper",
        "Paper 50K",
    )
    assert (body["mode"], body["currency"], body["status"]) == ("demo", "USD", "active")
    assert body["open_positions"] == 1
    assert body["balance"] is not None and body["last_sync_at"] is not None
    assert body["risk"] is None  # no rules, never measured
    assert "a-secret-login" not in response.content.decode()
    assert "credentials" not in body


def test_the_account_says_its_risk_state_once_it_has_rules(world):
    RiskConfig.objects.create(
        account=world.account, max_contracts=Decimal(3), max_trades_per_day=5
    )
    risk = api(world.owner).get(url(world.account)).json()["risk"]
    assert (risk["max_contracts"], risk["trades_today"], risk["trades_left"]) == (
        3,
        0,
        5,
    )
    assert risk["contracts_in_use"] == 0


# --- Its trades -----------------------------------------------------------------------


def test_trades_are_the_closed_round_trips_oldest_first_to_the_cent(world, clock):
    trips(world, clock, 3)
    body = api(world.viewer).get(url(world.account, "/trades")).json()
    booked = list(PaperTrade.objects.order_by("closed_at"))
    assert (body["total"], body["offset"], body["limit"]) == (3, 0, 100)
    assert [row["exit_price"] for row in body["trades"]] == [100, 101, 102]
    for row, trade in zip(body["trades"], booked, strict=True):
        assert Decimal(str(row["pnl"])) == trade.pnl
        assert Decimal(str(row["fees"])) == trade.costs
        assert (row["account_id"], row["broker"]) == (world.account.pk, "paper")


def test_trades_include_a_close_by_a_flatten(world):
    testkit.alert(world.api_key, qty=2)
    account_flatten(account=world.account)
    [row] = api(world.owner).get(url(world.account, "/trades")).json()["trades"]
    close = Fill.objects.get(account=world.account, side="sell")
    assert (row["id"], row["side"], row["quantity"]) == (close.pk, "long", 2)


def test_trades_are_paged_and_ranged(world, clock):
    first_day = clock.now().date()
    trips(world, clock, 4)
    page = api(world.owner).get(url(world.account, "/trades?offset=1&limit=2")).json()
    assert [row["exit_price"] for row in page["trades"]] == [101, 102]
    assert page["total"] == 4
    second = first_day + timedelta(days=1)
    query = f"/trades?start={second}&end={second + timedelta(days=1)}"
    ranged = api(world.owner).get(url(world.account, query)).json()
    assert [row["exit_price"] for row in ranged["trades"]] == [101, 102]
    assert (ranged["start"], ranged["end"]) == (
        str(second),
        str(second + timedelta(days=1)),
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?limit=0", "limit"),
        ("?offset=minus", "offset"),
        ("?start=2026-02-30", "start"),
        ("?start=2026-11-24&end=2026-11-01", "end"),
        ("?end=9999-12-31", "end"),
    ],
)
def test_bad_trade_parameters_are_a_400_naming_the_parameter(world, query, field):
    response = api(world.owner).get(url(world.account, "/trades" + query))
    refused(response, 400, "validation-error")
    assert field in response.json()["errors"]


# --- Its positions --------------------------------------------------------------------


def test_positions_are_the_open_ones_as_api_positions_shows_them(world):
    testkit.alert(world.api_key, qty=2)
    other = BrokerAccount.objects.create(
        workspace=world.workspace, venue="tradovate", name="Other"
    )
    other.positions.create(workspace=world.workspace, symbol="MNQZ26", quantity=1)
    [row] = api(world.viewer).get(url(world.account, "/positions")).json()
    assert [row] == [
        p
        for p in api(world.viewer).get("/api/positions").json()
        if p["account_id"] == world.account.pk
    ]
    assert (row["symbol"], row["side"], row["quantity"]) == ("BTCUSDT", "long", 2)
    account_flatten(account=world.account)
    assert api(world.viewer).get(url(world.account, "/positions")).json() == []


# --- Scope ----------------------------------------------------------------------------


@pytest.mark.parametrize("tail", ["", "/trades", "/positions"])
def test_an_outsider_gets_404_and_an_anonymous_caller_401(world, tail):
    refused(api(world.outsider).get(url(world.account, tail)), 404, "not-found")
    refused(APIClient().get(url(world.account, tail)), 401, "not-authenticated")
    refused(api(world.owner).get(f"/api/accounts/999999{tail}"), 404, "not-found")


# --- Schema ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize("tail", ["", "/trades", "/positions"])
def test_each_answer_is_what_the_schema_says(world, schema, tail):
    testkit.alert(world.api_key, qty=2)
    account_flatten(account=world.account)
    testkit.alert(world.api_key, qty=1, comment="held")
    RiskConfig.objects.create(account=world.account, daily_loss_limit=Decimal(500))
    response = api(world.viewer).get(url(world.account, tail))
    check_answer(schema, response, "/api/accounts/{id}" + tail)
