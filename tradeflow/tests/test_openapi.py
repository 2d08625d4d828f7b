"""The OpenAPI schema a client can trust: the list routes document the parameters
they read, no operation takes or answers an untyped object, and what the routes
answer is what the schema says, field for field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from brokers.models import Position
from paperbroker.models import PaperOrder
from paperbroker.selectors import public_account_id, public_order_id
from risk.models import RiskConfig, Violation
from testkit import alert, api_client_for
from testkit.factories import AccountGroupFactory, StrategyFactory
from webhooks.models import AccountGroup, Strategy, Subscription


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def query_parameters(schema: dict[str, Any], path: str) -> set[str]:
    operation = schema["paths"][path]["get"]
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/api/logs/webhooks", {"limit", "offset"}),
        ("/api/v1/groups/", {"limit", "offset"}),
        ("/api/user/brokers", {"broker"}),
        ("/api/positions", {"broker"}),
        ("/api/paper-trading/accounts/{account_id}/orders", {"limit"}),
    ],
)
def test_list_routes_document_the_parameters_they_read(schema, path, names):
    assert names <= query_parameters(schema, path)


def strict(node: Any) -> Any:
    """OpenAPI 3.0 as JSON Schema, strictly: `nullable` as a null type, exclusive
    bounds as numbers, and every object with properties holding no others (the
    schema's `required` says which it always holds)."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {name: strict(value) for name, value in node.items()}
    for bound in ("maximum", "minimum"):  # 3.0's boolean form, as a number
        exclusive = f"exclusive{bound.title()}"
        if node.get(exclusive) is True:
            node[exclusive] = node.pop(bound)
    if node.get("type") == "object" and "properties" in node:
        node.setdefault("additionalProperties", False)
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
        else:  # a nullable reference, `allOf: [{"$ref": ...}]`, or a union
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def answer_schema(
    schema: dict[str, Any], path: str, method: str = "get", status: int = 200
) -> dict[str, Any]:
    responses = schema["paths"][path][method]["responses"]
    content = responses[str(status)]["content"]
    return {
        **strict(content["application/json"]["schema"]),
        "components": strict(schema["components"]),
    }


@pytest.fixture
def lists(world, tasks_inline, clock) -> dict[str, str]:
    """One of everything a list route lists, so no answer is an empty list."""
    account = world.account
    strategy = Strategy.objects.create(workspace=world.workspace, name="Trend")
    Subscription.objects.create(strategy=strategy, account=account)
    group = AccountGroup.objects.create(workspace=world.workspace, name="desk")
    group.accounts.add(account)
    Client().post(
        "/api/unify/v1/webhook/paper",
        "buy BTCUSDT 1 price=100",
        content_type="text/plain",
        HTTP_AUTHORIZATION=f"Bearer {world.api_key}",
    )
    Position.objects.update_or_create(
        account=account,
        symbol="BTCUSDT",
        defaults={
            "workspace": world.workspace,
            "quantity": Decimal(1),
            "avg_price": Decimal(100),
        },
    )
    paper = f"paper_{account.pk}"
    return {
        "/api/logs/webhooks": "/api/logs/webhooks",
        "/api/v1/groups/": "/api/v1/groups/",
        "/api/v1/bots/list": "/api/v1/bots/list",
        "/api/v1/bots/{bot_id}/accounts": f"/api/v1/bots/{strategy.pk}/accounts",
        "/api/user/brokers": "/api/user/brokers?broker=paper",
        "/api/positions": "/api/positions?broker=paper",
        "/api/paper-trading/accounts": "/api/paper-trading/accounts",
        "/api/paper-trading/accounts/{account_id}/orders": (
            f"/api/paper-trading/accounts/{paper}/orders"
        ),
        "/api/paper-trading/accounts/{account_id}/fills": (
            f"/api/paper-trading/accounts/{paper}/fills"
        ),
    }


def test_what_each_list_route_answers_is_what_its_schema_says(schema, lists, world):
    client = api_client_for(world.owner)
    for documented, url in lists.items():
        response = client.get(url)
        assert response.status_code == 200, (url, response.content)
        body = response.json()
        items = body if isinstance(body, list) else body.get("results") or body
        assert items, f"{url} answered an empty list: the check would prove nothing"
        jsonschema.validate(body, answer_schema(schema, documented))


# --- No untyped objects ---------------------------------------------------------------

COMPOSED = ("allOf", "oneOf", "anyOf")


def untyped(node: Any, components: dict[str, Any], where: str = "") -> list[str]:
    """Where under `node` a value is an object of unknown fields (`{}`, or an
    object with neither properties nor a typed `additionalProperties`)."""
    seen: set[str] = set()

    def walk(node: Any, where: str) -> list[str]:
        if not isinstance(node, dict):
            return [where or "."]
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name in seen:
                return []
            seen.add(name)
            return walk(components[name], where)
        found = [
            spot
            for key in COMPOSED
            for member in node.get(key, [])
            for spot in walk(member, where)
        ]
        kind = node.get("type")
        if kind == "array":
            return found + walk(node.get("items"), f"{where}[]")
        if kind not in (None, "object") or "enum" in node:
            return found
        if kind is None and any(key in node for key in COMPOSED):
            return found
        if node.get("properties"):
            return found + [
                spot
                for name, value in node["properties"].items()
                for spot in walk(value, f"{where}.{name}")
            ]
        values = node.get("additionalProperties")
        if isinstance(values, dict) and values:
            return found + walk(values, f"{where}{{*}}")
        return [*found, where or "."]

    return walk(node, where)


def untyped_operations(schema: dict[str, Any]) -> list[str]:
    """`METHOD path: where` for every request body (any media type) and 2xx JSON
    answer holding an untyped object."""
    components = schema["components"]["schemas"]
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            bodies = [
                ("request", content["schema"])
                for content in operation.get("requestBody", {})
                .get("content", {})
                .values()
                if "schema" in content
            ]
            bodies += [
                (status, content["schema"])
                for status, answer in operation.get("responses", {}).items()
                if status.startswith("2")
                for media, content in answer.get("content", {}).items()
                if "json" in media and "schema" in content
            ]
            found += sorted(
                {
                    f"{method.upper()} {path}: {label} {spot}"
                    for label, body in bodies
                    for spot in untyped(body, components)
                }
            )
    return found


def test_the_untyped_check_finds_a_bare_object_and_a_bare_map_anywhere():
    components = {
        "Typed": {"type": "object", "properties": {"n": {"type": "integer"}}},
        "Loose": {
            "type": "object",
            "properties": {
                "meta": {},
                "tags": {"type": "object", "additionalProperties": {}},
                "items": {"type": "array", "items": {"type": "object"}},
                "ok": {"$ref": "#/components/schemas/Typed"},
                "map": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
    }
    loose = {"$ref": "#/components/schemas/Loose"}
    assert untyped(loose, components) == [".meta", ".tags", ".items[]"]
    assert (
        untyped({"allOf": [{"$ref": "#/components/schemas/Typed"}]}, components) == []
    )


def test_no_operation_takes_or_answers_an_untyped_object(schema):
    offending = untyped_operations(schema)
    assert not offending, "Untyped objects (name their fields):\n" + "\n".join(
        offending
    )


# --- Answers, field for field ---------------------------------------------------------


@pytest.fixture
def desk(world, tasks_inline, clock) -> dict[str, Any]:
    """A strategy and a group following the world's paper account, a filled
    order and a working one, rules, a violation, and a MetaTrader account."""
    account = world.account
    strategy = StrategyFactory.create(workspace=world.workspace, followers=[account])
    group = AccountGroupFactory.create(workspace=world.workspace, accounts=[account])
    alert(world.api_key)
    alert(world.api_key, order_type="limit", price="50")
    RiskConfig.objects.create(
        account=account,
        daily_loss_limit=Decimal(1000),
        allowed_symbols=["BTCUSDT"],
        trading_windows={"mon": [["08:30", "15:00"]]},
    )
    Violation.objects.create(
        account=account,
        rule="daily-loss",
        detail="Down 1,000.",
        action="flatten",
        numbers={"loss": "1000"},
    )
    working = PaperOrder.objects.get(
        account=account.paper, status=PaperOrder.Status.WORKING
    )
    return {
        "id": account.pk,
        "paper": public_account_id(account.paper),
        "order": public_order_id(working),
        "bot": strategy.pk,
        "group": group.pk,
    }


def check_answer(
    schema: dict[str, Any],
    response: Any,
    documented: str,
    method: str = "get",
    status: int = 200,
) -> None:
    assert response.status_code == status, (documented, response.content)
    jsonschema.validate(
        response.json(), answer_schema(schema, documented, method, status)
    )


def test_what_the_routes_answer_is_what_their_schema_says(schema, world, desk):
    client = api_client_for(world.owner)
    ids, paper = desk, f"/api/paper-trading/accounts/{desk['paper']}"

    def check(method: str, url: str, documented: str, status: int = 200, **body):
        call = getattr(client, method)
        response = call(url, body, format="json") if body else call(url)
        check_answer(schema, response, documented, method, status)

    account = "/api/accounts/{id}"
    for tail in ("rules", "violations", "metrics", "realtime-metrics"):
        check("get", f"/api/accounts/{ids['id']}/{tail}", f"{account}/{tail}")
    check(
        "get",
        f"/api/accounts/{ids['id']}/symbols/lookup?symbol=BTCUSDT",
        f"{account}/symbols/lookup",
    )
    check(
        "get",
        f"/api/accounts/{ids['id']}/symbols/lookup?symbol=ZZZ9!",
        f"{account}/symbols/lookup",
        status=422,
    )
    check("get", "/api/user/risk_config", "/api/user/risk_config")
    check(
        "put",
        "/api/user/risk_config",
        "/api/user/risk_config",
        max_daily_loss=500,
        trading_hours_enabled=False,
    )
    for url in ("/api/billing/status", "/api/billing/usage", "/api/user/whitelabel"):
        check("get", url, url)

    check("get", paper, "/api/paper-trading/accounts/{account_id}")
    check("get", f"{paper}/metrics", "/api/paper-trading/accounts/{account_id}/metrics")
    for url in ("/api/paper-trading/status", "/api/paper-trading/health"):
        check("get", url, url)
    alerts = "/api/paper-trading/alerts"
    filled = {"symbol": "BTCUSDT", "action": "buy", "quantity": 1, "price": 100}
    check("post", alerts, alerts, **filled, account_group=ids["paper"])
    cancel = "/api/paper-trading/orders/{order_id}/cancel"
    check("post", f"/api/paper-trading/orders/{ids['order']}/cancel", cancel)
    check(
        "post", f"{paper}/flatten", "/api/paper-trading/accounts/{account_id}/flatten"
    )
    check(
        "post",
        f"{paper}/reset",
        "/api/paper-trading/accounts/{account_id}/reset",
        confirm=True,
    )

    bot = f"/api/v1/bots/{ids['bot']}"
    check("get", bot, "/api/v1/bots/{bot_id}")
    check("get", f"{bot}/performance", "/api/v1/bots/{bot_id}/performance")
    check(
        "post",
        f"{bot}/status?status=PAUSED",
        "/api/v1/bots/{bot_id}/status",
    )
    check(
        "post",
        "/api/v1/bots/create?name=Breakout&timeframe=15m",
        "/api/v1/bots/create",
        status=201,
    )
    group, documented = f"/api/v1/groups/{ids['group']}", "/api/v1/groups/{group_id}"
    for tail in ("", "/metrics", "/history", "/performance"):
        check("get", group + tail, documented + tail)
    check("patch", group, documented, description="The desk's accounts")
    check(
        "post",
        f"{group}/accounts",
        f"{documented}/accounts",
        account_ids=[ids["id"], 999999],
    )
    check(
        "post",
        f"/api/v1/trading/group/{ids['group']}/execute",
        "/api/v1/trading/group/{group_id}/execute",
        symbol="BTCUSDT",
        side="buy",
        quantity=1,
        price=100,
    )
    check("post", "/api/v1/groups/", "/api/v1/groups/", status=201, name="swing")
    check("post", f"{bot}/terminate", "/api/v1/bots/{bot_id}/terminate")
    check(
        "post",
        f"/api/accounts/{ids['id']}/emergency-close",
        f"{account}/emergency-close",
    )
    check("post", "/api/user/emergency_stop", "/api/user/emergency_stop")


def test_a_metatrader_account_answers_its_registration_and_ea_status_as_documented(
    schema, world, clock
):
    client = api_client_for(world.owner)
    registered = client.post("/register/mtx", {"platform": "mt5"}, format="json")
    check_answer(schema, registered, "/register/{broker}", "post", 201)
    status = client.get(f"/api/accounts/{registered.json()['id']}/ea_status")
    check_answer(schema, status, "/api/accounts/{id}/ea_status")


def test_a_refusal_answers_the_one_error_shape_the_schema_names(schema, world):
    client = api_client_for(world.owner)
    missing = client.get("/api/v1/bots/999999")
    check_answer(schema, missing, "/api/v1/bots/{bot_id}", status=404)
    invalid = client.post("/api/v1/groups/", {"accounts": "not a list"}, format="json")
    check_answer(schema, invalid, "/api/v1/groups/", "post", 400)
    assert invalid.json()["code"] == "validation-error"
    symbols = client.put("/api/user/risk_config", {"allowed_symbols": 5}, format="json")
    check_answer(schema, symbols, "/api/user/risk_config", "put", 400)
    assert list(symbols.json()["errors"]) == ["allowed_symbols"]
    anonymous = Client().get("/api/billing/status")
    check_answer(schema, anonymous, "/api/billing/status", status=401)
