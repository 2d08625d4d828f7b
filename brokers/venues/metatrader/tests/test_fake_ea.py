"""The fake Expert Advisor against a stub of the server's half of
docs/ea-protocol.md, served on loopback (no database, not the real views): hello,
commands executed and acknowledged, heartbeats, lost answers, duplicate polls,
restarts, a skewed clock, `after` and `ttl_ms`. Time: the terminal's clock is
fixed at NOW and the EA's monotonic clock is `Ticks`, which the tests move."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from brokers.venues.fakes import answer_http, serve_on_loopback
from brokers.venues.metatrader import protocol
from brokers.venues.metatrader.fake_ea import FakeEA
from brokers.venues.metatrader.fake_terminal import FakeTerminal, standard_symbols

NOW = 1796400000
TOKEN = "tfea_stub-token"
LOGIN = 51234567
D = Decimal
ACK_ORDER = ["id", "status", "retcode", "retcode_text", "ticket", "volume", "price"]


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: dict[str, Any]


def error(status: int, code: str) -> tuple[int, dict[str, Any]]:
    return status, {"success": False, "error": {"code": code, "message": code}}


@dataclass
class StubServer:
    """The server's half of the protocol, as small as the tests need: the token,
    the binding to one login, sessions (the newest wins), commands given out
    until acknowledged, acknowledgements recorded once per status. `fail_acks`:
    the next N acknowledgements answer 503 and are not recorded."""

    url: str = ""
    wait_s: int = 10
    heartbeat_s: int = 30
    fail_acks: int = 0
    seen: list[Seen] = field(default_factory=list)
    bound: tuple[int, str] | None = None
    sessions: list[str] = field(default_factory=list)
    commands: list[dict[str, str]] = field(default_factory=list)
    acks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    given: list[list[str]] = field(default_factory=list)
    duplicates: int = 0

    def add(self, command_id: str, **fields: str) -> dict[str, str]:
        """A command as the server gives it: every field, every value a string."""
        command = {
            "id": command_id,
            "coid": f"tf-{command_id}",
            "action": "open",
            "symbol": "EURUSD",
            "side": "buy",
            "type": "market",
            "volume": "0.10",
            "price": "0",
            "sl": "0",
            "tp": "0",
            "ticket": "",
            "comment": f"tf-{command_id}",
            "magic": "20261204",
            "ttl_ms": "60000",
            "after": "",
            **fields,
        }
        assert set(command) == protocol.COMMAND_FIELDS
        self.commands.append(command)
        return command

    def requests(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def replace_session(self) -> None:
        """Another terminal said hello with the same token."""
        self.sessions.append(f"s_{len(self.sessions) + 1}")

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def respond(raw: bytes) -> tuple[int, Any]:
            return await self.answer(scope, raw)

        await answer_http(receive, send, respond)

    async def answer(self, scope: dict[str, Any], raw: bytes) -> tuple[int, Any]:
        query = dict(parse_qsl(scope["query_string"].decode()))
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return error(400, "invalid-body")
        path = scope["path"]
        self.seen.append(Seen(scope["method"], path, query, headers, body))
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return error(401, "ea-token-invalid")
        if path == protocol.HELLO:
            account = (body["login"], body["server"])
            if self.bound not in (None, account):
                return error(409, "ea-account-mismatch")
            self.bound = account
            self.replace_session()
            return 200, {
                "ok": True,
                "session": self.sessions[-1],
                "wait_s": self.wait_s,
                "heartbeat_s": self.heartbeat_s,
                "server_time": NOW,
            }
        if path == protocol.COMMANDS:
            if query.get("session") != self.sessions[-1]:
                return error(409, "ea-session-replaced")
            deadline = time.monotonic() + min(float(query["wait"]), self.wait_s)
            while True:
                waiting = [c for c in self.commands if c["id"] not in self.acks]
                if waiting or time.monotonic() >= deadline:
                    break
                await asyncio.sleep(0.01)
            self.given.append([c["id"] for c in waiting])
            return 200, {"commands": waiting, "wait_s": str(self.wait_s)}
        if path == protocol.HEARTBEAT:
            if body.get("session") != self.sessions[-1]:
                return error(409, "ea-session-replaced")
            return 200, {
                "ok": True,
                "server_time": NOW,
                "heartbeat_s": self.heartbeat_s,
            }
        if path == protocol.ACK:
            if self.fail_acks > 0:
                self.fail_acks -= 1
                return 503, b"try again"
            if body["id"] not in {c["id"] for c in self.commands}:
                return error(404, "command-not-found")
            previous = self.acks.setdefault(body["id"], [])
            if any(a["status"] == body["status"] for a in previous):
                self.duplicates += 1
                return 200, {"ok": True, "duplicate": True}
            previous.append(body)
            return 200, {"ok": True}
        return error(404, "not-found")


class Door:
    """One loopback server for the module; each test puts its own stub behind it."""

    url = ""
    target: StubServer | None = None

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.target is not None:
            await self.target.app(scope, receive, send)


class Ticks:
    """The EA's monotonic clock (GetTickCount), moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def terminal(**options: Any) -> FakeTerminal:
    return FakeTerminal(symbols=standard_symbols(".r"), clock=lambda: NOW, **options)


