"""Seed 003's Paper Trading API: shapes, orders, scope, permissions, rate limits.

Fills use crypto symbols (open around the clock) and explicit prices, so nothing here
depends on the day the tests run.
"""

from __future__ import annotations

import asyncio
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client

from common.realtime import workspace_group
from paperbroker import api
from paperbroker.models import PaperAccount, PaperFill, PaperOrder, PaperPosition
from paperbroker.services import quote_record
from testkit import client_for
from webhooks.api import paper as paper_alerts
from webhooks.intake.keys import account_register
from webhooks.models import Signal

# Alerts go through the signal pipeline: its tasks run inline here.
pytestmark = pytest.mark.usefixtures("tasks_inline")

BASE = "/api/paper-trading"
ISO_Z = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$"


def post(client: Client, path: str, body: Any = None):
    return client.post(
        BASE + path, data=json.dumps(body or {}), content_type="application/json"
    )


def public_id(world) -> str:
    return f"paper_{world.account.pk}"


def paper_alert(client: Client, **fields: Any):
    """Seed 003's `POST /alerts` (not the webhook): an order for a paper account."""
    body = {"symbol": "BTCUSDT", "action": "buy", "quantity": 0.1, **fields}
    return post(client, "/alerts", body)


def working_limit(world, price: str = "50000") -> PaperOrder:
    """A resting limit buy below a 60,000 market."""
    quote_record(symbol="BTCUSDT", last=Decimal(60000), source="manual")
    response = paper_alert(
        client_for(world.owner),
        orderType="limit",
        price=float(price),
        timeInForce="GTC",
    )
    assert response.status_code == 200, response.json()
    return PaperOrder.objects.get(pk=response.json()["order_id"].removeprefix("order_"))


@pytest.fixture
def owner(world) -> Client:
    return client_for(world.owner)


# --- The seed's workflow ----------------------------------------------------------


