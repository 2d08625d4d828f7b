"""The fake TradeLocker, driven over raw HTTP as a client of any make would."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from brokers.venues.tradelocker.fake import FakeTradeLocker
from brokers.venues.tradelocker.fake_world import FakeAccount
from brokers.venues.tradelocker.mapping import (
    ACCOUNT_DETAIL_COLUMNS,
    EXECUTION_COLUMNS,
    ORDER_COLUMNS,
    POSITION_COLUMNS,
    rows_by_name,
)

EMAIL, PASSWORD, SERVER = "trader@example.com", "pw-0123", "OSP-DEMO"
LOGIN = {"email": EMAIL, "password": PASSWORD, "server": SERVER}


@pytest.fixture
def server(clock) -> Iterator[FakeTradeLocker]:
    with FakeTradeLocker.running() as fake:
        fake.user(EMAIL, PASSWORD, SERVER)
        yield fake


@pytest.fixture
def account(server) -> FakeAccount:
    return server.account(EMAIL, "OSP#1")


@pytest.fixture
def http(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5) as client:
        yield client


def login(http: httpx.Client) -> str:
    answer = http.post("/auth/jwt/token", json=LOGIN)
    assert answer.status_code == 201
    return answer.json()["accessToken"]


def trading(http: httpx.Client, account: FakeAccount) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(http)}", "accNum": str(account.acc_num)}


def columns(http: httpx.Client, headers: dict[str, str], name: str) -> list[str]:
    config = http.get("/trade/config", headers=headers).json()["d"]
    return [column["id"] for column in config[name]["columns"]]


def rows(http, headers, account, what: str, config: str) -> list[dict]:
    answer = http.get(f"/trade/accounts/{account.id}/{what}", headers=headers).json()
    assert answer["s"] == "ok"
    return rows_by_name(columns(http, headers, config), answer["d"][what])


def order(server: FakeTradeLocker, name: str = "EURUSD", **fields) -> dict:
    instrument = server.instrument(name)
    return {
        "tradableInstrumentId": str(instrument.tradable_instrument_id),
        "routeId": instrument.trade_route,
        "qty": "0.10",
        "side": "buy",
        "type": "market",
        "validity": "IOC",
        "price": None,
        **fields,
    }


def place(http, headers, account, body) -> httpx.Response:
    return http.post(f"/trade/accounts/{account.id}/orders", json=body, headers=headers)


def test_login_is_201_and_accounts_come_as_strings(server, http, clock):
    first = server.account(EMAIL, "OSP#1")
    second = server.account(EMAIL, "OSP#2", balance=Decimal("2500.5"))

    before = clock.now()
    answer = http.post("/auth/jwt/token", json=LOGIN)
    after = clock.now()

    assert answer.status_code == 201
    tokens = answer.json()
    assert tokens["accessToken"] and tokens["refreshToken"]
    # ISO-8601 UTC with milliseconds and a Z, an hour on (frozen clock or not).
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", tokens["expireDate"])
    expires = datetime.fromisoformat(tokens["expireDate"])
    hour = timedelta(seconds=3600)
    assert before + hour - timedelta(milliseconds=1) <= expires <= after + hour
    listed = http.get(
        "/auth/jwt/all-accounts",
        headers={"Authorization": f"Bearer {tokens['accessToken']}"},
    ).json()
    assert listed == {
        "accounts": [
            {
                "id": str(first.id),
                "name": "OSP#1",
                "currency": "USD",
                "accNum": "1",
                "accountBalance": "100000.00",
                "status": "ACTIVE",
            },
            {
                "id": str(second.id),
                "name": "OSP#2",
                "currency": "USD",
                "accNum": "2",
                "accountBalance": "2500.50",
                "status": "ACTIVE",
            },
        ]
    }
    assert first.id >= 712345
    assert server.calls == ["POST /auth/jwt/token", "GET /auth/jwt/all-accounts"]


def test_a_wrong_password_or_server_is_a_400(http, account):
    for wrong in ({"password": "nope"}, {"server": "OSP-LIVE"}):
        answer = http.post("/auth/jwt/token", json={**LOGIN, **wrong})
        assert answer.status_code == 400
        assert answer.json() == {"s": "error", "errmsg": "Invalid credentials"}


def test_trade_calls_need_a_live_token_and_the_right_acc_num(server, http, clock):
    first = server.account(EMAIL, "OSP#1")
    second = server.account(EMAIL, "OSP#2")
    state = f"/trade/accounts/{first.id}/state"
    assert http.get(state, headers={"accNum": "1"}).status_code == 401
    bearer = {"Authorization": f"Bearer {login(http)}"}

    missing = http.get(state, headers=bearer)
    assert missing.status_code == 400
    assert missing.json() == {"s": "error", "errmsg": "accNum header is required"}
    assert http.get(state, headers={**bearer, "accNum": "2"}).status_code == 400
    assert http.get(state, headers={**bearer, "accNum": "9"}).status_code == 400
    assert http.get(state, headers={**bearer, "accNum": "1"}).status_code == 200
    theirs = f"/trade/accounts/{second.id}/state"
    assert http.get(theirs, headers={**bearer, "accNum": "2"}).status_code == 200

    clock.advance(seconds=3601)
    assert http.get(state, headers={**bearer, "accNum": "1"}).status_code == 401


def test_config_gives_the_columns_and_positions_read_by_name(server, http, account):
    headers = trading(http, account)
    config = http.get("/trade/config", headers=headers).json()["d"]
    assert columns(http, headers, "positionsConfig") == list(POSITION_COLUMNS)
    assert columns(http, headers, "ordersHistoryConfig") == list(ORDER_COLUMNS)
    assert columns(http, headers, "filledOrdersConfig") == list(EXECUTION_COLUMNS)
    assert columns(http, headers, "accountDetailsConfig") == list(
        ACCOUNT_DETAIL_COLUMNS
    )
    assert {
        "rateLimitType": "PLACE_ORDER",
        "measure": "SECONDS",
        "intervalNum": 1,
        "limit": 2,
    } in config["rateLimits"]
    assert config["limits"][0]["limitType"] == "QUOTES_HISTORY_BARS"
    server.price("EURUSD", Decimal("1.10000"), Decimal("1.10010"))
    assert place(http, headers, account, order(server)).status_code == 200
    server.knobs.shuffle_columns = True  # only reading by name survives this

    (position,) = rows(http, headers, account, "positions", "positionsConfig")

    assert columns(http, headers, "positionsConfig")[0] == "strategyId"
    eurusd = server.instrument("EURUSD")
    assert position["tradableInstrumentId"] == str(eurusd.tradable_instrument_id)
    assert (position["side"], position["qty"], position["avgPrice"]) == (
        "buy",
        "0.1",
        "1.1001",
    )
    assert (position["stopLossId"], position["takeProfitId"]) == ("0", "0")
    assert position["unrealizedPl"] == "-1.00"  # the spread, 0.1 lot of 100,000


def test_a_market_order_fills_at_the_ask_and_opens_its_own_position(
    server, http, account
):
    headers = trading(http, account)
    no_quote = place(http, headers, account, order(server))
    assert no_quote.status_code == 400
    assert no_quote.json() == {"s": "error", "errmsg": "No quotes"}
    server.price("EURUSD", Decimal("1.10000"), Decimal("1.10010"))
    eurusd = server.instrument("EURUSD")

    placed = place(http, headers, account, order(server, strategyId="tv-bridge"))

    assert placed.status_code == 200
    order_id = placed.json()["d"]["orderId"]
    assert isinstance(order_id, str)
    assert rows(http, headers, account, "orders", "ordersConfig") == []
    (history,) = rows(http, headers, account, "ordersHistory", "ordersHistoryConfig")
    assert (history["id"], history["status"], history["avgPrice"]) == (
        order_id,
        "Filled",
        "1.1001",
    )
    assert history["isOpen"] == "false"
    assert history["positionId"] not in (None, order_id)
    (position,) = rows(http, headers, account, "positions", "positionsConfig")
    assert position["id"] == history["positionId"]
    assert position["strategyId"] == "tv-bridge"
    (execution,) = rows(http, headers, account, "executions", "filledOrdersConfig")
    assert (execution["orderId"], execution["positionId"], execution["price"]) == (
        order_id,
        position["id"],
        "1.1001",
    )
    booked = server.orders[int(order_id)]
    assert (booked.status, booked.avg_price) == ("Filled", Decimal("1.10010"))
    assert set(server.positions) == {int(position["id"])}
    assert f"POST /trade/accounts/{account.id}/orders" in server.calls

    server.price("EURUSD", Decimal("1.10110"), Decimal("1.10120"))  # +10 pips bid
    answer = http.get(f"/trade/accounts/{account.id}/state", headers=headers).json()
    names = columns(http, headers, "accountDetailsConfig")
    (state,) = rows_by_name(names, [answer["d"]["accountDetailsData"]])
    assert (state["balance"], state["projectedBalance"], state["openNetPnL"]) == (
        "100000.00",
        "100010.00",
        "10.00",
    )
    assert (state["positionsCount"], state["ordersCount"]) == ("1", "0")
    quote = http.get(
        "/trade/quotes",
        params={"tradableInstrumentId": eurusd.tradable_instrument_id, "routeId": 1},
        headers=headers,
    )
    assert quote.json() == {"s": "error", "errmsg": "Invalid routeId"}
    quote = http.get(
        "/trade/quotes",
        params={
            "tradableInstrumentId": eurusd.tradable_instrument_id,
            "routeId": eurusd.info_route,
        },
        headers=headers,
    )
    assert quote.json()["d"]["bp"] == 1.1011
    details = http.get(
        f"/trade/instruments/{eurusd.tradable_instrument_id}",
        params={"routeId": eurusd.info_route, "locale": "en"},
        headers=headers,
    ).json()["d"]
    assert (details["lotSize"], details["minLot"], details["lotStep"]) == (
        100000,
        0.01,
        0.01,
    )


def test_invalid_orders_are_refused_and_book_nothing(server, http, account):
    headers = trading(http, account)
    server.knobs.rate_limits_enforced = False  # nine placements at once
    server.price("EURUSD", Decimal("1.10000"), Decimal("1.10010"))
    eurusd = server.instrument("EURUSD")
    refused = {
        "Invalid routeId": order(server, routeId=eurusd.info_route),
        "Invalid validity: market orders must be IOC": order(server, validity="GTC"),
        "Invalid validity: limit orders must be GTC": order(
            server, type="limit", price="1.09", validity="IOC"
        ),
        "qty is not a multiple of lotStep 0.01": order(server, qty="0.015"),
        "qty is below minLot 0.01": order(server, qty="0.001"),
        "strategyId is too long (at most 31 characters)": order(
            server, strategyId="x" * 32
        ),
        "stopPrice is required for stop orders": order(
            server, type="stop", validity="GTC"
        ),
        "qty is required": order(server, qty=None),
        "Invalid stopLoss: on the wrong side": order(
            server, stopLoss="1.1005", stopLossType="absolute"
        ),
    }
    for errmsg, body in refused.items():
        answer = place(http, headers, account, body)
        assert (answer.status_code, answer.json()) == (
            400,
            {"s": "error", "errmsg": errmsg},
        ), errmsg
    assert server.orders == {}
    assert server.positions == {}


def test_a_limit_rests_until_the_price_crosses_it(server, http, account):
    headers = trading(http, account)
    server.price("EURUSD", Decimal("1.10000"), Decimal("1.10010"))
    body = order(server, type="limit", price="1.09900", validity="GTC")

    order_id = place(http, headers, account, body).json()["d"]["orderId"]

    (working,) = rows(http, headers, account, "orders", "ordersConfig")
    assert (working["id"], working["status"], working["price"]) == (
        order_id,
        "Accepted",
        "1.099",
    )
    assert working["isOpen"] == "true"
    assert server.positions == {}
    server.price("EURUSD", Decimal("1.09900"), Decimal("1.09910"))  # ask not there
    assert server.orders[int(order_id)].status == "Accepted"

    server.price("EURUSD", Decimal("1.09880"), Decimal("1.09890"))

    assert rows(http, headers, account, "orders", "ordersConfig") == []
    (filled,) = rows(http, headers, account, "ordersHistory", "ordersHistoryConfig")
    assert (filled["status"], filled["avgPrice"]) == ("Filled", "1.0989")
    (position,) = server.positions.values()
    assert position.avg_price == Decimal("1.09890")
    assert str(position.id) == filled["positionId"]


def test_modify_and_cancel_a_resting_order(server, http, account):
    headers = trading(http, account)
    body = order(server, "XAUUSD", type="limit", price="2000.00", validity="GTC")
    order_id = place(http, headers, account, body).json()["d"]["orderId"]

    patched = http.patch(
        f"/trade/orders/{order_id}", json={"price": "1990.50"}, headers=headers
    )
    assert patched.json() == {"s": "ok"}
    assert server.orders[int(order_id)].price == Decimal("1990.50")
    assert http.delete(f"/trade/orders/{order_id}", headers=headers).json() == {
        "s": "ok"
    }
    assert server.orders[int(order_id)].status == "Cancelled"
    again = http.delete(f"/trade/orders/{order_id}", headers=headers)
    assert again.json() == {"s": "error", "errmsg": "Order is not active"}
    (history,) = rows(http, headers, account, "ordersHistory", "ordersHistoryConfig")
    assert history["status"] == "Cancelled"


def test_a_stop_loss_and_a_take_profit_close_their_positions(server, http, account):
    headers = trading(http, account)
    server.price("EURUSD", Decimal("1.10000"), Decimal("1.10010"))
    server.price("USDJPY", Decimal("150.000"), Decimal("150.020"))
    stopped = order(
        server,
        stopLoss="1.09910",
        stopLossType="absolute",
        takeProfit=0.01,
        takeProfitType="offset",
    )
    targeted = order(
        server,
        "USDJPY",
        side="sell",
        qty="1",
        takeProfit="0.500",
        takeProfitType="offset",
    )
    place(http, headers, account, stopped)
    place(http, headers, account, targeted)
    eur, jpy = sorted(server.positions.values(), key=lambda p: p.id)
    assert (eur.stop_loss, eur.take_profit) == (Decimal("1.09910"), Decimal("1.11010"))
    assert jpy.take_profit == Decimal("149.500")
    (row, _) = rows(http, headers, account, "positions", "positionsConfig")
    assert row["stopLossId"] == str(eur.stop_loss_id) != "0"

    server.price("EURUSD", Decimal("1.09900"), Decimal("1.09910"))  # bid past SL

    assert eur.id not in server.positions
    # (1.09900 - 1.10010) * 0.1 lot * 100,000
    assert account.balance == Decimal("99989.00")
    stop_order = server.orders[eur.stop_loss_id]
    assert (stop_order.type, stop_order.status, stop_order.position_id) == (
        "stop",
        "Filled",
        eur.id,
    )

    server.price("USDJPY", Decimal("149.480"), Decimal("149.500"))  # ask at TP

    assert server.positions == {}
    # (150.000 - 149.500) * 1 lot * 100,000 yen, at 149.500 yen a dollar
    assert account.balance == Decimal("99989.00") + Decimal("334.45")
    assert [e["side"] for e in server.executions] == ["buy", "sell", "sell", "buy"]


def test_a_partial_close_keeps_the_rest_of_the_position(server, http, account):
    headers = trading(http, account)
    server.price("XAUUSD", Decimal("2000.00"), Decimal("2000.50"))
    place(http, headers, account, order(server, "XAUUSD", qty="0.30"))
    (position,) = server.positions.values()
    server.price("XAUUSD", Decimal("2010.50"), Decimal("2011.00"))
    path = f"/trade/positions/{position.id}"

    too_much = http.request("DELETE", path, json={"qty": "0.31"}, headers=headers)
    assert too_much.status_code == 400
    partial = http.request("DELETE", path, json={"qty": "0.10"}, headers=headers)

    assert partial.json() == {"s": "ok"}
    (row,) = rows(http, headers, account, "positions", "positionsConfig")
    assert (row["id"], row["qty"]) == (str(position.id), "0.2")
    assert account.balance == Decimal("100100.00")  # 10 x 0.1 lot x 100 oz
    whole = http.request("DELETE", path, json={"qty": "0"}, headers=headers)
    assert whole.json() == {"s": "ok"}
    assert server.positions == {}
    assert account.balance == Decimal("100300.00")
    closes = [o for o in server.orders.values() if o.closing]
    assert [(o.side, o.qty, o.position_id) for o in closes] == [
        ("sell", Decimal("0.10"), position.id),
        ("sell", Decimal("0.20"), position.id),
    ]


def test_placing_more_than_two_orders_a_second_is_a_429(server, http, account):
    headers = trading(http, account)
    body = order(server, type="limit", price="1.05000", validity="GTC")
    assert place(http, headers, account, body).status_code == 200
    assert place(http, headers, account, body).status_code == 200

    third = place(http, headers, account, body)

    assert third.status_code == 429
    assert third.json() == {"s": "error", "errmsg": "Rate limit exceeded"}
    assert len(server.orders) == 2
    # Other route types keep their own windows.
    listed = http.get(f"/trade/accounts/{account.id}/orders", headers=headers)
    assert listed.status_code == 200
    time.sleep(1.05)
    assert place(http, headers, account, body).status_code == 200


def test_a_placement_dropped_after_booking_is_found_in_the_orders(
    server, http, account
):
    headers = trading(http, account)
    server.knobs.drop_after_place = 1
    body = order(server, type="limit", price="1.05000", validity="GTC")

    assert place(http, headers, account, body).status_code == 500

    (working,) = rows(http, headers, account, "orders", "ordersConfig")
    assert server.orders[int(working["id"])].status == "Accepted"


def test_refresh_rotates_both_tokens(server, http, account, clock):
    tokens = http.post("/auth/jwt/token", json=LOGIN).json()

    refreshed = http.post(
        "/auth/jwt/refresh", json={"refreshToken": tokens["refreshToken"]}
    )

    assert refreshed.status_code == 201
    new = refreshed.json()
    assert new["accessToken"] != tokens["accessToken"]
    assert new["refreshToken"] != tokens["refreshToken"]
    spent = http.post(
        "/auth/jwt/refresh", json={"refreshToken": tokens["refreshToken"]}
    )
    assert spent.status_code == 401
    state = f"/trade/accounts/{account.id}/state"
    headers = {"Authorization": f"Bearer {new['accessToken']}", "accNum": "1"}
    assert http.get(state, headers=headers).status_code == 200
    server.expire_tokens()
    assert http.get(state, headers=headers).status_code == 401
    again = http.post("/auth/jwt/refresh", json={"refreshToken": new["refreshToken"]})
    assert again.status_code == 201
