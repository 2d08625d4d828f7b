"""Alerts to a MetaTrader account through the pipeline, the EA's side spoken by
the test: the alert's order is a command, the EA's acknowledgement fills our
order, execution and signal; a flip's entry waits for its exit; an offline EA's
signal says `ea-offline`, queued then expired, or refused at once; a breached
rule flattens by command."""

from __future__ import annotations

import json
from decimal import Decimal

from django.test import Client

from brokers.models import Order, Position
from brokers.venues.metatrader.models import Command, Terminal
from brokers.venues.metatrader.services import terminals_watch
from brokers.venues.metatrader.tests.conftest import MetaTrader
from brokers.venues.metatrader.tests.test_protocol import online, position
from risk.models import RiskConfig
from risk.monitor import risk_monitor
from testkit import api_client_for
from webhooks.models import Execution, Signal


def alert(mt: MetaTrader, text: str, broker: str = "truforex") -> Signal:
    sent = Client().post(
        f"/api/unify/v1/webhook/{broker}/{mt.webhook_key}",
        text,
        content_type="text/plain",
    )
    assert sent.status_code == 202, sent.content
    return Signal.objects.latest("pk")


def test_an_alert_is_a_command_and_the_eas_fill_is_our_fill(
    mt, world, clock, tasks_inline
):
    ea = online(mt)
    signal = alert(mt, "buy EURUSD 0.1")
    execution = Execution.objects.get(signal=signal)
    assert execution.status == Execution.Status.WORKING
    assert Signal.objects.get(pk=signal.pk).status == Signal.Status.WORKING
    (command,) = ea.commands()
    assert (command["action"], command["side"], command["volume"]) == (
        "open",
        "buy",
        "0.1",
    )
    order = Order.objects.get(account=mt.account)
    assert command["coid"] == order.client_order_id
    ea.ack(command["id"], ticket="7001", volume="0.10", price="1.10012", retcode=10009)
    execution.refresh_from_db()
    assert execution.status == Execution.Status.FILLED, execution.error_message
    assert Signal.objects.get(pk=signal.pk).status == Signal.Status.FILLED
    order.refresh_from_db()
    assert (order.status, order.venue_order_id, order.avg_fill_price) == (
        Order.Status.FILLED,
        "7001",
        Decimal("1.10012"),
    )
    held = Position.objects.get(account=mt.account, symbol="EURUSD")
    assert (held.quantity, held.avg_price) == (Decimal("0.1"), Decimal("1.10012"))
    listed = api_client_for(world.owner).get("/api/positions?broker=truforex").json()
    assert [(p["broker"], p["symbol"], p["side"]) for p in listed] == [
        ("mt5", "EURUSD", "long")
    ]
    assert api_client_for(world.owner).get("/api/positions?broker=paper").json() == []
    # The EA's next heartbeat says the same: the books do not move twice.
    ea.heartbeat(positions=[position(ticket="7001", price="1.10012")])
    ea.ack(command["id"], volume="0.10", price="1.10012")  # a lost answer, again
    held.refresh_from_db()
    assert held.quantity == Decimal("0.1")
    assert ea.commands() == []


def test_a_flips_entry_waits_for_its_exit(mt, clock, tasks_inline):
    ea = online(mt)
    ea.heartbeat(positions=[position(ticket="7001", side="buy", volume="0.10")])
    alert(mt, "sell EURUSD 0.2")
    commands = ea.commands()
    assert [(c["action"], c["side"]) for c in commands] == [
        ("close", "sell"),
        ("open", "sell"),
    ]
    exit_, entry = commands
    assert entry["after"] == exit_["id"] and exit_["after"] == ""
    ea.ack(exit_["id"], status="rejected", retcode=10018, retcode_text="MARKET_CLOSED")
    ea.ack(entry["id"], status="rejected", retcode=0, retcode_text="after-failed")
    execution = Execution.objects.latest("pk")
    assert execution.status == Execution.Status.REJECTED
    assert execution.error_code == "venue:MARKET_CLOSED"
    assert "10018" in execution.error_message


def test_an_offline_ea_queues_the_order_then_it_expires(mt, clock, tasks_inline):
    signal = alert(mt, "buy EURUSD 0.1", broker="mt5")
    signal.refresh_from_db()
    assert signal.status == Signal.Status.WORKING
    assert signal.error_code == "venue:ea-offline"
    assert "waits 60 s" in signal.error_message
    clock.advance(seconds=61)
    terminals_watch()
    signal.refresh_from_db()
    assert signal.status == Signal.Status.REJECTED
    assert signal.error_code == "venue:ea-offline"
    assert "expired unsent" in signal.error_message
    assert Command.objects.get().status == Command.Status.EXPIRED


def test_an_offline_ea_that_refuses_says_so_at_once(mt, clock, tasks_inline):
    Terminal.objects.filter(account=mt.account).update(offline_policy="reject")
    signal = alert(mt, "buy EURUSD 0.1", broker="mtx")
    signal.refresh_from_db()
    assert signal.status == Signal.Status.REJECTED
    assert signal.error_code == "venue:ea-offline"
    assert "refuses orders" in signal.error_message
    assert not Command.objects.exists()


def test_a_breached_daily_loss_flattens_by_command(mt, clock, tasks_inline):
    ea = online(mt)
    RiskConfig.objects.create(
        account=mt.account, daily_loss_limit=Decimal(200), daily_loss_action="flatten"
    )
    ea.heartbeat(balance="10000", equity="10000", positions=[position()])
    ea.heartbeat(balance="10000", equity="9790", positions=[position()])
    risk_monitor(account=mt.account)
    (flatten,) = ea.commands()
    assert flatten["action"] == "flatten"
    ea.ack(flatten["id"], volume="0.10", price="1.0700")
    ea.heartbeat(balance="9790", equity="9790", positions=[])
    assert Position.objects.get(account=mt.account).quantity == 0
    refused = alert(mt, "buy EURUSD 0.1")
    refused.refresh_from_db()
    assert refused.status == Signal.Status.REJECTED, refused.error_message


def test_the_webhook_takes_the_seeds_names_for_metatrader(mt, clock, tasks_inline):
    online(mt)
    for number, broker in enumerate(("truforex", "mtx", "mt5")):
        signal = alert(mt, f"buy EURUSD 0.{number + 1}", broker=broker)
        assert signal.status != Signal.Status.FAILED
    sent = Client().post(
        f"/api/unify/v1/webhook/tradelocker/{mt.webhook_key}",
        json.dumps({"action": "buy", "symbol": "EURUSD", "quantity": 1}),
        content_type="application/json",
    )
    assert sent.status_code == 400 and sent.json()["code"] == "broker-mismatch"