def test_the_seed_workflow_lists_trades_shows_the_order_and_metrics_and_resets(
    world, owner
):
    account_id = public_id(world)
    # 1. Get available accounts.
    listed = owner.get(BASE + "/accounts")
    assert listed.status_code == 200
    [account] = listed.json()
    assert account["id"] == account_id
    assert account["name"] == "Paper 50K"
    assert (account["broker"], account["mode"]) == ("simulator", "simulator")
    assert account["initial_balance"] == account["current_balance"] == 50000.0
    assert account["day_pnl"] == account["total_pnl"] == 0
    assert account["buying_power"] == account["equity"] == 50000.0
    assert account["positions"] == {}
    assert re.match(ISO_Z, account["created_at"])
    assert re.match(ISO_Z, account["last_updated"])
    assert json.dumps(account)  # plain JSON: numbers are numbers, not strings

    # 2. Submit a test order (seed body; a crypto symbol, whose market never closes).
    quote_record(symbol="BTCUSDT", last=Decimal(60000), source="manual")
    submitted = post(
        owner,
        "/alerts",
        {
            "symbol": "BTCUSDT",
            "action": "buy",
            "quantity": 0.1,
            "accountGroup": "paper_simulator",
            "comment": "Test order",
        },
    )
    assert submitted.status_code == 200, submitted.json()
    body = submitted.json()
    order_id = body["order_id"]
    assert order_id == f"order_{PaperOrder.objects.get().pk}"
    assert body == {
        "status": "success",
        "order_id": order_id,
        "account_id": account_id,
        "execution_engine": "simulator",
        "order": {
            "id": order_id,
            "symbol": "BTCUSDT",
            "action": "buy",
            "quantity": 0.1,
            "status": "filled",
        },
        "result": {
            "status": "success",
            # A buy pays the one-tick spread; crypto pays 10 bps of notional.
            "fill": {
                "price": 60000.01,
                "quantity": 0.1,
                "commission": 6.0,
                "fees": 0.0,
                "slippage": 0.0,
            },
            "execution_details": {
                "execution_delay_ms": 0,
                "market_conditions": {
                    "session": "regular",
                    "liquidity_factor": 1.0,
                    "volatility_multiplier": 1.0,
                },
            },
        },
        "is_paper": True,
    }

    # 3. Check order status.
    orders = owner.get(f"{BASE}/accounts/{account_id}/orders?limit=5")
    assert orders.status_code == 200
    [order] = orders.json()
    assert order == {
        "id": order_id,
        "account_id": account_id,
        "symbol": "BTCUSDT",
        "asset_type": "crypto",
        "action": "buy",
        "order_type": "market",
        "quantity": 0.1,
        "price": None,
        "filled_quantity": 0.1,
        "avg_fill_price": 60000.01,
        "status": "filled",
        "broker": "simulator",
        "strategy": "",
        "comment": "Test order",
        "created_at": order["created_at"],
        "filled_at": order["filled_at"],
        "time_in_force": "IOC",
        "stop_price": None,
        "reject_reason": "",
    }
    assert re.match(ISO_Z, order["created_at"]) and re.match(ISO_Z, order["filled_at"])
    assert order["filled_at"] >= order["created_at"]
    account = owner.get(f"{BASE}/accounts/{account_id}").json()
    assert account["current_balance"] == 49994.0
    assert (account["day_pnl"], account["total_pnl"]) == (-6.0, -6.0)
    assert account["buying_power"] == 49994.0 - 6000  # crypto margins in full
    assert account["positions"] == {
        "BTCUSDT": {
            "symbol": "BTCUSDT",
            "asset_type": "crypto",
            "quantity": 0.1,
            "avg_price": 60000.01,
            "market_price": 60000.0,
            "unrealized_pnl": 0.0,
            "multiplier": 1.0,
        }
    }

    # 4. View performance: an open position is not a trade yet.
    performance = owner.get(f"{BASE}/accounts/{account_id}/metrics")
    assert performance.status_code == 200
    metrics = performance.json()
    assert list(metrics) == [
        "account_id",
        "period_start",
        "period_end",
        "total_trades",
        "winning_trades",
        "losing_trades",
        "win_rate",
        "avg_win",
        "avg_loss",
        "largest_win",
        "largest_loss",
        "total_pnl",
        "gross_profit",
        "gross_loss",
        "profit_factor",
        "max_drawdown",
        "total_commissions",
        "total_volume",
        "avg_trade_duration",
    ]
    assert (metrics["account_id"], metrics["total_trades"]) == (account_id, 0)
    assert (metrics["profit_factor"], metrics["avg_trade_duration"]) == (None, None)
    assert metrics["total_commissions"] == 6.0

    # 5. Reset the account.
    reset = post(owner, f"/accounts/{account_id}/reset", {"confirm": True})
    assert reset.status_code == 200
    body = reset.json()
    assert body["status"] == "success"
    assert body["message"] == f"Account {account_id} has been reset to initial state"
    assert body["account"]["id"] == account_id
    assert body["account"]["current_balance"] == 50000.0
    assert body["account"]["day_pnl"] == body["account"]["total_pnl"] == 0
    assert body["account"]["positions"] == {}
    assert not PaperOrder.objects.exists() and not PaperFill.objects.exists()


def test_an_account_is_found_by_public_id_bare_number_or_the_simulator_alias(
    world, owner
):
    for key in (public_id(world), str(world.account.pk), "paper_simulator"):
        response = owner.get(f"{BASE}/accounts/{key}")
        assert (response.status_code, response.json()["id"]) == (200, public_id(world))
    for key in ("paper_999999", "paper_x", "12abc", "paper_tradovate"):
        response = owner.get(f"{BASE}/accounts/{key}")
        assert (response.status_code, response.json()["code"]) == (404, "not-found")


def test_a_round_trip_shows_in_fills_and_in_the_metrics(world, owner):
    assert paper_alert(owner, price=60000).status_code == 200
    sold = paper_alert(owner, action="sell", price=61000)
    assert sold.status_code == 200
    assert sold.json()["result"]["fill"]["price"] == 61000.0  # a sell takes the bid
    fills = owner.get(f"{BASE}/accounts/{public_id(world)}/fills").json()
    assert [(f["side"], f["price"], f["commission"]) for f in fills] == [
        ("sell", 61000.0, 6.1),
        ("buy", 60000.01, 6.0),
    ]
    newest = fills[0]
    assert newest == {
        "id": f"fill_{PaperFill.objects.get(side='sell').pk}",
        "order_id": sold.json()["order_id"],
        "account_id": public_id(world),
        "symbol": "BTCUSDT",
        "side": "sell",
        "quantity": 0.1,
        "price": 61000.0,
        "commission": 6.1,
        "fees": 0.0,
        "slippage": 0.0,
        "timestamp": newest["timestamp"],
        "broker": "simulator",
    }
    metrics = owner.get(f"{BASE}/accounts/{public_id(world)}/metrics").json()
    # (61000 - 60000.01) x 0.1 = 99.999 gross, less 6.00 + 6.10 commissions.
    assert metrics["total_trades"] == metrics["winning_trades"] == 1
    assert (metrics["total_pnl"], metrics["win_rate"]) == (87.9, 100.0)
    assert (metrics["total_commissions"], metrics["total_volume"]) == (12.1, 0.1)
    assert metrics["avg_trade_duration"] is not None