@pytest.fixture(scope="module")
def door():
    door = Door()
    with serve_on_loopback(door.app, "the stub TradeFlow") as base:
        door.url = base
        yield door


@pytest.fixture
def stub(door):
    door.target = StubServer(url=door.url)
    yield door.target
    door.target = None


@pytest.fixture
def ticks():
    return Ticks()


@pytest.fixture
def files(tmp_path):
    return tmp_path / "MQL5" / "Files"


@pytest.fixture
def make_ea(
    stub: StubServer, files: Path, ticks: Ticks
) -> Iterator[Callable[..., FakeEA]]:
    made: list[FakeEA] = []

    def make(
        on: FakeTerminal | None = None, *, token: str = TOKEN, **knobs: Any
    ) -> FakeEA:
        knobs.setdefault("monotonic", ticks)
        ea = FakeEA(stub.url, token, on or terminal(), files, suffix=".r", **knobs)
        made.append(ea)
        return ea

    yield make
    for ea in made:
        ea.close()


def heartbeats(stub: StubServer) -> list[dict[str, Any]]:
    return [s.body for s in stub.requests(protocol.HEARTBEAT)]


# --- Hello --------------------------------------------------------------------------


def test_hello_sends_the_terminal_and_opens_a_session(make_ea, stub):
    stub.wait_s, stub.heartbeat_s = 7, 20
    ea = make_ea()
    assert ea.start()
    (hello,) = stub.seen
    assert (hello.method, hello.path) == ("POST", protocol.HELLO)
    assert hello.headers["authorization"] == f"Bearer {TOKEN}"
    assert hello.headers["content-type"] == "application/json"
    assert set(hello.body) == protocol.HELLO_FIELDS
    assert hello.body == {
        "platform": "MT5",
        "build": 4620,
        "ea_version": "1.0.0",
        "login": LOGIN,
        "server": "ICMarkets-Demo",
        "broker": "Raw Trading Ltd",
        "currency": "USD",
        "leverage": 500,
        "hedging": True,
        "magic": 20261204,
        "suffix": ".r",
        "trade_allowed": True,
        "time": NOW,
    }
    assert (ea.session, ea.wait_s, ea.heartbeat_s) == ("s_1", 7, 20)
    assert stub.bound == (LOGIN, "ICMarkets-Demo")

    stub.add("c1")  # so that the long poll answers at once
    assert ea.step() == 1  # the poll waits what the server said
    assert stub.requests(protocol.COMMANDS)[0].query == {"session": "s_1", "wait": "7"}


def test_a_token_bound_to_another_login_stops_trading(make_ea, stub):
    assert make_ea().start()
    other = make_ea(terminal(login=99))
    assert not other.start()
    assert other.stopped == "ea-account-mismatch"
    assert "another MetaTrader account" in other.chart
    seen = len(stub.seen)
    assert other.step(wait=0) == 0
    assert len(stub.seen) == seen  # a stopped EA sends nothing


def test_a_refused_token_stops_trading(make_ea, stub):
    ea = make_ea(token="tfea_rotated")
    assert not ea.start()
    assert ea.stopped == "ea-token-invalid"
    assert "STOPPED" in ea.chart
    stub.add("c1")
    assert ea.step(wait=0) == 0
    assert len(stub.seen) == 1 and ea.terminal.positions == []


