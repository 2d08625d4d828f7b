"""The EA protocol at the server (docs/ea-protocol.md): tokens, hello, commands
given out until acknowledged and never after, leases between sessions,
acknowledgements once, heartbeats mirrored into our books, and silence noticed."""

from __future__ import annotations

from decimal import Decimal

from django.core import mail

from brokers.adapters.base import OrderRequest, VenueError
from brokers.adapters.registry import get_adapter
from brokers.models import BrokerAccount, Order, Position
from brokers.venues.metatrader import protocol
from brokers.venues.metatrader.models import Command, Terminal
from brokers.venues.metatrader.services import terminal_token_issue, terminals_watch
from brokers.venues.metatrader.tests.conftest import HELLO, Ea, MetaTrader


def buy(coid: str = "tf-1-1-1", **fields: object) -> OrderRequest:
    values: dict[str, object] = {
        "client_order_id": coid,
        "symbol": "EURUSD",
        "side": "buy",
        "order_type": "market",
        "quantity": Decimal("0.10"),
        "stop_loss": Decimal("1.08400"),
        "take_profit": Decimal("1.09200"),
    }
    values.update(fields)
    return OrderRequest(**values)  # type: ignore[arg-type]


def online(mt: MetaTrader) -> Ea:
    assert mt.ea.hello().status_code == 200
    assert mt.ea.heartbeat().status_code == 200
    return mt.ea


def test_a_token_is_a_bearer_kept_as_a_hash_and_rotated(mt, clock):
    assert mt.ea.token.startswith(protocol.TOKEN_PREFIX)
    terminal = mt.terminal
    assert mt.ea.token not in (terminal.token_hash, terminal.token_prefix)
    for token in ("", "tfk_webhook-key-is-not-an-ea-token", "tfea_unknown"):
        answer = Ea(mt.ea.client, token).hello()
        assert answer.status_code == 401
        assert answer.json()["code"] == "ea-token-invalid"
    assert online(mt).poll().status_code == 200
    old = mt.ea.token
    mt.ea.token = terminal_token_issue(terminal=terminal)
    assert Ea(mt.ea.client, old, mt.ea.session).poll().status_code == 401
    # The new token's session starts with its hello: the old one is over.
    assert mt.ea.poll().json()["code"] == "ea-session-replaced"
    assert mt.ea.hello().status_code == 200


def test_the_first_hello_binds_the_login_and_a_new_one_replaces_the_session(mt):
    answer = mt.ea.hello().json()
    assert set(answer) == protocol.HELLO_ANSWER
    assert answer["heartbeat_s"] == 30 and answer["wait_s"] == 10
    first = mt.ea.session
    terminal = mt.terminal
    assert (terminal.login, terminal.server, terminal.platform) == (
        "51234567",
        "ICMarkets-Demo",
        "MT5",
    )
    refused = mt.ea.hello(login=99999999)
    assert refused.status_code == 409
    assert refused.json()["code"] == "ea-account-mismatch"
    assert "51234567" in refused.json()["detail"]
    assert mt.ea.hello().status_code == 200  # a restart: same login, new session
    stale = mt.ea.poll(session=first)
    assert stale.status_code == 409
    assert stale.json()["code"] == "ea-session-replaced"


def test_bad_bodies_are_4xx_with_a_code_and_nothing_changes(mt):
    online(mt)
    for body in ({"platform": "MT6", "login": 1}, {"login": ""}):
        assert mt.ea.post("/api/ea/hello", body).json()["code"] == "invalid-body"
    raw = mt.ea.client.post(
        "/api/ea/ack",
        b"{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {mt.ea.token}",
    )
    assert (raw.status_code, raw.json()["code"]) == (400, "invalid-body")
    assert mt.ea.ack("c999999").json()["code"] == "command-not-found"
    assert mt.ea.ack("nonsense", status="done").json()["code"] == "invalid-body"
    assert mt.ea.heartbeat(balance="lots").json()["code"] == "invalid-body"
    assert mt.ea.heartbeat(positions=[{"side": "up"}]).status_code == 400
    assert mt.ea.client.get("/api/ea/hello").status_code == 405
    assert mt.terminal.balance == Decimal("10000.00")