# --- Orders -----------------------------------------------------------------------


def test_a_limit_buy_below_the_market_stays_working_and_is_listed(world, owner):
    order = working_limit(world, "59000.50")
    assert order.status == PaperOrder.Status.WORKING
    [listed] = owner.get(f"{BASE}/accounts/{public_id(world)}/orders").json()
    assert (listed["id"], listed["status"]) == (f"order_{order.pk}", "working")
    assert (listed["order_type"], listed["price"]) == ("limit", 59000.5)
    assert (listed["filled_quantity"], listed["avg_fill_price"]) == (0, None)
    assert (listed["time_in_force"], listed["filled_at"]) == ("GTC", None)
    assert not PaperPosition.objects.exclude(quantity=0).exists()


def test_the_alert_answer_for_a_resting_order_has_no_fill(world, owner):
    quote_record(symbol="BTCUSDT", last=Decimal(60000), source="manual")
    body = paper_alert(owner, orderType="limit", price=50000).json()
    assert (body["order"]["status"], body["result"]["status"]) == ("working", "working")
    assert body["result"]["fill"] is None


def test_a_working_order_is_cancelled_once_by_public_id_or_bare_number(world, owner):
    first, second = working_limit(world), working_limit(world)
    cancelled = post(owner, f"/orders/order_{first.pk}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json() == {"status": "success", "order_id": f"order_{first.pk}"}
    assert post(owner, f"/orders/{second.pk}/cancel").status_code == 200
    again = post(owner, f"/orders/order_{first.pk}/cancel")
    assert (again.status_code, again.json()["code"]) == (409, "order-not-working")
    assert set(PaperOrder.objects.values_list("status", flat=True)) == {"cancelled"}


def test_flatten_closes_every_position_and_cancels_working_orders(world, owner):
    paper_alert(owner, price=60000)
    paper_alert(owner, symbol="ETHUSDT", action="sell", quantity=1, price=3000)
    resting = working_limit(world)
    response = post(owner, f"/accounts/{public_id(world)}/flatten")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["account_id"]) == ("success", public_id(world))
    assert body["positions_closed"] == 2
    assert sorted((r["symbol"], r["status"]) for r in body["results"]) == [
        ("BTCUSDT", "success"),
        ("ETHUSDT", "success"),
    ]
    for result in body["results"]:
        closing = PaperOrder.objects.get(pk=result["order_id"].removeprefix("order_"))
        assert closing.status == PaperOrder.Status.FILLED
    assert not PaperPosition.objects.exclude(quantity=0).exists()
    resting.refresh_from_db()
    assert resting.status == PaperOrder.Status.CANCELLED


def test_flattening_a_flat_account_closes_nothing(world, owner):
    body = post(owner, f"/accounts/{public_id(world)}/flatten").json()
    assert (body["positions_closed"], body["results"]) == (0, [])


def test_reset_without_confirmation_is_refused_and_changes_nothing(world, owner):
    paper_alert(owner, price=60000)
    for body in ({}, {"confirm": False}):
        response = post(owner, f"/accounts/{public_id(world)}/reset", body)
        assert response.status_code == 400
        assert response.json()["code"] == "confirmation-required"
        assert '"confirm": true' in response.json()["detail"]
    assert PaperOrder.objects.count() == 1


def test_the_orders_limit_defaults_caps_and_refuses_nonsense(world, owner):
    for _ in range(3):
        working_limit(world)
    url = f"{BASE}/accounts/{public_id(world)}/orders"
    assert len(owner.get(url).json()) == 3
    assert len(owner.get(url + "?limit=2").json()) == 2
    assert len(owner.get(url + "?limit=5000").json()) == 3  # capped at 1000
    for bad in ("0", "-1", "many"):
        response = owner.get(f"{url}?limit={bad}")
        assert (response.status_code, response.json()["code"]) == (
            400,
            "validation-error",
        )


