"""The client and the fake speak Tradovate's published OpenAPI document.

Every request body the real client sends and every answer the fake gives, in
the flows a trader's day goes through, is checked against `openapi_subset.json`
(the document's schemas for the endpoints we use; its `_source` says where each
part came from). Objects there are closed: a field the document does not name
fails, and so does a required one left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

import httpx
import jsonschema
import pytest

from brokers.adapters.base import OrderRequest, VenueError
from brokers.models import Order, OrderType
from brokers.venues.tradovate import oauth
from brokers.venues.tradovate.client import TradovateRefusedError
from brokers.venues.tradovate.fake import FakeTradovate

from .conftest import PASSWORD, USER, Connected

# The suite's clock, for the fake's timestamps (the dates below are data).
pytestmark = pytest.mark.usefixtures("clock")

SUBSET: dict[str, Any] = json.loads(
    Path(__file__).with_name("openapi_subset.json").read_text()
)
CLIENT_ID, CLIENT_SECRET = "tradeflow-app", "app-secret-9"
REDIRECT = "http://testserver/accounts/connect/tradovate/oauth/back/"


@dataclass
class Exchange:
    """One request and its answer, as they crossed the wire."""

    method: str
    endpoint: str  # lower-cased, without /v1: "order/placeorder"
    query: dict[str, str]
    request: Any  # the JSON body sent, or None
    status: int
    response: Any  # the JSON answered, or None for an empty body


@dataclass
class Recorder:
    exchanges: list[Exchange] = field(default_factory=list)

    def hook(self, response: httpx.Response) -> None:
        """An httpx response hook: keeps the exchange if it is Tradovate's API."""
        path = urlparse(str(response.request.url)).path
        if path.lower().startswith("/v1/"):
            endpoint = path[len("/v1/") :].strip("/").lower()
        elif path.lower() == "/auth/oauthtoken":
            endpoint = "auth/oauthtoken"
        else:
            return  # the sign-in page a trader's browser sees
        response.read()
        self.exchanges.append(
            Exchange(
                response.request.method,
                endpoint,
                dict(parse_qsl(response.request.url.query.decode())),
                _json(response.request.content),
                response.status_code,
                _json(response.content),
            )
        )

    def watch(self, http: httpx.Client) -> None:
        http.event_hooks["response"].append(self.hook)

    def wrap(self, send: Callable[..., httpx.Response]) -> Callable[..., Any]:
        def recorded(*args: Any, **kwargs: Any) -> httpx.Response:
            response = send(*args, **kwargs)
            self.hook(response)
            return response

        return recorded

    def endpoints(self) -> set[str]:
        return {exchange.endpoint for exchange in self.exchanges}


def _json(raw: bytes) -> Any:
    return json.loads(raw) if raw.strip() else None


@cache
def _validator(schema: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        {"$defs": SUBSET["$defs"], **json.loads(schema)}
    )


def _problems(where: str, schema: dict[str, Any], value: Any) -> list[str]:
    validator = _validator(json.dumps(schema, sort_keys=True))
    return [
        f"{where} at /{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(value)
    ]


def violations(exchange: Exchange) -> list[str]:
    """How one exchange strays from the published document (none: it does not)."""
    name = f"{exchange.method} {exchange.endpoint}"
    spec = SUBSET["endpoints"].get(exchange.endpoint)
    if spec is None:
        return [f"{name}: not an endpoint of the document's subset"]
    problems = []
    if exchange.method != spec["method"]:
        problems.append(f"{name}: the document has it as a {spec['method']}")
    if "request" in spec:
        problems += _problems(f"{name} request", spec["request"], exchange.request)
    elif exchange.request is not None:
        problems.append(f"{name}: a body sent to an endpoint that takes none")
    unknown = set(exchange.query) - set(spec.get("query", []))
    if unknown:
        problems.append(f"{name}: query parameters {sorted(unknown)} not documented")
    if exchange.response is not None:
        problems += _problems(f"{name} response", spec["response"], exchange.response)
    return problems


def assert_published(recorder: Recorder) -> None:
    assert recorder.exchanges, "nothing was recorded"
    problems = [p for exchange in recorder.exchanges for p in violations(exchange)]
    assert not problems, "\n".join(problems)


@pytest.fixture
def recorder(connected: Connected) -> Recorder:
    """The connected adapter's client, watched from here on."""
    watching = Recorder()
    watching.watch(connected.adapter.client._http)
    return watching


def order(connected: Connected, cid: str, kind: str, **more: Any) -> OrderRequest:
    return OrderRequest(cid, connected.symbol, "buy", kind, Decimal(1), **more)