def test_a_replaced_session_says_hello_again_and_three_in_a_minute_stop(make_ea, stub):
    ea = make_ea()
    ea.start()
    stub.replace_session()  # another chart said hello with this token
    assert ea.step(wait=0) == 0
    assert ea.session is None and ea.backoff_s == 1
    stub.add("c1")
    assert ea.step(wait=0) == 1
    assert ea.session == "s_3" and len(stub.requests(protocol.HELLO)) == 2

    for _ in range(2):
        stub.replace_session()
        ea.step(wait=0)  # replaced ...
        ea.step(wait=0)  # ... and hello again
    assert ea.stopped == "ea-session-replaced"
    assert "one TradeFlow EA per account" in ea.chart


# --- Commands -----------------------------------------------------------------------


def test_a_market_order_is_executed_acknowledged_and_reported(make_ea, stub, ticks):
    ea = make_ea()
    ea.start()
    stub.add("c42", sl="1.08400", tp="1.09200", comment="tf-901-7-1")

    assert ea.step(wait=0) == 1

    (position,) = ea.terminal.positions
    assert (position.symbol, position.side, position.volume) == (
        "EURUSD.r",
        "buy",
        D("0.10"),
    )
    assert (position.magic, position.comment) == (20261204, "tf-901-7-1")
    (poll,) = stub.requests(protocol.COMMANDS)
    assert poll.query == {"session": "s_1", "wait": "0"}
    assert set(poll.query) == protocol.QUERY_FIELDS
    (ack,) = stub.acks["c42"]
    assert list(ack) == [*ACK_ORDER, "time"] and set(ack) == protocol.ACK_FIELDS
    assert ack == {
        "id": "c42",
        "status": "filled",
        "retcode": 10009,
        "retcode_text": "TRADE_RETCODE_DONE",
        "ticket": str(position.ticket),
        "volume": "0.10",
        "price": "1.08712",
        "time": NOW,
    }
    assert ea.executed == {"c42": 1}
    assert ea.stored_ack("c42") == ack

    # That tick's heartbeat went before the trade; the next one reports it.
    assert len(heartbeats(stub)) == 1
    ticks.advance(1)
    assert ea.step(wait=0) == 0
    beat = heartbeats(stub)[-1]
    assert set(beat) == protocol.HEARTBEAT_FIELDS
    assert beat == {
        "session": "s_1",
        "balance": "10000.00",
        "equity": "9998.80",
        "margin": "21.74",
        "free_margin": "9977.06",
        "currency": "USD",
        "connected": True,
        "trade_allowed": True,
        "time": NOW,
        "positions": [
            {
                "ticket": str(position.ticket),
                "symbol": "EURUSD",
                "side": "buy",
                "volume": "0.10",
                "price": "1.08712",
                "sl": "1.08400",
                "tp": "1.09200",
                "profit": "-1.20",
                "magic": "20261204",
                "comment": "tf-901-7-1",
            }
        ],
        "orders": [],
    }
    assert set(beat["positions"][0]) == protocol.POSITION_FIELDS
    ticks.advance(1)
    ea.step(wait=0)
    assert len(heartbeats(stub)) == 2  # nothing changed since


def test_heartbeats_when_due_or_when_the_account_changes(make_ea, stub, ticks):
    ea = make_ea()
    ea.start()
    ea.step(wait=0)
    assert len(heartbeats(stub)) == 1  # the first one at once
    ticks.advance(5)
    ea.step(wait=0)
    assert len(heartbeats(stub)) == 1  # nothing changed

    ea.step(wait=0, heartbeat=True)
    assert len(heartbeats(stub)) == 2
    ea.terminal.open("EURUSD.r", "buy", D("0.10"))  # a trade by hand
    ticks.advance(0.5)
    ea.step(wait=0)
    assert len(heartbeats(stub)) == 2  # at most one a second
    ticks.advance(0.5)
    ea.step(wait=0)
    assert len(heartbeats(stub)) == 3
    assert heartbeats(stub)[-1]["positions"][0]["symbol"] == "EURUSD"

    ea.terminal.set_price("EURUSD.r", D("1.08800"), D("1.08812"))
    ticks.advance(5)
    ea.step(wait=0)
    assert len(heartbeats(stub)) == 3  # a moving profit is not a change
    ticks.advance(25)
    ea.step(wait=0)
    assert len(heartbeats(stub)) == 4  # heartbeat_s passed
    assert heartbeats(stub)[-1]["positions"][0]["profit"] == "8.80"
    ea.step(wait=0, heartbeat=False)
    assert ea.heartbeat() and len(heartbeats(stub)) == 5