# --- Alerts -----------------------------------------------------------------------


def test_alerts_accept_the_snake_case_tradingview_format(world, owner):
    quote_record(symbol="ETHUSDT", last=Decimal(3000), source="manual")
    response = post(
        owner,
        "/alerts",
        {
            "symbol": "ETHUSDT",
            "action": "SELL",
            "quantity": 2,
            "order_type": "limit",
            "price": 3100,
            "time_in_force": "gtc",
            "account_group": public_id(world),
            "strategy": "momentum_strategy",
            "comment": "TradingView alert",
        },
    )
    assert response.status_code == 200, response.json()
    order = PaperOrder.objects.get()
    assert (order.side, order.order_type, order.limit_price) == (
        "sell",
        "limit",
        Decimal(3100),
    )
    assert (order.time_in_force, order.status) == ("GTC", "working")
    assert (order.strategy, order.comment) == ("momentum_strategy", "TradingView alert")
    # The pipeline's exactly-once id: signal, account, leg.
    assert order.client_order_id.startswith("tf-")


def test_a_stop_alert_without_stop_price_uses_price_as_its_level(world, owner):
    quote_record(symbol="BTCUSDT", last=Decimal(60000), source="manual")
    paper_alert(owner, orderType="stop", price=61000, timeInForce="GTC")
    paper_alert(owner, orderType="stop", stopPrice=62000, timeInForce="GTC")
    assert sorted(PaperOrder.objects.values_list("stop_price", flat=True)) == [
        Decimal(61000),
        Decimal(62000),
    ]
    [listed, _] = owner.get(f"{BASE}/accounts/{public_id(world)}/orders").json()
    assert (listed["price"], listed["stop_price"]) == (62000.0, 62000.0)


def test_a_bracket_alert_leaves_its_stop_loss_and_take_profit_working(world, owner):
    response = paper_alert(owner, price=60000, stopLoss=59000, takeProfit=62000)
    assert response.status_code == 200, response.json()
    legs = PaperOrder.objects.filter(status="working").order_by("order_type")
    assert [(o.order_type, o.side, o.limit_price or o.stop_price) for o in legs] == [
        ("limit", "sell", Decimal(62000)),
        ("stop", "sell", Decimal(59000)),
    ]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"quantity": 10, "price": 60000}, "insufficient-buying-power"),
        ({"orderType": "limit", "price": 60000.001}, "invalid-price"),
        ({"symbol": "SOLUSDT"}, "no-price"),
    ],
)
def test_a_rejected_order_is_422_with_the_venues_code_and_sentence(
    world, owner, fields, code
):
    response = paper_alert(owner, **fields)
    assert response.status_code == 422
    body = response.json()
    assert (body["success"], body["code"]) == (False, code)
    order = PaperOrder.objects.get()
    assert order.status == PaperOrder.Status.REJECTED
    assert order.reject_reason == f"{code}: {body['detail']}"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"orderType": "limit"}, "price-required"),
        ({"symbol": "NOTASYMBOL", "price": 1}, "unknown-symbol"),
        ({"quantity": 0, "price": 60000}, "invalid-quantity"),
    ],
)
def test_an_alert_that_is_no_order_is_422_and_logged_without_reaching_the_venue(
    world, owner, fields, code
):
    response = paper_alert(owner, **fields)
    assert (response.status_code, response.json()["code"]) == (422, code)
    assert not PaperOrder.objects.exists()
    signal = Signal.objects.get()
    assert (signal.status, signal.error_code) == ("rejected", code)


@pytest.mark.parametrize("missing", ["symbol", "action", "quantity"])
def test_an_alert_missing_a_required_field_is_a_validation_error(world, owner, missing):
    body = {"symbol": "BTCUSDT", "action": "buy", "quantity": 1}
    del body[missing]
    response = post(owner, "/alerts", body)
    assert (response.status_code, response.json()["code"]) == (400, "validation-error")
    assert missing in response.json()["errors"]
    assert not PaperOrder.objects.exists()


def test_an_alert_that_is_not_an_object_is_a_validation_error(world, owner):
    response = post(owner, "/alerts", [1, 2])
    assert (response.status_code, response.json()["code"]) == (400, "validation-error")


