"""A trader connects a TopstepX account and trades it from TradingView alerts:
registration, the webhook, the worker, the venue (the fake), our records; entry
with brackets, reverse, flatten."""

from __future__ import annotations

from decimal import Decimal

from django.test import Client

from brokers.models import BrokerAccount, Order
from brokers.venues.projectx.mapping import Status
from testkit import api_client_for
from webhooks.models import Execution, Signal

from .conftest import API_KEY, USER


def register(world, fake, **extra):
    venue_account = fake.account(USER, "50KTC-V2-7", balance=Decimal(50_000))
    body = {
        "firm": "topstepx",
        "user_name": USER,
        "api_key": API_KEY,
        "account_id": str(venue_account.id),
        **extra,
    }
    response = api_client_for(world.owner).post(
        "/register/projectx", body, format="json"
    )
    return venue_account, response


def alert(key: str, text: str):
    return Client().post(
        f"/api/unify/v1/webhook/topstep/{key}", text, content_type="text/plain"
    )


def test_connect_then_an_alert_fills_at_the_venue_and_an_exit_closes_it(
    world, fake, tasks_inline
):
    venue_account, response = register(world, fake)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert (answer["broker"], answer["name"]) == ("projectx", "50KTC-V2-7")
    assert API_KEY not in response.content.decode()
    key = answer["api_key"]
    contract = fake.contract_for("MNQZ26").id
    fake.price(contract, Decimal("21000.25"))

    assert alert(key, "buy MNQ1! 2 price=21000").status_code == 202
    signal = Signal.objects.latest("pk")
    execution = Execution.objects.get(signal=signal)
    assert execution.status == Execution.Status.FILLED, execution.error_message
    [order] = Order.objects.filter(account__venue="projectx")
    assert order.status == Order.Status.FILLED
    [at_venue] = [o for o in fake.orders.values() if o.custom_tag]
    assert at_venue.custom_tag == order.client_order_id  # the tag finds it again
    assert fake.positions[(venue_account.id, contract)] == (2, Decimal("21000.25"))

    assert alert(key, "exit MNQ1!").status_code == 202
    assert Execution.objects.latest("pk").status == Execution.Status.FILLED
    assert (venue_account.id, contract) not in fake.positions


def test_a_refused_login_connects_nothing_and_says_why(world, fake):
    _, response = register(world, fake, api_key="not-the-key")
    assert response.status_code == 400
    assert "refused" in response.json()["errors"]["broker"][0]
    assert not BrokerAccount.objects.filter(venue="projectx").exists()


def test_brackets_reverse_and_flatten_from_alerts(world, fake, tasks_inline):
    venue_account, response = register(world, fake)
    key = response.json()["api_key"]
    contract = fake.contract_for("MNQZ26").id
    fake.price(contract, Decimal(21000))

    bracketed = alert(key, "buy MNQ1! 1 price=21000 sl=20t tp=40t")
    assert bracketed.status_code == 202
    entry = next(o for o in fake.orders.values() if o.custom_tag)
    assert (entry.stop_loss_ticks, entry.take_profit_ticks) == (20, 40)
    legs = [o for o in fake.orders.values() if o.parent_id == entry.id]
    assert len(legs) == 2  # the OCO pair rests at the venue

    assert alert(key, "reverse MNQ1! 2 price=21000").status_code == 202
    assert Execution.objects.latest("pk").status == Execution.Status.FILLED
    assert fake.positions[(venue_account.id, contract)][0] == -2

    # The long's stop and target went with it: none may fire against the short.
    assert {o.status for o in legs} == {Status.CANCELLED}
    assert alert(key, "flat MNQ1!").status_code == 202
    assert (venue_account.id, contract) not in fake.positions