def test_a_lost_ack_answer_is_sent_again_and_the_command_executed_once(make_ea, stub):
    ea = make_ea(lose_ack_answers=1)
    ea.start()
    stub.add("c1")

    assert ea.step(wait=0) == 1
    assert len(stub.acks["c1"]) == 1  # the server has it ...
    assert len(ea.outbox) == 1  # ... the EA does not know
    assert ea.backoff_s == 1

    assert ea.step(wait=0) == 0
    first, again = (s.body for s in stub.requests(protocol.ACK))
    assert first == again
    assert stub.duplicates == 1 and ea.duplicate_acks == 1
    assert ea.outbox == [] and ea.backoff_s == 0
    assert ea.executed == {"c1": 1} and len(ea.terminal.positions) == 1
    assert stub.given == [["c1"], []]


def test_an_ack_the_server_failed_is_sent_on_the_next_tick(make_ea, stub):
    ea = make_ea()
    ea.start()
    stub.fail_acks = 1
    stub.add("c1")
    assert ea.step(wait=0) == 1
    assert "c1" not in stub.acks and len(ea.outbox) == 1
    assert ea.step(wait=0) == 0
    assert [a["status"] for a in stub.acks["c1"]] == ["filled"]
    assert stub.given == [["c1"], []]  # acknowledged before the next poll
    assert ea.executed == {"c1": 1}


def test_duplicate_polls_execute_once(make_ea, stub):
    ea = make_ea(duplicate_polls=True)
    ea.start()
    stub.add("c1")

    assert ea.step(wait=0) == 1

    assert stub.given == [["c1"], ["c1"]]  # both answers carry it
    assert ea.polls == 2 and ea.duplicates_skipped == 1
    assert ea.executed == {"c1": 1} and len(ea.terminal.positions) == 1
    assert len(stub.requests(protocol.ACK)) == 1  # one acknowledgement owed
    assert ea.step(wait=0) == 0
    assert stub.given[-2:] == [[], []]


def test_a_restart_reads_the_ids_file_and_does_not_execute_again(make_ea, stub, files):
    ea = make_ea()
    ea.start()
    stub.fail_acks = 1
    stub.add("c1")
    assert ea.step(wait=0) == 1
    assert "c1" not in stub.acks and len(ea.outbox) == 1
    assert ea.ids_path == files / f"TradeFlow-{LOGIN}.ids"
    stored = json.loads(ea.ids_path.read_text())["c1"]

    assert ea.restart()  # the acknowledgement owed is lost with the memory
    assert (ea.session, ea.outbox) == ("s_2", [])
    assert ea.step(wait=0) == 0

    assert stub.given[-1] == ["c1"]  # the new session is given it again
    assert stub.acks["c1"] == [stored]
    assert ea.executed == {"c1": 1} and ea.duplicates_skipped == 1
    assert len(ea.terminal.positions) == 1


def test_a_restart_without_the_files_finds_the_order_by_its_comment(make_ea, stub):
    ea = make_ea()
    ea.start()
    stub.fail_acks = 1
    stub.add("c1")
    ea.step(wait=0)
    (position,) = ea.terminal.positions

    ea.restart(keep_files=False)
    assert not ea.ids_path.exists()
    assert ea.step(wait=0) == 0

    assert stub.acks["c1"] == [
        {
            "id": "c1",
            "status": "filled",
            "retcode": 0,
            "retcode_text": "found-by-comment",
            "ticket": str(position.ticket),
            "volume": "0.10",
            "price": "1.08712",
            "time": NOW,
        }
    ]
    assert ea.executed == {"c1": 1} and len(ea.terminal.positions) == 1