@pytest.mark.parametrize(
    "group", ["paper_tastytrade", "paper_tradovate", "paper_alpaca"]
)
def test_sandbox_engines_are_refused_as_not_configured(world, owner, group):
    response = paper_alert(owner, accountGroup=group, price=60000)
    assert response.status_code == 400
    assert response.json()["code"] == "engine-unavailable"
    assert "not configured on this server" in response.json()["detail"]
    assert not PaperOrder.objects.exists()


def test_an_alert_is_announced_to_the_workspace_after_commit(
    world, owner, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(workspace_group(world.workspace.pk), channel)

    async def receive(count: int) -> list[dict[str, Any]]:
        return [
            (await asyncio.wait_for(layer.receive(channel), 5))["event"]
            for _ in range(count)
        ]

    with django_capture_on_commit_callbacks(execute=True):
        response = paper_alert(owner, price=60000)
    events = async_to_sync(receive)(3)
    assert [e["type"] for e in events] == [
        "paper_order_update",
        "paper_fill_update",
        "paper_account_update",
    ]
    order, fill, account = (e["data"] for e in events)
    assert (order["id"], order["status"]) == (response.json()["order_id"], "filled")
    assert (fill["order_id"], fill["price"]) == (order["id"], 60000.01)
    assert (account["id"], account["current_balance"]) == (public_id(world), 49994.0)
    assert "BTCUSDT" in account["positions"]
    assert all(e["workspace_id"] == world.workspace.pk for e in events)


# --- Scope and permissions ----------------------------------------------------------

ACCOUNT_ROUTES = [
    ("get", ""),
    ("get", "/orders"),
    ("get", "/fills"),
    ("get", "/metrics"),
    ("post", "/reset"),
    ("post", "/flatten"),
]


@pytest.mark.parametrize(("method", "suffix"), ACCOUNT_ROUTES)
def test_an_outsider_gets_404_on_every_account_route(world, method, suffix):
    outsider = client_for(world.outsider)
    for key in (public_id(world), str(world.account.pk)):
        path = f"/accounts/{key}{suffix}"
        response = (
            outsider.get(BASE + path)
            if method == "get"
            else post(outsider, path, {"confirm": True})
        )
        assert (response.status_code, response.json()["code"]) == (404, "not-found")
    assert PaperAccount.objects.get().cash_balance == 50000


def test_an_outsider_cannot_see_cancel_or_trade_on_another_workspace(world):
    order = working_limit(world)
    outsider = client_for(world.outsider)
    assert outsider.get(BASE + "/accounts").json() == []
    assert post(outsider, f"/orders/order_{order.pk}/cancel").status_code == 404
    response = paper_alert(outsider, accountGroup=public_id(world), price=60000)
    assert response.status_code == 404
    # With no paper account of their own, the alias finds nothing either.
    assert paper_alert(outsider, price=60000).status_code == 404
    order.refresh_from_db()
    assert order.status == PaperOrder.Status.WORKING and PaperOrder.objects.count() == 1


def test_the_simulator_alias_never_reaches_another_workspaces_account(world):
    mine, _ = account_register(
        workspace=world.other_workspace,
        user=world.outsider,
        venue="paper",
        name="Outsider paper",
        options={"initial_balance": Decimal(1000)},
    )
    outsider = client_for(world.outsider)
    body = outsider.get(BASE + "/accounts/paper_simulator").json()
    assert body["id"] == f"paper_{mine.pk}"
    assert [a["id"] for a in outsider.get(BASE + "/accounts").json()] == [body["id"]]


def test_a_viewer_reads_everything_but_gets_403_on_every_write(world):
    order = working_limit(world)
    viewer = client_for(world.viewer)
    account = f"/accounts/{public_id(world)}"
    for suffix in ("", "/orders", "/fills", "/metrics"):
        assert viewer.get(BASE + account + suffix).status_code == 200
    writes = [
        post(viewer, account + "/reset", {"confirm": True}),
        post(viewer, account + "/flatten"),
        post(viewer, f"/orders/order_{order.pk}/cancel"),
        paper_alert(viewer, accountGroup=public_id(world), price=60000),
        paper_alert(viewer, price=60000),
    ]
    assert [(r.status_code, r.json()["code"]) for r in writes] == [
        (403, "permission-denied")
    ] * 5
    order.refresh_from_db()
    assert order.status == PaperOrder.Status.WORKING and PaperOrder.objects.count() == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/accounts"),
        ("get", "/accounts/paper_simulator"),
        ("post", "/alerts"),
        ("post", "/orders/order_1/cancel"),
        ("get", "/status"),
        ("get", "/health"),
    ],
)
def test_anonymous_requests_are_refused(db, method, path):
    response = getattr(Client(), method)(BASE + path)
    assert response.status_code == 401
    assert response.json()["code"] == "not-authenticated"
    assert response["WWW-Authenticate"].startswith("Basic")


