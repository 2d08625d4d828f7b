"""The OpenAPI schema a client can trust: the list routes document the parameters
they read, and what they answer is what the schema says, field for field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from brokers.models import Position
from testkit import api_client_for
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
    bounds as numbers, and every
    object with properties holding exactly those (none missing, none extra)."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {name: strict(value) for name, value in node.items()}
    for bound in ("maximum", "minimum"):  # 3.0's boolean form, as a number
        exclusive = f"exclusive{bound.title()}"
        if node.get(exclusive) is True:
            node[exclusive] = node.pop(bound)
    if node.pop("nullable", False) and "type" in node:
        node["type"] = [node["type"], "null"]
    if node.get("type") == "object" and "properties" in node:
        node.setdefault("required", sorted(node["properties"]))
        node.setdefault("additionalProperties", False)
    return node


def answer_schema(schema: dict[str, Any], path: str) -> dict[str, Any]:
    content = schema["paths"][path]["get"]["responses"]["200"]["content"]
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
