"""The edges a review of the venue found: an exit read across a heartbeat, the
exits of several symbols, a flatten beside a resting order, a cancel sent
again, a poll that waited through a new hello, bodies with a NUL or nested
deep, and the offline mark surviving a sync."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from brokers.adapters.registry import get_adapter
from brokers.models import BrokerAccount
from brokers.services import account_sync
from brokers.venues.metatrader.models import Command, Terminal
from brokers.venues.metatrader.services import (
    EaError,
    commands_due,
    terminals_watch,
)
from brokers.venues.metatrader.tests.test_protocol import buy, online, position


def test_an_exit_read_across_a_heartbeat_still_closes(mt, clock):
    ea = online(mt)
    adapter = get_adapter(mt.account)
    adapter.place_order(buy())
    (command,) = ea.commands()
    ea.ack(command["id"], volume="0.10", price="1.08712")
    assert adapter.positions()[0].quantity == Decimal("0.1")  # the plan's read
    ea.heartbeat(positions=[position(ticket="7", price="1.08712")])  # meanwhile
    adapter.place_order(buy("tf-2-1-1", side="sell", stop_loss=None))
    assert Command.objects.get(client_order_id="tf-2-1-1").action == "close"
    assert adapter.positions()[0].quantity == Decimal("0.1")  # counted once


def test_exits_of_several_symbols_never_wait_on_one_another(mt, clock):
    ea = online(mt)
    ea.heartbeat(
        positions=[
            position(ticket="1"),
            position(ticket="2", symbol="XAUUSD", volume="0.02", price="2000"),
        ]
    )
    adapter = get_adapter(mt.account)
    adapter.place_order(buy("tf-5-1-1", side="sell"))
    adapter.place_order(
        buy("tf-5-1-11", symbol="XAUUSD", side="sell", quantity=Decimal("0.02"))
    )
    first, second = ea.commands()
    assert (first["action"], second["action"]) == ("close", "close")
    assert second["after"] == ""  # one refused close leaves the other to run
    # A flip's entry does wait on its own symbol's exit.
    adapter.place_order(
        buy("tf-5-1-12", symbol="XAUUSD", side="sell", quantity=Decimal("0.01"))
    )
    entry = Command.objects.get(client_order_id="tf-5-1-12")
    assert entry.action == "open" and entry.after_id == int(second["id"][1:])


def test_a_flatten_beside_an_order_resting_unreported_is_sent(mt, clock):
    ea = online(mt)
    adapter = get_adapter(mt.account)
    adapter.place_order(buy(order_type="limit", limit_price=Decimal("1.05")))
    (command,) = ea.commands()
    ea.ack(command["id"], status="accepted", ticket="9001", retcode=10008)
    # No heartbeat yet holds the resting order: the flatten must not trust that.
    (flatten,) = adapter.flatten()
    assert Command.objects.get(client_order_id=flatten.client_order_id).action == (
        "flatten"
    )


def test_a_cancel_that_expired_is_sent_again(mt, clock):
    adapter = get_adapter(mt.account)
    adapter.cancel_order("9001")  # the EA is offline: it waits 60 s
    assert adapter.cancel_order("9001").client_order_id == "cancel-9001-1"
    clock.advance(seconds=61)
    terminals_watch()
    again = adapter.cancel_order("9001")
    assert again.client_order_id == "cancel-9001-2" and again.status == "pending"


def test_a_poll_that_waited_through_a_new_hello_is_given_nothing(mt, clock):
    ea = online(mt)
    old = Terminal.objects.get(account=mt.account)
    ea.hello()  # a second start of the EA: a new session
    get_adapter(mt.account).place_order(buy())
    with pytest.raises(EaError) as refused:
        commands_due(terminal=old, session=old.session)
    assert refused.value.code == "ea-session-replaced"
    assert Command.objects.get().status == Command.Status.QUEUED


@pytest.mark.parametrize(
    "body",
    [
        {"login": "5123\u0000", "platform": "MT5"},
        {"login": 1, "platform": "MT5", "server": "x\u0000"},
    ],
)
def test_a_nul_in_a_hello_is_a_400(mt, body):
    answer = mt.ea.post("/api/ea/hello", body)
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid-body")


def test_a_nul_in_a_reported_position_or_a_deep_body_is_a_400(mt, clock):
    ea = online(mt)
    answer = ea.heartbeat(positions=[position(comment="tf\u0000")])
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid-body")
    deep = "[" * 100_000 + "]" * 100_000
    answer = ea.client.post(
        "/api/ea/ack",
        deep,
        content_type="application/json",
        headers={"Authorization": f"Bearer {ea.token}"},
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid-body")
    assert json.loads(answer.content)["detail"]


def test_guessing_tokens_is_refused_after_sixty_a_minute(mt):
    from brokers.venues.metatrader.tests.conftest import Ea

    guesses = [Ea(mt.ea.client, f"tfea_guess{n}").hello() for n in range(61)]
    assert {g.status_code for g in guesses[:60]} == {401}
    assert guesses[60].status_code == 429
    assert guesses[60].json()["code"] == "too-many-requests"


def test_the_offline_mark_outlives_a_sync_until_the_ea_beats(mt, clock):
    ea = online(mt)
    clock.advance(seconds=50)
    terminals_watch()
    account_sync(account=mt.account)  # the beat's sync, from the stored report
    account = BrokerAccount.objects.get(pk=mt.account.pk)
    assert account.error_code == "ea-offline" and account.error_message
    ea.heartbeat()
    assert BrokerAccount.objects.get(pk=mt.account.pk).error_code == ""