# --- Rate limits ------------------------------------------------------------------


def test_more_alerts_than_the_per_account_limit_get_429_with_retry_after(
    world, owner, monkeypatch
):
    monkeypatch.setattr(paper_alerts, "ORDER_RATE_PER_MINUTE", 2)
    quote_record(symbol="BTCUSDT", last=Decimal(60000), source="manual")
    statuses = [paper_alert(owner, quantity=0.01).status_code for _ in range(2)]
    refused = paper_alert(owner, quantity=0.01)
    assert statuses == [200, 200]
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["code"] == "rate-limited"
    assert PaperOrder.objects.count() == 2


def test_account_queries_are_limited_per_user(world, owner, monkeypatch):
    monkeypatch.setattr(api, "QUERY_RATE_PER_MINUTE", 2)
    url = f"{BASE}/accounts/{public_id(world)}"
    assert [owner.get(url).status_code for _ in range(2)] == [200, 200]
    refused = owner.get(url + "/orders")
    assert (refused.status_code, refused.json()["code"]) == (429, "rate-limited")
    assert int(refused["Retry-After"]) > 0
    assert client_for(world.viewer).get(url).status_code == 200  # another user


def test_status_checks_are_limited_per_user(world, owner, monkeypatch):
    monkeypatch.setattr(api, "STATUS_RATE_PER_MINUTE", 1)
    assert owner.get(BASE + "/status").status_code == 200
    refused = owner.get(BASE + "/health")
    assert (refused.status_code, refused.json()["code"]) == (429, "rate-limited")
    assert int(refused["Retry-After"]) > 0


# --- System -------------------------------------------------------------------------


def test_status_counts_only_the_users_workspaces(world, owner):
    account_register(
        workspace=world.other_workspace,
        user=world.outsider,
        venue="paper",
        name="Outsider paper",
        options={"initial_balance": Decimal(1000)},
    )
    paper_alert(owner, price=60000)
    working_limit(world)
    body = owner.get(BASE + "/status").json()
    assert body == {
        "status": "active",
        "total_accounts": 1,
        "total_orders": 2,
        "total_fills": 1,
        "available_engines": ["simulator"],
        "initialized": True,
        "timestamp": body["timestamp"],
    }
    assert body["timestamp"].endswith("Z")


def test_health_reports_the_accounts_and_engines_available(world, owner):
    body = owner.get(BASE + "/health").json()
    assert body == {
        "status": "healthy",
        "accounts_available": 1,
        "engines_available": 1,
        "timestamp": body["timestamp"],
    }


def test_alerts_meet_the_accounts_risk_rules_and_reach_our_books(world, owner):
    from brokers.models import BrokerAccount, Order, Position
    from risk.models import RiskConfig

    quote_record(symbol="BTCUSDT", last=Decimal(60000), source="manual")
    RiskConfig.objects.create(account=world.account, max_order_quantity=Decimal("0.1"))
    refused = paper_alert(owner, quantity=0.2)
    assert refused.status_code == 422
    assert refused.json()["code"] == "risk:max-order-quantity"
    assert not PaperOrder.objects.exists()
    assert paper_alert(owner, quantity=0.1).status_code == 200
    order = Order.objects.get(account=world.account)
    assert (order.status, order.client_order_id[:3]) == ("filled", "tf-")
    assert Position.objects.get(account=world.account).quantity == Decimal("0.1")
    BrokerAccount.objects.filter(pk=world.account.pk).update(status="close_only")
    assert paper_alert(owner, quantity=0.1).json()["code"] == "risk:close-only"
    exits = paper_alert(owner, action="sell", quantity=0.1)
    assert exits.status_code == 200  # exits pass
