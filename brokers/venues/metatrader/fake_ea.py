"""A faithful Python fake of TradeFlow's MetaTrader Expert Advisor
(`ea/TradeFlow.mq5`, `ea/TradeFlow.mq4`): it speaks exactly the HTTP of
docs/ea-protocol.md, with the names of `protocol.py`, and trades a simulated
terminal (`fake_terminal.FakeTerminal`) the way the MQL source trades a real one.

    terminal = FakeTerminal(symbols=standard_symbols(".r"))
    ea = FakeEA(base_url, "tfea_...", terminal, files_dir=tmp_path, suffix=".r")
    ea.start()          # OnInit: hello
    ea.step(wait=0)     # one OnTimer, deterministic
    ea.start_thread()   # or the 250 ms timer, in a thread, until ea.stop()

One `step()` is one OnTimer:

1. accepted pending orders that filled or went are acknowledged once more, and
   the acknowledgements still owed (their request failed, or its answer was not
   read) are sent;
2. a heartbeat, when none was sent yet, every `heartbeat_s` (from hello), or at
   most once a second when the account's positions, orders or balance changed or
   a trade happened;
3. one long poll, then each command in order: one whose id is in the
   executed-ids file (`TradeFlow-<login>.ids` in `files_dir`, like
   `MQL5/Files`) gets its stored acknowledgement again and is not executed; one
   not started within its `ttl_ms` of the answer's arrival (`time.monotonic()`,
   never the clock) is `expired`; one whose `after` did not fill is `rejected`
   `after-failed`; the others go to the terminal. Each acknowledgement is written
   to the file before it is sent; they are sent once all the commands ran (a
   flip's entry does not wait for its exit's acknowledgement).

A failed request (no answer, or any answer but 200, except an acknowledgement
refused with 400 or 404, which is dropped) ends the tick; `run_forever` then
waits 1, 2, 4 ... 30 s (`step()` itself never waits). A 401 or a wrong account
stops trading (`stopped`, `chart`); `409 ea-session-replaced` says hello on the
next tick, and stops trading when it happens three times in a minute. `restart()`
is a terminal restart: a new HTTP client, nothing in memory (acknowledgements
owed are lost), the ids file read again, hello again.

Knobs: `skew_seconds` (the terminal's clock is off: every "time" field sent is
shifted), `lose_ack_answers` (the next N acknowledgements reach the server but
their answers are not read: sent again on the next tick), `duplicate_polls` (each
poll sent twice in a row, both answers processed), `drop_polls` (the next N polls
fail before leaving, as when `WebRequest` returns -1).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx

from . import protocol
from .fake_terminal import (
    ZERO,
    AccountState,
    Deal,
    FakeTerminal,
    Order,
    OrderType,
    Outcome,
    Position,
    Side,
    opposite,
)

Json = dict[str, Any]

EA_VERSION = "1.0.0"
IDS_KEPT = 500  # the executed-ids file keeps the last 500 commands
COMMENT_LENGTH = 31
MAX_BACKOFF_S = 30
HEARTBEAT_MIN_S = 1.0  # an early heartbeat (the account changed) at most this often
REPLACED_LIMIT = 3  # sessions replaced within REPLACED_WINDOW_S: stop trading
REPLACED_WINDOW_S = 60.0
# Our words for `retcode_text`, sent with retcode 0 where MetaTrader has no code
# (docs/ea-protocol.md names the first three; the MQL source adds the others).
AFTER_FAILED = protocol.AFTER_FAILED
SYMBOL_NOT_FOUND = "symbol-not-found"
TRADE_DISABLED = "trade-disabled"
NO_POSITION = "no-position"
ORDER_NOT_FOUND = "order-not-found"
FOUND_BY_COMMENT = "found-by-comment"
FILLED_STATES = frozenset({protocol.FILLED, protocol.PARTIALLY_FILLED})


@dataclass(frozen=True)
class Answer:
    """What a request got back: `status` 0 when it failed client-side (WebRequest
    returned -1), `body` the JSON object ({} when there was none)."""

    status: int
    body: Json

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def code(self) -> str:
        error = self.body.get("error")
        return str(error.get("code", "")) if isinstance(error, dict) else ""

    @property
    def message(self) -> str:
        error = self.body.get("error")
        return str(error.get("message", "")) if isinstance(error, dict) else ""


@dataclass(frozen=True)
class Command:
    """One command of a poll's answer, read as the EA reads it: every value a
    string, a missing or unreadable number 0."""

    id: str
    action: str
    symbol: str
    side: str
    type: str
    volume: Decimal
    price: Decimal
    sl: Decimal
    tp: Decimal
    ticket: int
    comment: str
    magic: int
    ttl_ms: int | None
    after: str

    @classmethod
    def read(cls, raw: Json) -> Command:
        ttl = _text(raw, "ttl_ms")
        return cls(
            id=_text(raw, "id"),
            action=_text(raw, "action"),
            symbol=_text(raw, "symbol"),
            side=_text(raw, "side"),
            type=_text(raw, "type") or "market",
            volume=_number(raw, "volume"),
            price=_number(raw, "price"),
            sl=_number(raw, "sl"),
            tp=_number(raw, "tp"),
            ticket=int(_number(raw, "ticket")),
            comment=_text(raw, "comment")[:COMMENT_LENGTH],
            magic=int(_number(raw, "magic")),
            ttl_ms=int(_number(raw, "ttl_ms")) if ttl else None,
            after=_text(raw, "after"),
        )


@dataclass
class Draft:
    """A command's result as its acknowledgement will say it (the MQL source's
    `Outcome`): fills add up, and the price sent is their average."""

    status: str = protocol.REJECTED
    retcode: int = 0
    text: str = ""
    ticket: int = 0
    volume: Decimal = ZERO
    notional: Decimal = ZERO
    price_digits: int = 5
    volume_digits: int = 2

    def set(self, status: str, retcode: int, text: str) -> Draft:
        self.status, self.retcode, self.text = status, retcode, text
        return self

    def fill(self, volume: Decimal, price: Decimal) -> None:
        self.volume += volume
        self.notional += volume * price

    def ack(self, command_id: str, time: int) -> Json:
        price = self.notional / self.volume if self.volume > 0 else ZERO
        return {
            "id": command_id,
            "status": self.status,
            "retcode": self.retcode,
            "retcode_text": self.text,
            "ticket": str(self.ticket) if self.ticket > 0 else "",
            "volume": _fixed(self.volume, self.volume_digits),
            "price": _fixed(price, self.price_digits),
            "time": time,
        }


def _text(raw: Json, key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value)


def _number(raw: Json, key: str) -> Decimal:
    """`StringToDouble`: 0 for what is not a number."""
    try:
        value = Decimal(_text(raw, key).strip() or "0")
    except InvalidOperation:
        return ZERO
    return value if value.is_finite() else ZERO


def _fixed(value: Decimal, digits: int) -> str:
    """`DoubleToString(value, digits)`."""
    return f"{value.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP):f}"


def _volume_digits(step: Decimal) -> int:
    """The decimals of a volume step (0.01 -> 2, 0.1 -> 1, 1 -> 0)."""
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 2


def _whole(value: Any, default: int, low: int, high: int) -> int:
    """A number the server may send as a number or a string, clamped."""
    try:
        number = int(str(value))
    except ValueError:
        return default
    return min(max(number, low), high)


class FakeEA:
    """The Expert Advisor attached to one chart of `terminal`.

    Counters (kept across `restart()`): `polls`, `acks_sent`, `heartbeats`,
    `hellos` (requests sent), `executed` (times the terminal was asked to carry out
    each command id), `duplicates_skipped` (commands found in the ids file),
    `duplicate_acks` (answers saying `duplicate`), `failed_requests`,
    `refused_acks` (acknowledgements the server refused with 400 / 404: dropped)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        terminal: FakeTerminal,
        files_dir: Path,
        suffix: str = "",
        magic: int = 20261204,
        *,
        skew_seconds: int = 0,
        lose_ack_answers: int = 0,
        duplicate_polls: bool = False,
        drop_polls: int = 0,
        ea_version: str = EA_VERSION,
        monotonic: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._transport = transport  # a test's in-process route to the server
        self.token = token
        self.terminal = terminal
        self.files_dir = Path(files_dir)
        self.suffix = suffix
        self.magic = magic
        self.ea_version = ea_version
        self.skew_seconds = skew_seconds
        self.lose_ack_answers = lose_ack_answers
        self.duplicate_polls = duplicate_polls
        self.drop_polls = drop_polls
        self._monotonic = monotonic
        self.polls = 0
        self.acks_sent = 0
        self.heartbeats = 0
        self.hellos = 0
        self.failed_requests = 0
        self.duplicates_skipped = 0
        self.duplicate_acks = 0
        self.executed: Counter[str] = Counter()
        self.refused_acks: list[Json] = []
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._loop_args: tuple[float, int | None] = (0.25, None)
        self._client = self._new_client()
        self._forget()

    def _forget(self) -> None:
        """The EA's memory, as OnInit finds it."""
        self.session: str | None = None
        self.wait_s = 10
        self.heartbeat_s = 30
        self.stopped: str | None = None  # why trading stopped (401, wrong account)
        self.chart = ""  # what the EA prints on the chart
        self._started = False
        self._backoff_s = 0
        self._failed_at = 0.0
        self._tick_failed = False
        self._hb_sent_at: float | None = None
        self._hb_force = True
        self._digest = ""
        self._replaced = 0
        self._replaced_at: float | None = None
        self._outbox: list[Json] = []  # acknowledgements owed, oldest first
        self._tracked: dict[str, int] = {}  # command id -> accepted order's ticket
        self._ids: dict[str, Json] = {}  # command id -> its acknowledgement

    # --- Life -----------------------------------------------------------------------

    def start(self) -> bool:
        """OnInit: read the ids file, say hello. True when a session was opened."""
        self._started = True
        self._load_ids()
        return self._tick(self._hello)

    def step(self, wait: int | None = None, *, heartbeat: bool | None = None) -> int:
        """One OnTimer; returns the number of commands the terminal carried out.
        `wait` is the poll's wait (default the server's `wait_s`; 0 answers at
        once); `heartbeat` forces (True) or skips (False) the heartbeat."""
        if self.stopped is not None:
            return 0
        executed = 0

        def cycle() -> bool:
            nonlocal executed
            if self.session is None and not self._hello():
                return False
            self._scan_tracked()
            if not self._flush():
                return False
            due = self.heartbeat_due() if heartbeat is None else heartbeat
            if due and not self._heartbeat():
                return False
            ok, executed = self._poll(wait)
            return ok

        self._tick(cycle)
        return executed

    def heartbeat_due(self) -> bool:
        if self._hb_sent_at is None:
            return True
        since = self._monotonic() - self._hb_sent_at
        if since >= self.heartbeat_s:
            return True
        if since < HEARTBEAT_MIN_S:
            return False
        return self._hb_force or self._account_digest() != self._digest

    def heartbeat(self) -> bool:
        """Send one heartbeat now. True when the server took it."""
        return self.session is not None and self._tick(self._heartbeat)

    def restart(self, *, keep_files: bool = True) -> bool:
        """A terminal restart: a new HTTP client, nothing in memory (acknowledgements
        owed are lost), the ids file read again (deleted first unless
        `keep_files`), hello again. A running loop is restarted with it."""
        running = self._thread is not None
        self.stop()
        self._client.close()
        self._client = self._new_client()
        self._forget()
        if not keep_files:
            self.ids_path.unlink(missing_ok=True)
        opened = self.start()
        if running:
            tick_s, wait = self._loop_args
            self.start_thread(tick_s=tick_s, wait=wait)
        return opened

    def run_forever(
        self, stopping: threading.Event, tick_s: float = 0.25, wait: int | None = None
    ) -> None:
        """The timer: a tick every `tick_s`, none while backing off from a failure,
        until `stopping` is set or trading stops."""
        if not self._started:
            self.start()
        while not stopping.is_set() and self.stopped is None:
            if self._monotonic() - self._failed_at >= self._backoff_s:
                self.step(wait)
            stopping.wait(tick_s)

    def start_thread(self, *, tick_s: float = 0.25, wait: int | None = None) -> None:
        if self._thread is not None:
            raise RuntimeError("the EA already runs")
        self._loop_args = (tick_s, wait)
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self.run_forever,
            args=(self._stopping, tick_s, wait),
            name=f"FakeEA-{self.terminal.login}",
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the loop (once the poll in flight returns)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        self.stop()
        self._client.close()

    def __enter__(self) -> FakeEA:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- What it knows --------------------------------------------------------------

    @property
    def ids_path(self) -> Path:
        return self.files_dir / f"TradeFlow-{self.terminal.login}.ids"

    @property
    def backoff_s(self) -> int:
        """The wait before the next attempt: 0, then 1, 2, 4 ... 30 s."""
        return self._backoff_s

    @property
    def outbox(self) -> list[Json]:
        """The acknowledgements still owed, oldest first."""
        return list(self._outbox)

    @property
    def tracked(self) -> dict[str, int]:
        """Accepted pending orders followed: command id -> ticket."""
        return dict(self._tracked)

    def stored_ack(self, command_id: str) -> Json | None:
        """The acknowledgement the ids file holds for `command_id`."""
        return self._ids.get(command_id)

    # --- Requests -------------------------------------------------------------------

    def _tick(self, cycle: Callable[[], bool]) -> bool:
        """Run `cycle`; a failure (not a stop) backs off: 1, 2, 4 ... 30 s."""
        self._tick_failed = False
        ok = cycle() and not self._tick_failed
        if ok:
            self._backoff_s = 0
        elif self.stopped is None:
            self._backoff_s = min(MAX_BACKOFF_S, max(1, self._backoff_s * 2))
            self._failed_at = self._monotonic()
        return ok

    def _new_client(self) -> httpx.Client:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        return httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(5.0, connect=3.0),
            transport=self._transport,
        )

    def _request(
        self, method: str, path: str, body: Json | None = None, *, wait_s: int = 0
    ) -> Answer:
        """One WebRequest: flat ASCII JSON, read timeout `wait_s` + 5 s."""
        content = (
            b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        )
        try:
            response = self._client.request(
                method,
                path,
                content=content or None,
                timeout=httpx.Timeout(5.0, connect=3.0, read=wait_s + 5.0),
            )
        except httpx.HTTPError:
            return Answer(0, {})
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        return Answer(
            response.status_code, payload if isinstance(payload, dict) else {}
        )

    def _refused(self, answer: Answer) -> bool:
        """A request that did not answer 200: stop, say hello again, or retry on a
        later tick. Always False."""
        self._tick_failed = True
        self.failed_requests += 1
        if answer.status == 401 or answer.code == "ea-token-invalid":
            self._stop(
                "ea-token-invalid",
                "the EA token was refused: paste the current token from TradeFlow's "
                "account page",
            )
        elif answer.code == "ea-account-mismatch":
            self._stop(
                "ea-account-mismatch",
                "this token belongs to another MetaTrader account (login/server)",
            )
        elif answer.code == "ea-session-replaced":
            now = self._monotonic()
            recent = self._replaced_at is not None and (
                now - self._replaced_at < REPLACED_WINDOW_S
            )
            self._replaced = self._replaced + 1 if recent else 1
            self._replaced_at = now
            self.session = None
            if self._replaced >= REPLACED_LIMIT:
                self._stop(
                    "ea-session-replaced",
                    "another chart or terminal uses this token; keep one TradeFlow EA "
                    "per account",
                )
        return False

    def _stop(self, reason: str, sentence: str) -> None:
        self.stopped = reason
        self.session = None
        self.chart = f"TradeFlow EA {self.ea_version} ({self.terminal.platform}): "
        self.chart += f"STOPPED - {sentence}"

    def _hello(self) -> bool:
        t = self.terminal
        body: Json = {
            "platform": t.platform,
            "build": t.build,
            "ea_version": self.ea_version,
            "login": t.login,
            "server": t.server,
            "broker": t.broker,
            "currency": t.currency,
            "leverage": t.leverage,
            "hedging": t.hedging,
            "magic": self.magic,
            "suffix": self.suffix,
            "trade_allowed": t.trade_allowed,
            "time": self._time(),
        }
        self.hellos += 1
        answer = self._request("POST", protocol.HELLO, body)
        if not answer.ok:
            return self._refused(answer)
        session = answer.body.get("session")
        if not isinstance(session, str) or not session:
            return self._refused(Answer(0, {}))
        self.session = session
        self.wait_s = _whole(answer.body.get("wait_s"), 10, 0, 60)
        self.heartbeat_s = _whole(answer.body.get("heartbeat_s"), 30, 5, 3600)
        self._hb_force = True
        self.chart = f"TradeFlow EA {self.ea_version} ({t.platform}): online"
        return True

    def _heartbeat(self) -> bool:
        state = self.terminal.state()
        body: Json = {
            "session": self.session,
            "balance": _fixed(state.balance, 2),
            "equity": _fixed(state.equity, 2),
            "margin": _fixed(state.margin, 2),
            "free_margin": _fixed(state.free_margin, 2),
            "currency": self.terminal.currency,
            "connected": self.terminal.connected,
            "trade_allowed": self.terminal.trade_allowed,
            "time": self._time(),
            "positions": [self._position_row(p) for p in state.positions],
            "orders": [self._order_row(o) for o in state.orders],
        }
        self.heartbeats += 1
        answer = self._request("POST", protocol.HEARTBEAT, body)
        if not answer.ok:
            return self._refused(answer)
        self.heartbeat_s = _whole(
            answer.body.get("heartbeat_s"), self.heartbeat_s, 5, 3600
        )
        self._hb_sent_at = self._monotonic()
        self._hb_force = False
        self._digest = self._account_digest(state)
        return True

    def _poll(self, wait: int | None) -> tuple[bool, int]:
        """The long poll (twice with `duplicate_polls`), its commands executed, then
        their acknowledgements sent. Returns (no request failed, executed)."""
        seconds = self.wait_s if wait is None else wait
        answers: list[tuple[float, list[Json]]] = []
        ok = True
        for _ in range(2 if self.duplicate_polls else 1):
            if self.drop_polls > 0:
                self.drop_polls -= 1
                ok = self._refused(Answer(0, {}))
                break
            self.polls += 1
            query = httpx.QueryParams({"session": self.session or "", "wait": seconds})
            answer = self._request(
                "GET", f"{protocol.COMMANDS}?{query}", wait_s=seconds
            )
            if not answer.ok:
                ok = self._refused(answer)
                break
            received_at = self._monotonic()
            self.wait_s = _whole(answer.body.get("wait_s"), self.wait_s, 0, 60)
            commands = answer.body.get("commands")
            if isinstance(commands, list):
                answers.append(
                    (received_at, [c for c in commands if isinstance(c, dict)])
                )
        executed = 0
        for received_at, commands in answers:
            for raw in commands:
                ack, ran = self._handle(raw, received_at)
                executed += ran
                if ack is not None:
                    self._enqueue(ack)
            if commands:
                self._hb_force = True
        return self._flush() and ok, executed

    def _flush(self) -> bool:
        """Send the acknowledgements owed, in order, until one fails."""
        while self._outbox:
            self.acks_sent += 1
            answer = self._request("POST", protocol.ACK, self._outbox[0])
            if self.lose_ack_answers > 0 and answer.status != 0:
                self.lose_ack_answers -= 1
                answer = Answer(0, {})  # it reached the server; nobody read it
            if answer.status in (400, 404):
                self.refused_acks.append(self._outbox.pop(0))
                continue
            if not answer.ok:
                return self._refused(answer)
            if answer.body.get("duplicate") is True:
                self.duplicate_acks += 1
            self._outbox.pop(0)
        return True

    def _enqueue(self, ack: Json) -> None:
        if ack not in self._outbox:
            self._outbox.append(ack)

    # --- Commands -------------------------------------------------------------------

    def _handle(self, raw: Json, received_at: float) -> tuple[Json | None, bool]:
        """The acknowledgement of one command (None without an id), and whether the
        terminal was asked to carry it out. Executes a command at most once."""
        command = Command.read(raw)
        if not command.id:
            return None, False
        stored = self._ids.get(command.id)
        if stored is not None:
            self.duplicates_skipped += 1
            return stored, False  # executed before: the same answer again
        outcome, ran = self._execute(command, received_at)
        ack = outcome.ack(command.id, self._time())
        self._remember(command.id, ack)  # recorded before it is sent
        if outcome.status == protocol.ACCEPTED and outcome.ticket > 0:
            self._tracked[command.id] = outcome.ticket
        if ran:
            self.executed[command.id] += 1
        return ack, ran

    def _execute(self, command: Command, received_at: float) -> tuple[Draft, bool]:
        o = Draft()
        waited_ms = int((self._monotonic() - received_at) * 1000)
        if command.ttl_ms is not None and waited_ms > command.ttl_ms:
            # Too late to start; an open this terminal already made (its ids
            # file lost) is acknowledged from the broker, as the MQL does.
            late = command.symbol + self.suffix
            if (
                command.action == protocol.OPEN
                and command.comment
                and late in self.terminal.symbols
                and self._found_by_comment(late, command.comment, o)
            ):
                return o, False
            return o.set(protocol.EXPIRED, 0, ""), False
        if command.after:
            before = self._ids.get(command.after)
            if before is None or before.get("status") not in FILLED_STATES:
                return o.set(protocol.REJECTED, 0, AFTER_FAILED), False
        if not self.terminal.trade_allowed:
            return o.set(protocol.REJECTED, 0, TRADE_DISABLED), False
        symbol = ""
        if command.symbol:
            symbol = command.symbol + self.suffix
            info = self.terminal.symbol(symbol)
            if info is None:
                return o.set(protocol.REJECTED, 0, SYMBOL_NOT_FOUND), False
            o.price_digits = info.digits
            o.volume_digits = _volume_digits(info.volume_step)
        if command.action == protocol.FLATTEN:
            return self._flatten(symbol, o), True
        if command.action == protocol.CANCEL:
            return self._cancel(command, o)
        if not symbol and command.action in (protocol.OPEN, protocol.CLOSE):
            return o.set(protocol.REJECTED, 0, SYMBOL_NOT_FOUND), False
        if command.action == protocol.OPEN:
            return self._open(command, symbol, o)
        if command.action == protocol.CLOSE:
            return self._close(command, symbol, o)
        return self._invalid(o), False

    def _invalid(self, o: Draft) -> Draft:
        """A command the EA cannot read (an unknown action, side or type)."""
        return o.set(protocol.REJECTED, *self.terminal.retcode(Outcome.INVALID_REQUEST))

    def _open(self, command: Command, symbol: str, o: Draft) -> tuple[Draft, bool]:
        if (
            command.side not in protocol.SIDES
            or command.type not in protocol.ORDER_TYPES
        ):
            return self._invalid(o), False
        # Did this order reach the broker already (a restart without the files)?
        if command.comment and self._found_by_comment(symbol, command.comment, o):
            return o, False
        info = self.terminal.symbols[symbol]
        volume = self.terminal.normalize_volume(symbol, command.volume)
        if volume <= 0 or not info.volume_min <= volume <= info.volume_max:
            retcode = self.terminal.retcode(Outcome.INVALID_VOLUME)
            return o.set(protocol.REJECTED, *retcode), False
        kind: OrderType = "market"
        if command.type != "market":
            kind = "limit" if command.type == "limit" else "stop"
            if command.price <= 0:
                retcode = self.terminal.retcode(Outcome.INVALID_PRICE)
                return o.set(protocol.REJECTED, *retcode), False
        side: Side = "buy" if command.side == "buy" else "sell"
        result = self.terminal.open(
            symbol,
            side,
            volume,
            type=kind,
            price=command.price,
            sl=command.sl,
            tp=command.tp,
            magic=command.magic if command.magic > 0 else self.magic,
            comment=command.comment,
        )
        o.set(protocol.REJECTED, result.retcode, result.retcode_text)
        if result.placed:
            o.status, o.ticket = protocol.ACCEPTED, result.ticket
        elif result.ok:
            o.ticket = result.position
            o.fill(result.volume, result.price)
            o.status = (
                protocol.PARTIALLY_FILLED if o.volume < volume else protocol.FILLED
            )
        return o, True

    def _close(self, command: Command, symbol: str, o: Draft) -> tuple[Draft, bool]:
        """Close `volume` of the positions on the side opposite `side`, oldest first
        (no volume: all of them)."""
        if command.side not in protocol.SIDES:
            return self._invalid(o), False
        side: Side = opposite("buy" if command.side == "buy" else "sell")
        open_ = [
            p for p in self.terminal.positions if (p.symbol, p.side) == (symbol, side)
        ]
        if not open_:
            return o.set(protocol.REJECTED, 0, NO_POSITION), False
        wanted = self.terminal.normalize_volume(symbol, command.volume)
        everything = wanted <= 0
        volume = sum((p.volume for p in open_), ZERO) if everything else wanted
        result = self.terminal.close(symbol, side, volume, comment=command.comment)
        o.set(protocol.REJECTED, result.retcode, result.retcode_text)
        if result.ok:
            o.ticket = result.position
            o.fill(result.volume, result.price)
            partial = result.partial and not everything
            o.status = protocol.PARTIALLY_FILLED if partial else protocol.FILLED
        return o, True

    def _cancel(self, command: Command, o: Draft) -> tuple[Draft, bool]:
        o.ticket = command.ticket
        if command.ticket <= 0 or self.terminal.order(command.ticket) is None:
            return o.set(protocol.REJECTED, 0, ORDER_NOT_FOUND), False
        result = self.terminal.delete_order(command.ticket)
        status = protocol.CANCELLED if result.ok else protocol.REJECTED
        return o.set(status, result.retcode, result.retcode_text), True

    def _flatten(self, symbol: str, o: Draft) -> Draft:
        """Every position and pending order of `symbol`, or of the account."""
        result = self.terminal.flatten(symbol or None)
        if not result.ok:
            return o.set(protocol.REJECTED, result.retcode, result.retcode_text)
        o.fill(result.volume, result.price)
        if not symbol:
            o.notional = ZERO  # no one price across symbols
        return o.set(protocol.FILLED, result.retcode, result.retcode_text)

    def _found_by_comment(self, symbol: str, comment: str, o: Draft) -> bool:
        found: Position | Order | Deal | None
        found = self.terminal.find_by_comment(symbol, comment)
        if found is None:
            return False
        if isinstance(found, Order):
            o.set(protocol.ACCEPTED, 0, FOUND_BY_COMMENT)
            o.ticket = found.ticket
            return True
        o.set(protocol.FILLED, 0, FOUND_BY_COMMENT)
        o.ticket = found.ticket if isinstance(found, Position) else found.position
        o.fill(found.volume, found.price)
        return True

    def _scan_tracked(self) -> None:
        """Accepted pending orders that filled or went: acknowledged once more."""
        for command_id, ticket in list(self._tracked.items()):
            if self.terminal.order(ticket) is not None:
                continue  # still working
            history = self.terminal.history.get(ticket)
            if history is None:
                continue  # not in the history yet
            info = self.terminal.symbol(history.symbol)
            o = Draft(ticket=history.position or ticket)
            if info is not None:
                o.price_digits = info.digits
                o.volume_digits = _volume_digits(info.volume_step)
            if history.state == "filled":
                for deal in self.terminal.deals:
                    if deal.order == ticket:
                        o.fill(deal.volume, deal.price)
                o.set(protocol.FILLED, *self.terminal.retcode(Outcome.DONE))
            else:
                o.set(protocol.CANCELLED, 0, "")
            ack = o.ack(command_id, self._time())
            self._remember(command_id, ack)
            self._enqueue(ack)
            del self._tracked[command_id]
            self._hb_force = True

    # --- The executed-ids file ------------------------------------------------------

    def _load_ids(self) -> None:
        """{command id: its acknowledgement}, oldest first; a missing or unreadable
        file is an empty one. Accepted pending orders are followed again."""
        data: Any = {}
        try:
            data = json.loads(self.ids_path.read_text(encoding="ascii"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        self._ids = {str(k): v for k, v in data.items() if isinstance(v, dict)}
        self._tracked = {
            command_id: int(ack["ticket"])
            for command_id, ack in self._ids.items()
            if ack.get("status") == protocol.ACCEPTED
            and str(ack.get("ticket", "")).isdigit()
        }

    def _remember(self, command_id: str, ack: Json) -> None:
        """Record `ack` as the command's acknowledgement (the last 500 kept)."""
        self._ids.pop(command_id, None)
        self._ids[command_id] = ack
        while len(self._ids) > IDS_KEPT:
            del self._ids[next(iter(self._ids))]
        self.files_dir.mkdir(parents=True, exist_ok=True)
        aside = self.ids_path.with_name(self.ids_path.name + ".tmp")
        aside.write_text(json.dumps(self._ids), encoding="ascii")
        aside.replace(self.ids_path)

    # --- Helpers --------------------------------------------------------------------

    def _time(self) -> int:
        """`TimeGMT()`, with the terminal's clock off by `skew_seconds`."""
        return self.terminal.now() + self.skew_seconds

    def _tradeflow_name(self, name: str) -> str:
        if self.suffix and len(name) > len(self.suffix) and name.endswith(self.suffix):
            return name[: -len(self.suffix)]
        return name

    def _position_row(self, p: Position) -> Json:
        info = self.terminal.symbols[p.symbol]
        return {
            "ticket": str(p.ticket),
            "symbol": self._tradeflow_name(p.symbol),
            "side": p.side,
            "volume": _fixed(p.volume, _volume_digits(info.volume_step)),
            "price": _fixed(p.price, info.digits),
            "sl": _fixed(p.sl, info.digits),
            "tp": _fixed(p.tp, info.digits),
            "profit": _fixed(p.profit, 2),
            "magic": str(p.magic),
            "comment": p.comment,
        }

    def _order_row(self, o: Order) -> Json:
        info = self.terminal.symbols[o.symbol]
        return {
            "ticket": str(o.ticket),
            "symbol": self._tradeflow_name(o.symbol),
            "side": o.side,
            "type": o.type,
            "volume": _fixed(o.volume, _volume_digits(info.volume_step)),
            "price": _fixed(o.price, info.digits),
            "magic": str(o.magic),
            "comment": o.comment,
        }

    def _account_digest(self, state: AccountState | None = None) -> str:
        """The MQL `Digest()`: it changes when positions, orders or the balance do
        (not with the floating profit)."""
        state = state or self.terminal.state()
        lots = sum((p.volume for p in state.positions), ZERO)
        lots += sum((o.volume for o in state.orders), ZERO)
        return (
            f"{len(state.positions)}/{len(state.orders)}/"
            f"{_fixed(lots, 8)}/{_fixed(state.balance, 2)}"
        )
