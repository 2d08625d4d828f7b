"""A trader connects a Tradovate account over the API and trades it from
TradingView alerts: registration, the webhook, the worker, the venue (the fake),
our records; an entry with brackets as an OSO, a reverse, a flatten."""

from __future__ import annotations

from decimal import Decimal

from django.test import Client

from brokers.models import Order, Position
from testkit import api_client_for
from webhooks.models import Execution, Signal

from .conftest import CID, PASSWORD, SEC, USER


def register(world, fake, **extra):
    venue_account = fake.account(USER, "DEMO7781", balance=Decimal(50_000))
    body = {
        "user_name": USER,
        "password": PASSWORD,
        "cid": CID,
        "sec": SEC,
        "account_id": str(venue_account.id),
        **extra,
    }
    response = api_client_for(world.owner).post(
        "/register/tradovate", body, format="json"
    )
    return venue_account, response


def alert(key: str, text: str):
    return Client().post(
        f"/api/unify/v1/webhook/tradovate/{key}", text, content_type="text/plain"
    )


def test_connect_then_alerts_enter_with_brackets_reverse_and_flatten(
    world, fake, tasks_inline
):
    venue_account, response = register(world, fake)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert (answer["broker"], answer["name"]) == ("tradovate", "DEMO7781")
    assert PASSWORD not in response.content.decode()
    assert SEC not in response.content.decode()
    key = answer["api_key"]
    contract = fake.contract_for("MNQZ26").id
    fake.price(contract, Decimal(21000))

    assert alert(key, "buy MNQ1! 1 price=21000 sl=20t tp=40t").status_code == 202
    execution = Execution.objects.get(signal=Signal.objects.latest("pk"))
    assert execution.status == Execution.Status.FILLED, execution.error_message
    [entry] = [o for o in fake.orders.values() if o.cl_ord_id]
    order = Order.objects.get(account__venue="tradovate")
    assert entry.cl_ord_id == order.client_order_id  # the command finds it again
    legs = [o for o in fake.orders.values() if o.parent_id == entry.id]
    levels = {str(o.order_type): o.price or o.stop_price for o in legs}
    # 20 ticks of 0.25 below the entry, 40 above.
    assert levels == {"Stop": Decimal(20995), "Limit": Decimal(21010)}
    assert fake.positions[(venue_account.id, contract)] == (1, Decimal(21000))
    assert Position.objects.get(symbol="MNQZ26").quantity == 1

    assert alert(key, "reverse MNQ1! 2 price=21000").status_code == 202
    assert Execution.objects.latest("pk").status == Execution.Status.FILLED
    assert fake.positions[(venue_account.id, contract)][0] == -2
    # The long's stop and target went with it: none may fire against the short.
    assert {str(o.status) for o in legs} == {"Canceled"}

    assert alert(key, "flat MNQ1!").status_code == 202
    assert fake.positions[(venue_account.id, contract)][0] == 0
    assert not Position.objects.filter(symbol="MNQZ26").exclude(quantity=0).exists()


def test_a_wrong_password_connects_nothing_and_says_why(world, fake):
    _, response = register(world, fake, password="not-it")
    assert response.status_code == 400
    assert "Incorrect username or password" in response.content.decode()
    assert not world.workspace.broker_accounts.filter(venue="tradovate").exists()


def test_the_docs_registration_example_connects_an_account(world, fake):
    """docs/brokers.md's request, its field names as written, with this fake's login."""
    import json
    import re

    from testkit.processes import ROOT

    docs = (ROOT / "docs" / "brokers.md").read_text()
    block = re.search(r"POST /register/tradovate\n(\{.+?\})\n", docs, flags=re.S)
    assert block is not None
    example = json.loads(block.group(1).replace('"..."', '""'))
    venue_account = fake.account(USER, "DEMO5150", balance=Decimal(50_000))
    filled = {"password": PASSWORD, "sec": SEC, "cid": CID, "user_name": USER}
    body = {**example, **filled, "account_id": str(venue_account.id)}
    assert set(body) == set(example)  # nothing the docs do not name
    response = api_client_for(world.owner).post(
        "/register/tradovate", body, format="json"
    )
    assert response.status_code == 201, response.content
