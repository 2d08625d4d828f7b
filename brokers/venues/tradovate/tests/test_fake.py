"""The fake Tradovate, driven over raw HTTP as a client of any make would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from brokers.venues.tradovate.fake import FakeTradovate

USER, PASSWORD, CID, SEC = "trader", "pw-0123", 8, "api-secret"
LOGIN = {
    "name": USER,
    "password": PASSWORD,
    "appId": "TradeFlow",
    "appVersion": "1.0",
    "cid": CID,
    "sec": SEC,
    "deviceId": "device-1",
}


@pytest.fixture
def server(clock) -> Iterator[FakeTradovate]:
    with FakeTradovate.running() as fake:
        fake.user(USER, PASSWORD, cid=CID, sec=SEC)
        yield fake


@pytest.fixture
def http(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5) as client:
        yield client


def login(http: httpx.Client) -> dict[str, str]:
    answer = http.post("/auth/accesstokenrequest", json=LOGIN).json()
    return {"Authorization": f"Bearer {answer['accessToken']}"}


def order(account, symbol="MNQZ6", **fields):
    return {
        "accountSpec": account.name,
        "accountId": account.id,
        "action": "Buy",
        "symbol": symbol,
        "orderQty": 1,
        "orderType": "Market",
        "isAutomated": True,
        **fields,
    }


def test_login_answers_the_documented_token(server, http, clock):
    answer = http.post("/auth/accesstokenrequest", json=LOGIN).json()
    assert answer["userStatus"] == "Active"
    assert answer["name"] == USER
    assert answer["accessToken"] and answer["mdAccessToken"]
    expires = (clock.now() + timedelta(minutes=80)).strftime("%Y-%m-%dT%H:%M:%S")
    assert answer["expirationTime"] == f"{expires}.000Z"
    headers = {"Authorization": f"Bearer {answer['accessToken']}"}
    me = http.get("/auth/me", headers=headers).json()
    assert me["userId"] == answer["userId"]


def test_a_wrong_password_is_an_error_text_not_an_http_error(http):
    answer = http.post("/auth/accesstokenrequest", json={**LOGIN, "password": "nope"})
    assert answer.status_code == 200
    assert answer.json() == {
        "errorText": "Incorrect username or password. Please try again."
    }


def test_no_token_or_an_expired_one_is_401(server, http, clock):
    assert http.get("/account/list").status_code == 401
    headers = login(http)
    assert http.get("/account/list", headers=headers).status_code == 200
    renewed = http.get("/auth/renewaccesstoken", headers=headers).json()
    assert renewed["accessToken"] != headers["Authorization"].split()[1]
    assert http.get("/account/list", headers=headers).status_code == 200  # still
    clock.advance(minutes=81)
    expired = http.get("/account/list", headers=headers)
    assert expired.status_code == 401
    assert expired.content == b""


def test_a_market_order_fills_at_the_last_price(server, http):
    account = server.account(USER, "DEMO123")
    contract = server.contract_for("MNQZ26")
    headers = login(http)
    assert http.post(
        "/order/placeorder", json=order(account), headers=headers
    ).json() == {
        "failureReason": "NoQuote",
        "failureText": "No quote for a market order",
    }
    server.price(contract.id, Decimal("21000.25"))

    placed = http.post(
        "/order/placeOrder", json=order(account, orderQty=2), headers=headers
    ).json()

    listed = http.get("/order/item", params={"id": placed["orderId"]}, headers=headers)
    assert listed.json()["ordStatus"] == "Filled"
    (position,) = http.get("/position/list", headers=headers).json()
    assert (position["netPos"], position["netPrice"]) == (2, 21000.25)
    assert position["contractId"] == contract.id
    (fill,) = http.get("/fill/list", headers=headers).json()
    assert (fill["orderId"], fill["qty"], fill["price"]) == (
        placed["orderId"],
        2,
        21000.25,
    )
    server.price(contract.id, Decimal("21010.25"))  # +10 points, $2 a point, x2
    cash = http.post(
        "/cashBalance/getcashbalancesnapshot",
        json={"accountId": account.id},
        headers=headers,
    ).json()
    assert (cash["totalCashValue"], cash["openPnL"], cash["netLiq"]) == (
        50_000,
        40,
        50_040,
    )
    assert "order/placeorder" in server.calls  # lower-cased, without /v1


def test_oso_brackets_wait_for_the_entry_then_cancel_each_other(server, http):
    account = server.account(USER, "DEMO123")
    contract = server.contract_for("MNQZ26")
    headers = login(http)
    body = order(
        account,
        orderType="Limit",
        price=21000,
        bracket1={"action": "Sell", "orderType": "Limit", "price": 21010},
        bracket2={"action": "Sell", "orderType": "Stop", "stopPrice": 20990},
    )
    server.price(contract.id, Decimal(21005))

    ids = http.post("/order/placeOSO", json=body, headers=headers).json()

    entry, profit, stop = (
        server.orders[ids[key]] for key in ("orderId", "oso1Id", "oso2Id")
    )
    assert [o.status for o in (entry, profit, stop)] == [
        "Working",
        "Suspended",
        "Suspended",
    ]
    assert (profit.linked_id, stop.linked_id) == (stop.id, profit.id)
    assert profit.parent_id == stop.parent_id == entry.id
    server.price(contract.id, Decimal(21000))
    assert [o.status for o in (entry, profit, stop)] == ["Filled", "Working", "Working"]
    server.price(contract.id, Decimal(21010))
    assert (profit.status, stop.status) == ("Filled", "Canceled")
    (position,) = http.get("/position/list", headers=headers).json()
    assert position["netPos"] == 0  # flat, and still listed
    assert server.accounts[account.id].balance == Decimal(50_020)


def test_a_used_cl_ord_id_is_refused_and_the_first_is_found_by_it(server, http):
    account = server.account(USER, "DEMO123")
    headers = login(http)
    body = order(account, orderType="Limit", price=20000, clOrdId="tf-1")
    first = http.post("/order/placeorder", json=body, headers=headers).json()

    again = http.post("/order/placeorder", json=body, headers=headers).json()

    assert again == {
        "failureReason": "UnknownReason",
        "failureText": "Duplicate clOrdId",
    }
    commands = http.get("/command/list", headers=headers).json()
    found = [c for c in commands if c.get("clOrdId") == "tf-1"]
    assert [(c["orderId"], c["commandType"]) for c in found] == [
        (first["orderId"], "New")
    ]


def test_a_placement_dropped_after_booking_is_found_by_its_cl_ord_id(server, http):
    account = server.account(USER, "DEMO123")
    headers = login(http)
    server.knobs.drop_after_place = 1
    body = order(account, orderType="Limit", price=20000, clOrdId="tf-2")

    assert http.post("/order/placeorder", json=body, headers=headers).status_code == 500

    (command,) = http.get("/command/list", headers=headers).json()
    assert command["clOrdId"] == "tf-2"
    assert server.orders[command["orderId"]].status == "Working"


def test_orders_must_say_they_are_automated_and_belong_to_the_user(server, http):
    account = server.account(USER, "DEMO123")
    server.user("other", "pw")
    theirs = server.account("other", "DEMO999")
    headers = login(http)
    manual = http.post(
        "/order/placeorder", json=order(account, isAutomated=False), headers=headers
    ).json()
    assert manual["failureReason"] == "UnknownReason"
    foreign = http.post("/order/placeorder", json=order(theirs), headers=headers)
    assert foreign.json()["failureReason"] == "Unauthorized"
    unknown = http.post(
        "/order/placeorder", json=order(account, symbol="XXXZ6"), headers=headers
    )
    assert unknown.json()["failureReason"] == "InvalidContract"
    assert not server.orders


def test_a_penalty_ticket_is_served_once_its_time_has_passed(server, http, clock):
    server.knobs.penalty = 1
    ticket = http.post("/auth/accesstokenrequest", json=LOGIN).json()
    assert set(ticket) == {"p-ticket", "p-time", "p-captcha"}
    assert (ticket["p-time"], ticket["p-captcha"]) == (1, False)

    early = http.post(
        "/auth/accesstokenrequest", json={**LOGIN, "p-ticket": ticket["p-ticket"]}
    ).json()
    assert "p-ticket" in early  # too soon: another ticket
    clock.advance(seconds=1)
    served = http.post(
        "/auth/accesstokenrequest", json={**LOGIN, "p-ticket": early["p-ticket"]}
    ).json()

    assert served["accessToken"]


def test_past_the_rate_limit_429_with_an_empty_body(server, http):
    headers = login(http)
    server.knobs.rate_limit = 3
    for _ in range(3):
        assert http.get("/account/list", headers=headers).status_code == 200

    limited = http.get("/account/list", headers=headers)

    assert limited.status_code == 429
    assert limited.content == b""
    assert limited.headers["content-length"] == "0"


def test_malformed_json_is_400(server, http):
    headers = {**login(http), "Content-Type": "application/json"}
    answer = http.post("/order/placeorder", content=b"{nope", headers=headers)
    assert answer.status_code == 400


def test_liquidate_position_cancels_working_orders_and_flattens(server, http):
    account = server.account(USER, "DEMO123")
    contract = server.contract_for("MNQZ26")
    server.price(contract.id, Decimal(21000))
    headers = login(http)
    http.post("/order/placeorder", json=order(account, orderQty=2), headers=headers)
    resting = http.post(
        "/order/placeorder",
        json=order(account, action="Sell", orderType="Limit", price=21100),
        headers=headers,
    ).json()
    server.price(contract.id, Decimal(20990))  # -10 points x 2 x $2

    answer = http.post(
        "/order/liquidateposition",
        json={"accountId": account.id, "contractId": contract.id, "admin": False},
        headers=headers,
    ).json()

    assert server.orders[answer["orderId"]].status == "Filled"
    assert server.orders[resting["orderId"]].status == "Canceled"
    assert server.positions[(account.id, contract.id)] == (0, Decimal(0))
    assert server.accounts[account.id].balance == Decimal(49_960)
    flat = http.post(
        "/order/liquidateposition",
        json={"accountId": account.id, "contractId": contract.id, "admin": False},
        headers=headers,
    ).json()
    assert flat["failureReason"] == "UnknownReason"


def test_modify_and_cancel_answer_command_ids(server, http):
    account = server.account(USER, "DEMO123")
    contract = server.contract_for("MNQZ26")
    server.price(contract.id, Decimal(21000))
    headers = login(http)
    placed = http.post(
        "/order/placeorder",
        json=order(account, orderType="Limit", price=20900),
        headers=headers,
    ).json()
    moved = http.post(
        "/order/modifyorder",
        json={
            "orderId": placed["orderId"],
            "orderQty": 1,
            "orderType": "Limit",
            "price": 21000,
        },
        headers=headers,
    ).json()
    assert set(moved) == {"commandId"}
    assert server.orders[placed["orderId"]].status == "Filled"  # now marketable
    late = http.post(
        "/order/cancelorder", json={"orderId": placed["orderId"]}, headers=headers
    ).json()
    assert late["failureReason"] == "TooLate"