def test_a_skewed_clock_changes_only_the_time_fields(door, tmp_path):
    def run(skew: int) -> list[Seen]:
        stub = door.target = StubServer(url=door.url)
        ticks = Ticks()
        ea = FakeEA(
            door.url,
            TOKEN,
            terminal(),
            tmp_path / f"skew-{skew}",
            suffix=".r",
            skew_seconds=skew,
            monotonic=ticks,
        )
        try:
            ea.start()
            stub.add("c1")
            stub.add("c2", type="limit", price="1.08500")
            ea.step(wait=0)
            ea.terminal.set_price("EURUSD.r", D("1.08480"), D("1.08492"))
            ticks.advance(1)
            ea.step(wait=0)
        finally:
            ea.close()
            door.target = None
        return stub.seen

    straight, skewed = run(0), run(3600)

    assert len(straight) == len(skewed) == 8  # hello, 2 x (beat, poll), 3 acks
    for a, b in zip(straight, skewed, strict=True):
        assert (a.method, a.path, a.query) == (b.method, b.path, b.query)
        assert {**a.body, "time": 0} == {**b.body, "time": 0}
        if a.method == "POST":
            assert (a.body["time"], b.body["time"]) == (NOW, NOW + 3600)
        else:
            assert a.body == {}


def test_after_a_refused_exit_its_entry_is_rejected_after_failed(make_ea, stub):
    ea = make_ea()
    ea.start()
    stub.add("exit", action="close", side="sell")  # nothing open
    stub.add("entry", side="sell", after="exit")
    stub.add("orphan", after="never-given")

    assert ea.step(wait=0) == 0

    def said(command_id):
        (ack,) = stub.acks[command_id]
        return ack["status"], ack["retcode"], ack["retcode_text"]

    assert said("exit") == ("rejected", 0, "no-position")
    assert said("entry") == ("rejected", 0, "after-failed")
    assert stub.acks["entry"][0] | {"time": 0} == {
        "id": "entry",
        "status": "rejected",
        "retcode": 0,
        "retcode_text": "after-failed",
        "ticket": "",
        "volume": "0.00",
        "price": "0.00000",
        "time": 0,
    }
    assert said("orphan") == ("rejected", 0, "after-failed")
    assert ea.terminal.positions == [] and ea.executed == {}


def test_a_flip_entry_runs_once_its_exit_filled(make_ea, stub):
    ea = make_ea()
    ea.start()
    stub.add("long")
    ea.step(wait=0)
    (long,) = ea.terminal.positions
    stub.add("exit", action="close", side="sell", volume="0.10")
    stub.add("entry", side="sell", volume="0.20", after="exit")

    assert ea.step(wait=0) == 2

    (short,) = ea.terminal.positions
    assert (short.side, short.volume) == ("sell", D("0.20"))
    exit_ack, entry_ack = stub.acks["exit"][0], stub.acks["entry"][0]
    assert (exit_ack["status"], exit_ack["ticket"], exit_ack["price"]) == (
        "filled",
        str(long.ticket),
        "1.08700",
    )
    assert (entry_ack["status"], entry_ack["ticket"]) == ("filled", str(short.ticket))


def test_ttl_counts_from_the_answer_on_the_monotonic_clock(make_ea, stub, ticks):
    class SlowTerminal(FakeTerminal):
        def open(self, *args, **kwargs):
            ticks.advance(1.0)  # a second at the broker
            return super().open(*args, **kwargs)

    ea = make_ea(SlowTerminal(symbols=standard_symbols(".r"), clock=lambda: NOW))
    ea.start()
    for command_id in ("c1", "c2", "c3"):
        stub.add(command_id, ttl_ms="1500")
    stub.add("c4", ttl_ms="")  # no limit
    stub.add("c5", after="c3")  # its first step expired: not filled

    assert ea.step(wait=0) == 3

    statuses = {i: stub.acks[i][0]["status"] for i in ("c1", "c2", "c3", "c4")}
    # c2 starts 1000 ms after the answer came, c3 2000 ms after.
    assert statuses == {
        "c1": "filled",
        "c2": "filled",
        "c3": "expired",
        "c4": "filled",
    }
    (expired,) = stub.acks["c3"]
    assert (expired["retcode"], expired["retcode_text"], expired["ticket"]) == (
        0,
        "",
        "",
    )
    assert stub.acks["c5"][0]["retcode_text"] == "after-failed"
    assert ea.executed == {"c1": 1, "c2": 1, "c4": 1}


