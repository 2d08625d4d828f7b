"""A trader connects a TradeLocker account and trades it from TradingView alerts:
seed 002's quick start as written (its registration body and its webhook body),
the worker, the venue (the fake), our records; an exit that closes the position
by id; gold under the broker's own name."""

from __future__ import annotations

import json
import re
from decimal import Decimal

from django.db.models import TextField
from django.db.models.functions import Cast
from django.test import Client

from brokers.models import BrokerAccount, Order, Position
from testkit import api_client_for
from testkit.processes import ROOT
from webhooks.intake.keys import api_key_issue
from webhooks.models import Execution, Signal

SEED_EMAIL, SEED_PASSWORD, SEED_SERVER = (
    "test@example.com",
    "demo123",
    ("demo.tradelocker.com"),
)


def quick_start() -> tuple[dict[str, object], dict[str, object]]:
    """The two JSON bodies of docs/brokers.md's TradeLocker quick start (seed 002's)."""
    docs = (ROOT / "docs" / "brokers.md").read_text()
    register = re.search(
        r"POST /api/unify/v1/register/tradelocker\n(\{.+?\n\})\n", docs, flags=re.S
    )
    webhook = re.search(
        r"POST /api/unify/v1/webhook/tradelocker\n.*?\n(\{.+?\n\})\n", docs, flags=re.S
    )
    assert register is not None and webhook is not None
    return json.loads(register.group(1)), json.loads(webhook.group(1))


def test_seed_002s_quick_start_registers_then_its_webhook_trades(
    world, fake, tasks_inline
):
    fake.user(SEED_EMAIL, SEED_PASSWORD, SEED_SERVER)
    venue_account = fake.account(SEED_EMAIL, "OSP#900001", balance=Decimal(50_000))
    fake.price("EURUSD", Decimal("1.10000"), Decimal("1.10010"))
    register, webhook = quick_start()
    assert register == {
        "email": SEED_EMAIL,
        "password": SEED_PASSWORD,
        "server": SEED_SERVER,
        "mode": "demo",
    }
    response = api_client_for(world.owner).post(
        "/api/unify/v1/register/tradelocker", register, format="json"
    )
    assert response.status_code == 201, response.content
    answer = response.json()
    assert {"id", "broker", "email", "status", "balance", "api_key"} <= set(answer)
    assert (answer["broker"], answer["email"], answer["status"]) == (
        "tradelocker",
        SEED_EMAIL,
        "active",
    )
    assert Decimal(answer["balance"]) == Decimal(50_000)
    assert SEED_PASSWORD not in response.content.decode()
    account = BrokerAccount.objects.get(pk=answer["id"])
    assert account.external_id == str(venue_account.id)
    stored = BrokerAccount.objects.filter(pk=account.pk).values_list(
        Cast("credentials", TextField()), flat=True
    )
    assert SEED_PASSWORD not in stored[0]  # encrypted at rest

    sent = Client().post(
        "/api/unify/v1/webhook/tradelocker",
        json.dumps(webhook),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {answer['api_key']}",
    )
    assert sent.status_code == 202, sent.content
    assert sent.json()["success"] is True
    execution = Execution.objects.get(signal=Signal.objects.latest("pk"))
    assert execution.status == Execution.Status.FILLED, execution.error_message
    order = Order.objects.get(account=account)
    [at_venue] = [o for o in fake.orders.values() if o.strategy_id]
    assert at_venue.strategy_id == order.client_order_id  # found again by it
    assert (str(at_venue.side), at_venue.qty) == ("buy", Decimal(1))
    assert order.avg_fill_price == Decimal("1.10010")  # bought at the ask
    assert Position.objects.get(account=account, symbol="EURUSD").quantity == 1

    exit_body = {"version": "unify.v1", "intent": {**webhook["intent"], "side": "sell"}}
    Client().post(
        "/api/unify/v1/webhook/tradelocker",
        json.dumps(exit_body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {answer['api_key']}",
    )
    assert Execution.objects.latest("pk").status == Execution.Status.FILLED
    assert fake.positions == {}  # closed by id, not hedged with a short
    assert Position.objects.get(account=account, symbol="EURUSD").quantity == 0


def test_an_alert_on_gold_trades_the_brokers_gold_under_its_own_name(
    world, connected, tasks_inline
):
    gold = connected.fake.instrument("GOLD", lot_size=Decimal(100))
    connected.fake.price("GOLD", Decimal("2400.00"), Decimal("2400.40"))
    connected.account.venue_symbols = {"XAUUSD": "GOLD"}
    connected.account.save()
    _, key = api_key_issue(account=connected.account, created_by=world.owner)
    sent = Client().post(
        f"/api/unify/v1/webhook/tradelocker/{key}",
        "buy OANDA:XAUUSD 0.5",
        content_type="text/plain",
    )
    assert sent.status_code == 202, sent.content
    execution = Execution.objects.latest("pk")
    assert execution.status == Execution.Status.FILLED, execution.error_message
    [position] = connected.fake.positions.values()
    assert position.tradable_instrument_id == gold.tradable_instrument_id
    assert position.qty == Decimal("0.5")
    assert Position.objects.get(account=connected.account).symbol == "XAUUSD"