def test_a_trading_day_sends_and_gets_only_what_the_document_describes(
    connected, recorder, clock
):
    adapter, client = connected.adapter, connected.adapter.client
    client.sign_in()
    market = adapter.place_order(order(connected, "oa-market", OrderType.MARKET))
    assert market.status == Order.Status.FILLED
    limit = adapter.place_order(
        order(connected, "oa-limit", OrderType.LIMIT, limit_price=Decimal(20_900))
    )
    client.modify(
        int(limit.venue_order_id), order_qty=2, order_type="Limit", price=20_950
    )
    adapter.cancel_order(limit.venue_order_id)
    bracket = adapter.place_order(
        order(
            connected,
            "oa-bracket",
            OrderType.MARKET,
            take_profit=Decimal(21_100),
            stop_loss=Decimal(20_900),
        )
    )
    adapter.positions(), adapter.working_orders(), adapter.account_snapshot()
    assert client.orders()[-1]["parentId"] == int(bracket.venue_order_id)
    assert adapter.find_order("oa-bracket") is not None
    clock.advance(minutes=75)  # 80-minute tokens, renewed 10 minutes before
    adapter.flatten()

    reads = {
        "/account/item": {"id": connected.venue_account.id},
        "/contract/items": {"ids": str(connected.contract_id)},
        "/contract/suggest": {"t": "MNQ", "l": 3},
        "/command/deps": {"masterid": bracket.venue_order_id},
        "/fill/deps": {"masterid": market.venue_order_id},
        "/orderVersion/deps": {"masterid": limit.venue_order_id},
    }
    for path, query in reads.items():
        client.get(path, **query)
    client.get("/orderVersion/list"), client.get("/auth/me"), client.accounts()
    name = connected.fake.contracts[connected.contract_id].name
    client.contract_named(name), client.contract(connected.contract_id)
    client.get("/command/item", id=client.commands()[0]["id"])
    position = client.positions()[0]
    client.get("/position/item", id=position["id"])
    everything = {"positions": [position["id"]], "admin": False, "isAutomated": True}
    client.post("/order/liquidatepositions", everything)

    # Every endpoint of the subset but the OAuth exchange (its own test, below).
    assert set(SUBSET["endpoints"]) - recorder.endpoints() == {"auth/oauthtoken"}
    assert_published(recorder)


def test_refusals_come_in_the_documented_shapes(connected, recorder):
    adapter, client = connected.adapter, connected.adapter.client
    off_tick = adapter.place_order(
        order(connected, "oa-off", OrderType.LIMIT, limit_price=Decimal("20900.1"))
    )
    assert off_tick.status == Order.Status.REJECTED
    filled = adapter.place_order(order(connected, "oa-done", OrderType.MARKET))
    with pytest.raises(TradovateRefusedError):
        client.modify(int(filled.venue_order_id), order_qty=1, order_type="Market")
    with pytest.raises(TradovateRefusedError):
        client.cancel(int(filled.venue_order_id))
    with pytest.raises(TradovateRefusedError):
        client.cash_snapshot(1)
    with pytest.raises(TradovateRefusedError):
        client.post("/order/liquidatepositions", {"positions": [1], "admin": False})
    adapter.flatten()
    with pytest.raises(TradovateRefusedError):
        client.liquidate(connected.venue_account.id, connected.contract_id)
    assert client.contract_named("NOPEZ9") is None

    assert_published(recorder)


@pytest.fixture
def oauth_app(fake: FakeTradovate, settings: Any) -> FakeTradovate:
    host = fake.url.removesuffix("/v1")
    fake.oauth.client(CLIENT_ID, CLIENT_SECRET)
    settings.TRADOVATE_OAUTH_CLIENT_ID = CLIENT_ID
    settings.TRADOVATE_OAUTH_CLIENT_SECRET = CLIENT_SECRET
    settings.TRADOVATE_OAUTH_TOKEN_URL = f"{host}/auth/oauthtoken"
    return fake


def approved_code(fake: FakeTradovate) -> str:
    """What the trader's browser brings back from Tradovate's sign-in page."""
    form = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "state": "s1",
        "username": USER,
        "password": PASSWORD,
        "decision": "allow",
    }
    answer = httpx.post(fake.url.removesuffix("/v1") + "/oauth", data=form)
    return dict(parse_qsl(urlparse(answer.headers["location"]).query))["code"]


def test_the_oauth_exchange_speaks_the_document_too(oauth_app, monkeypatch):
    fake, watching = oauth_app, Recorder()
    monkeypatch.setattr(oauth.httpx, "post", watching.wrap(httpx.post))
    monkeypatch.setattr(oauth.httpx, "get", watching.wrap(httpx.get))
    code = approved_code(fake)
    grant = oauth.exchange_code(code=code, redirect_uri=REDIRECT)
    assert oauth.user_name(fake.url, grant.access_token) == USER
    oauth.refresh(grant.refresh_token)
    with pytest.raises(VenueError):
        oauth.exchange_code(code=code, redirect_uri=REDIRECT)  # used already

    assert watching.endpoints() == {"auth/oauthtoken", "auth/me"}
    assert_published(watching)


def test_the_check_fails_on_a_field_the_document_does_not_name():
    row = {
        "id": 1,
        "accountId": 2,
        "timestamp": "2026-12-03T15:00:00.000Z",
        "action": "Buy",
        "ordStatus": "Working",
        "admin": False,
    }
    listed = Exchange("GET", "order/list", {}, None, 200, [row])
    assert violations(listed) == []
    listed.response = [{**row, "orderQty": 1}]
    assert violations(listed) == [
        "GET order/list response at /0: Additional properties are not allowed "
        "('orderQty' was unexpected)"
    ]


def test_the_check_fails_on_a_required_field_left_out_or_a_wrong_type():
    sent = {"orderId": 5, "orderType": "Limit", "price": 20_950}
    modify = Exchange("POST", "order/modifyorder", {}, sent, 200, {"commandId": 9})
    assert violations(modify) == [
        "POST order/modifyorder request at /: 'orderQty' is a required property"
    ]
    login = Exchange(
        "POST",
        "auth/accesstokenrequest",
        {},
        {"name": "t", "password": "p", "appId": 7},
        200,
        {"accessToken": "x"},
    )
    assert violations(login) == [
        "POST auth/accesstokenrequest request at /appId: 7 is not of type 'string'"
    ]