def test_a_pending_order_is_acknowledged_again_when_it_fills_or_goes(
    make_ea, stub, ticks
):
    ea = make_ea()
    ea.start()
    stub.add("buy-limit", type="limit", price="1.08500", sl="1.08000")
    stub.add("sell-stop", side="sell", type="stop", price="1.08000", volume="0.2")
    assert ea.step(wait=0) == 2
    accepted = stub.acks["buy-limit"][0]
    ticket = accepted["ticket"]
    assert accepted | {"time": 0} == {
        "id": "buy-limit",
        "status": "accepted",
        "retcode": 10008,
        "retcode_text": "TRADE_RETCODE_PLACED",
        "ticket": ticket,
        "volume": "0.00",
        "price": "0.00000",
        "time": 0,
    }
    stop_ticket = stub.acks["sell-stop"][0]["ticket"]
    assert set(ea.tracked) == {"buy-limit", "sell-stop"}

    ticks.advance(1)
    ea.step(wait=0)
    orders = heartbeats(stub)[-1]["orders"]
    assert orders[0] == {
        "ticket": ticket,
        "symbol": "EURUSD",
        "side": "buy",
        "type": "limit",
        "volume": "0.10",
        "price": "1.08500",
        "magic": "20261204",
        "comment": "tf-buy-limit",
    }
    assert [set(o) for o in orders] == [protocol.ORDER_FIELDS] * 2

    ea.terminal.set_price("EURUSD.r", D("1.08488"), D("1.08500"))  # the ask touches
    ea.step(wait=0)
    assert [a["status"] for a in stub.acks["buy-limit"]] == ["accepted", "filled"]
    filled = stub.acks["buy-limit"][1]
    assert (filled["retcode"], filled["ticket"], filled["volume"], filled["price"]) == (
        10009,
        ticket,
        "0.10",
        "1.08500",
    )

    stub.add("cancel", action="cancel", ticket=stop_ticket)
    assert ea.step(wait=0) == 1
    cancel = stub.acks["cancel"][0]
    assert (cancel["status"], cancel["retcode"], cancel["ticket"]) == (
        "cancelled",
        10009,
        stop_ticket,
    )
    ea.step(wait=0)  # the next tick sees the stop order gone, unfilled
    assert [a["status"] for a in stub.acks["sell-stop"]] == ["accepted", "cancelled"]
    gone = stub.acks["sell-stop"][1]
    assert (gone["retcode"], gone["retcode_text"], gone["ticket"]) == (
        0,
        "",
        stop_ticket,
    )
    assert ea.tracked == {}
    assert json.loads(ea.ids_path.read_text())["buy-limit"]["status"] == "filled"


def test_a_restart_follows_the_accepted_orders_again(make_ea, stub):
    ea = make_ea()
    ea.start()
    stub.add("limit", type="limit", price="1.08500")
    ea.step(wait=0)
    ea.restart()
    assert set(ea.tracked) == {"limit"}
    ea.terminal.set_price("EURUSD.r", D("1.08488"), D("1.08500"))
    ea.step(wait=0)
    assert [a["status"] for a in stub.acks["limit"]] == ["accepted", "filled"]


def test_dropped_polls_back_off_then_recover(make_ea, stub):
    ea = make_ea(drop_polls=2)
    ea.start()
    stub.add("c1")
    assert ea.step(wait=0) == 0 and ea.backoff_s == 1
    assert ea.step(wait=0) == 0 and ea.backoff_s == 2
    assert stub.requests(protocol.COMMANDS) == []  # they never left
    assert ea.step(wait=0) == 1 and ea.backoff_s == 0
    assert (ea.polls, ea.failed_requests) == (1, 2)