def test_a_command_is_given_until_acknowledged_and_never_after(mt, clock):
    ea = online(mt)
    report = get_adapter(mt.account).place_order(buy())
    assert report.status == Order.Status.PENDING
    first = ea.commands()
    assert len(first) == 1 and set(first[0]) == protocol.COMMAND_FIELDS
    command = first[0]
    assert command["action"] == "open" and command["symbol"] == "EURUSD"
    assert (command["volume"], command["sl"], command["tp"]) == (
        "0.1",
        "1.084",
        "1.092",
    )
    assert command["comment"] == "tf-1-1-1" and command["magic"] == "20261204"
    assert all(isinstance(value, str) for value in command.values())
    assert ea.commands() == [{**command, "ttl_ms": ea.commands()[0]["ttl_ms"]}]
    fill = {"ticket": "5012345", "volume": "0.10", "price": "1.08712"}
    assert ea.ack(command["id"], retcode=10009, **fill).json() == {"ok": True}
    assert ea.ack(command["id"], **fill).json() == {"ok": True, "duplicate": True}
    assert ea.ack(command["id"], status="rejected").json()["duplicate"] is True
    assert ea.commands() == []
    done = get_adapter(mt.account).place_order(buy())  # a retry finds it
    assert (done.status, done.filled_quantity, done.avg_fill_price) == (
        Order.Status.FILLED,
        Decimal("0.10"),
        Decimal("1.08712"),
    )
    assert [fill.venue_fill_id for fill in done.fills] == [command["id"]]
    assert Command.objects.get().deliveries == 3


def test_a_command_given_to_one_session_is_held_for_it_a_few_seconds(mt, clock):
    ea = online(mt)
    get_adapter(mt.account).place_order(buy())
    assert len(ea.commands()) == 1
    other = Ea(ea.client, ea.token)
    assert other.hello().status_code == 200  # a second start of the EA
    # The hello freed what the replaced session held: the new one has it now.
    assert len(other.commands()) == 1
    clock.advance(seconds=1)
    get_adapter(mt.account).place_order(buy("tf-2-1-1"))
    held = other.commands()
    assert [c["coid"] for c in held] == ["tf-1-1-1", "tf-2-1-1"]


def test_an_offline_ea_queues_then_expires_or_refuses_by_setting(mt, clock):
    adapter = get_adapter(mt.account)
    queued = adapter.place_order(buy())
    assert queued.status == Order.Status.PENDING
    assert queued.reject_reason.startswith("ea-offline: ")
    assert "waits 60 s" in queued.reject_reason
    clock.advance(seconds=61)
    online(mt)
    assert mt.ea.commands() == []  # expired, never given out
    expired = adapter.find_order("tf-1-1-1")
    assert expired is not None and expired.status == Order.Status.REJECTED
    assert expired.reject_reason.startswith("ea-offline: ")
    Terminal.objects.filter(account=mt.account).update(offline_policy="reject")
    clock.advance(seconds=120)  # silent again
    try:
        get_adapter(mt.account).place_order(buy("tf-2-1-1"))
    except VenueError as exc:
        assert exc.code == "ea-offline" and not exc.transient
    else:
        raise AssertionError("an offline EA with 'reject' took an entry")
    # An exit is never refused for it: it waits.
    mt.ea.heartbeat(positions=[position(ticket="1", side="buy", volume="0.10")])
    clock.advance(seconds=120)
    exit_ = get_adapter(mt.account).place_order(buy("tf-3-1-1", side="sell"))
    assert exit_.status == Order.Status.PENDING
    assert Command.objects.get(client_order_id="tf-3-1-1").action == "close"


def position(**fields: str) -> dict[str, str]:
    return {
        "ticket": "1",
        "symbol": "EURUSD",
        "side": "buy",
        "volume": "0.10",
        "price": "1.08700",
        "sl": "0",
        "tp": "0",
        "profit": "0",
        "magic": "20261204",
        "comment": "",
        **fields,
    }