def test_the_ids_file_keeps_the_last_500(make_ea, stub, files):
    files.mkdir(parents=True)
    old = {f"old-{i}": {"id": f"old-{i}", "status": "filled"} for i in range(500)}
    (files / f"TradeFlow-{LOGIN}.ids").write_text(json.dumps(old))
    ea = make_ea()
    ea.start()
    stub.add("old-499")  # executed before this terminal's restart
    stub.add("c1")

    assert ea.step(wait=0) == 1

    assert stub.acks["old-499"] == [old["old-499"]]
    kept = json.loads(ea.ids_path.read_text())
    assert len(kept) == 500 and "old-0" not in kept
    assert list(kept)[-1] == "c1"
    assert ea.executed == {"c1": 1}


def test_what_the_ea_refuses_before_the_terminal(make_ea, stub):
    ea = make_ea()
    ea.start()
    stub.add("unknown-symbol", symbol="GBPJPY")
    stub.add("unknown-action", action="modify")
    stub.add("tiny", volume="0.004")
    stub.add("no-order", action="cancel", ticket="999")
    ea.step(wait=0)
    ea.terminal.trade_allowed = False
    stub.add("autotrading-off")
    ea.step(wait=0)
    ea.terminal.trade_allowed, ea.terminal.market_closed = True, True
    stub.add("closed")
    ea.step(wait=0)

    said = {i: (a[0]["retcode"], a[0]["retcode_text"]) for i, a in stub.acks.items()}
    assert said == {
        "unknown-symbol": (0, "symbol-not-found"),
        "unknown-action": (10013, "TRADE_RETCODE_INVALID"),
        "tiny": (10014, "TRADE_RETCODE_INVALID_VOLUME"),
        "no-order": (0, "order-not-found"),
        "autotrading-off": (0, "trade-disabled"),
        "closed": (10018, "TRADE_RETCODE_MARKET_CLOSED"),
    }
    assert {a[0]["status"] for a in stub.acks.values()} == {"rejected"}
    assert stub.acks["no-order"][0]["ticket"] == "999"
    assert ea.executed == {"closed": 1}  # the only one that reached the broker


def test_a_close_takes_the_oldest_first_and_a_flatten_everything(make_ea, stub):
    ea = make_ea()
    ea.start()
    first = ea.terminal.open("EURUSD.r", "buy", D("0.10")).ticket
    ea.terminal.open("EURUSD.r", "buy", D("0.20"))
    ea.terminal.open("XAUUSD.r", "sell", D("1"))
    stub.add("close", action="close", side="sell", volume="0.50")
    stub.add("flatten", action="flatten", symbol="")

    assert ea.step(wait=0) == 2

    close, flatten = stub.acks["close"][0], stub.acks["flatten"][0]
    assert (close["status"], close["ticket"], close["volume"], close["price"]) == (
        "partially_filled",  # 0.30 of the 0.50 asked
        str(first),
        "0.30",
        "1.08700",
    )
    assert (flatten["status"], flatten["retcode"], flatten["ticket"]) == (
        "filled",
        10009,
        "",
    )
    assert (flatten["volume"], flatten["price"]) == ("1.00", "0.00000")
    assert ea.terminal.positions == []


def test_an_mt4_terminal_speaks_mt4_codes(make_ea, stub):
    ea = make_ea(terminal(platform="MT4"))
    ea.start()
    stub.add("c1")
    stub.add("c2", volume="0.001")
    ea.step(wait=0)
    assert (stub.seen[0].body["platform"], stub.seen[0].body["build"]) == ("MT4", 1420)
    c1, c2 = stub.acks["c1"][0], stub.acks["c2"][0]
    assert (c1["status"], c1["retcode"], c1["retcode_text"]) == (
        "filled",
        0,
        "ERR_NO_ERROR",
    )
    assert (c2["status"], c2["retcode"], c2["retcode_text"]) == (
        "rejected",
        131,
        "ERR_INVALID_TRADE_VOLUME",
    )


def test_the_loop_runs_in_a_thread(make_ea, stub):
    ea = make_ea(monotonic=time.monotonic)
    ea.start_thread(tick_s=0.01, wait=1)
    stub.add("c1")
    deadline = time.monotonic() + 5
    while "c1" not in stub.acks and time.monotonic() < deadline:
        time.sleep(0.01)
    ea.stop()
    assert ea.executed == {"c1": 1}
    assert ea.session == "s_1" and ea.polls >= 1