def test_heartbeats_are_the_accounts_books(mt, clock):
    ea = online(mt)
    ea.heartbeat(
        balance="10010.00",
        equity="10042.50",
        positions=[
            position(ticket="11", side="buy", volume="0.10", price="1.08000"),
            position(ticket="12", side="buy", volume="0.30", price="1.09000"),
            position(ticket="13", symbol="XAUUSD", side="sell", volume="0.02"),
        ],
    )
    account = BrokerAccount.objects.get(pk=mt.account.pk)
    assert (account.balance, account.equity) == (Decimal("10010"), Decimal("10042.5"))
    books = {p.symbol: (p.quantity, p.avg_price) for p in Position.objects.all()}
    assert books == {
        "EURUSD": (Decimal("0.4"), Decimal("1.0875")),
        "XAUUSD": (Decimal("-0.02"), Decimal("1.087")),
    }
    ea.heartbeat(positions=[])
    assert set(Position.objects.values_list("quantity", flat=True)) == {Decimal(0)}


def test_a_silent_ea_is_marked_once_told_and_cleared_by_its_next_beat(mt, clock):
    ea = online(mt)
    assert terminals_watch() == []
    clock.advance(seconds=44)
    assert terminals_watch() == []
    clock.advance(seconds=2)
    assert [t.account_id for t in terminals_watch()] == [mt.account.pk]
    assert terminals_watch() == []  # once
    account = BrokerAccount.objects.get(pk=mt.account.pk)
    assert account.error_code == "ea-offline"
    assert "has not been heard since" in account.error_message
    assert len(mail.outbox) == 1 and "offline" in mail.outbox[0].subject
    assert mt.terminal.state == "offline"
    ea.heartbeat()
    assert BrokerAccount.objects.get(pk=mt.account.pk).error_code == ""
    assert mt.terminal.offline_at is None


def test_a_flatten_is_one_command_that_waits_and_drops_entries_not_given_out(mt, clock):
    adapter = get_adapter(mt.account)
    adapter.place_order(buy())
    first = adapter.flatten()
    assert adapter.flatten() == first  # a repeat finds the one undone
    statuses = dict(Command.objects.values_list("action", "status"))
    assert statuses == {"open": "cancelled", "flatten": "queued"}
    clock.advance(hours=6)
    ea = online(mt)
    (flatten,) = ea.commands()
    assert flatten["action"] == "flatten" and flatten["symbol"] == ""
    assert int(flatten["ttl_ms"]) > 3_600_000


def test_the_ea_says_hello_with_its_own_clock_and_the_server_keeps_its_own(mt, clock):
    skewed = int(clock.now().timestamp()) + 3600
    mt.ea.hello(time=skewed)
    assert mt.terminal.skew_seconds == 3600
    mt.ea.heartbeat(time=skewed)
    get_adapter(mt.account).place_order(buy())
    (command,) = mt.ea.commands()
    assert 0 < int(command["ttl_ms"]) <= 10_000  # relative: no clock compared
    mt.ea.ack(command["id"], volume="0.10", price="1.087", time=skewed + 1)
    fill = Command.objects.get().executed_at
    assert fill is not None and abs((fill - clock.now()).total_seconds()) <= 1


def test_hello_fields_are_the_protocols():
    assert set(HELLO) | {"time"} == protocol.HELLO_FIELDS


def test_a_pending_order_whose_fill_was_never_told_is_settled_by_its_position(
    mt, clock
):
    ea = online(mt)
    get_adapter(mt.account).place_order(
        buy(order_type="limit", limit_price=Decimal("1.08000"))
    )
    (command,) = ea.commands()
    assert command["type"] == "limit" and command["price"] == "1.08"
    ea.ack(command["id"], status="accepted", ticket="9001", retcode=10008)
    assert get_adapter(mt.account).find_order("tf-1-1-1").status == "working"
    clock.advance(seconds=30)  # the terminal crashed before the fill's ack
    ea.heartbeat(
        positions=[position(ticket="9002", price="1.07990", comment="tf-1-1-1")]
    )
    report = get_adapter(mt.account).find_order("tf-1-1-1")
    assert report is not None and report.status == Order.Status.FILLED
    assert report.avg_fill_price == Decimal("1.07990")
