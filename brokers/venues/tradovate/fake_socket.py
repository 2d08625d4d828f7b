"""The fake Tradovate's WebSocket: the user-data protocol over a real WebSocket,
on the REST fake's own port, at `/v1/websocket` (as Tradovate serves it beside
`/v1`, reference/brokers.md §3.1, §3.7 and the 2026-12 corrections §1.2).

What a client sees, as the docs and the vendor's samples describe it: the server
opens with an `o` frame, sends `h` heartbeats, `a[...]` frames carrying a JSON
array of messages and `c[code,"reason"]` before it closes. A request is a text
frame `endpoint\\nid\\nquery\\nbody`; its answer is `{"i": id, "s": status,
"d": ...}` inside an `a` frame. `authorize` takes the access token as its body
(an unknown or expired one: `s` 401). `user/syncrequest` (`splitResponses`,
`accounts` or `users`, `entityTypes`: nothing is sent for types not named)
answers the login's state (`orders`, `executionReports`, `fills`, `positions`,
`cashBalances`, and `users`/`accounts` when named) and from then on pushes
`{"e": "props", "d": {"entityType", "eventType": Created|Updated|Deleted,
"entity"}}` whenever the REST fake's state changes (its `listeners` hook): an
order placed, filled or cancelled, its execution report, the fill, the position,
the cash balance. A client sends `[]` about every 2.5 s; one silent for
`silence_seconds` is closed.

Limits (connection-overview page): 50 connections per user and 5 distinct
addresses; past either "the server closes your oldest connection and revokes its
token" — here with a `shutdown` event first. The address is the peer's, so a
test may give `X-Forwarded-For` (uvicorn trusts it from loopback).

Knobs (`FakeSocket.knobs`): `heartbeats` (False: the server stops sending `h`),
`heartbeat_seconds`, `silence_seconds`, `delay` (seconds before each `a` frame
goes out), `max_connections`, `max_addresses`; and `drop()` (every socket closed
at once, without a `c` frame: a network blip).

Our assumptions, not documented: the close reasons' wording and codes; the
`shutdown` event's `reasonCode` values (`ConnectionQuotaReached`,
`IPQuotaReached`); the silence a server tolerates (10 s here); the execution
report's fields beyond {id, orderId, accountId, contractId, execType, ordStatus,
action, cumQty, avgPx, lastQty, lastPx, timestamp}; and the snapshot comes as one
answer (with `splitResponses` a real server may split it into several answers of
the same id: a client should take each as part of it). Endpoints other than
`authorize` and `user/syncrequest` are not served over the socket here (404).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from .fake_market import FakeMarket
from .fake_world import (
    ACCESS_DENIED,
    FakeAccount,
    FakeOrder,
    _iso,
    _json_default,
    _now,
    _num,
    _trade_date_body,
)
from .mapping import OrdStatus

PATH = "/v1/websocket"
# Entity types served, in the order one change's events go out.
ENTITY_TYPES = ("order", "executionReport", "fill", "position", "cashBalance")
SNAPSHOT_KEYS = {
    "order": "orders",
    "executionReport": "executionReports",
    "fill": "fills",
    "position": "positions",
    "cashBalance": "cashBalances",
}
EXEC_TYPES = {
    OrdStatus.WORKING: "New",
    OrdStatus.SUSPENDED: "Suspended",
    OrdStatus.FILLED: "Trade",
    OrdStatus.CANCELED: "Canceled",
    OrdStatus.REJECTED: "Rejected",
    OrdStatus.EXPIRED: "Expired",
}
TICK = 0.05  # how often a connection's clock looks at heartbeats and silence

Close = tuple[int, str]  # a close frame's code and reason
Outgoing = str | Close | None  # a frame, a close with `c`, or a drop (None)
Entities = dict[tuple[str, int], tuple[int, dict[str, Any]]]


@dataclass
class Knobs:
    heartbeats: bool = True
    heartbeat_seconds: float = 2.5
    silence_seconds: float = 10.0
    delay: float = 0.0
    max_connections: int = 50
    max_addresses: int = 5


@dataclass
class SocketConnection:
    id: int
    address: str
    queue: asyncio.Queue[Outgoing]
    heard: float  # time.monotonic() of the client's last frame
    user: str | None = None  # once authorized
    token: str | None = None
    accounts: set[int] | None = None  # once synced
    entity_types: frozenset[str] = frozenset()
    heartbeats: int = 0  # `[]` frames heard
    closed: str = ""  # why the server closed it, if it did


@dataclass
class _Cash:
    amount: Decimal
    realized: Decimal
    at: datetime
    id: int


@dataclass
class FakeSocket:
    """The WebSocket side of one FakeTradovate (its market, fake_market.py); state
    shared under its lock."""

    fake: FakeMarket
    knobs: Knobs = field(default_factory=Knobs)
    connections: list[SocketConnection] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # endpoint, body
    sent: list[dict[str, Any]] = field(default_factory=list)  # props published
    evicted: list[tuple[int, str]] = field(default_factory=list)  # id, reasonCode
    opened: int = 0
    loop: asyncio.AbstractEventLoop | None = None

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._entity_ids = itertools.count(900_001)
        self._seen: Entities = {}
        self._cash: dict[int, _Cash] = {}
        self._reports: list[tuple[int, dict[str, Any]]] = []  # (account, body)
        self.fake.listeners.append(self.changed)

    # --- For tests ------------------------------------------------------------------

    def live(self, user: str | None = None) -> int:
        """Open connections that are authorized (of `user`, if named)."""
        with self.fake.lock:
            return sum(
                1
                for c in self.connections
                if c.user and not c.closed and (user is None or c.user == user)
            )

    def synced(self) -> int:
        with self.fake.lock:
            return sum(1 for c in self.connections if c.accounts is not None)

    def drop(self) -> None:
        """Every socket closed at once, no `c` frame: the network went away."""
        with self.fake.lock:
            for connection in self.connections:
                self._put(connection, None)

    # --- The REST fake's state, as entities -------------------------------------------

    def changed(self) -> None:
        """The REST fake's state may have moved: push what did to the synced."""
        with self.fake.lock:
            now = self._entities()
            events: list[tuple[int, str, str, dict[str, Any]]] = []
            for key, (account_id, body) in now.items():
                before = self._seen.get(key)
                if before is not None and before[1] == body:
                    continue
                kind = "Created" if before is None else "Updated"
                events.append((account_id, key[0], kind, body))
                if key[0] == "order" and (
                    before is None or before[1]["ordStatus"] != body["ordStatus"]
                ):
                    report = self._report(self.fake.orders[key[1]])
                    self._reports.append((account_id, report))
                    events.append((account_id, "executionReport", "Created", report))
            for key in self._seen.keys() - now.keys():
                account_id, body = self._seen[key]
                events.append((account_id, key[0], "Deleted", body))
            self._seen = now
            events.sort(key=lambda event: ENTITY_TYPES.index(event[1]))
            self._publish(events)

    def _entities(self) -> Entities:
        fake = self.fake
        found: Entities = {}
        for order in fake.orders.values():
            found[("order", order.id)] = (order.account_id, order.body())
        for fill in fake.fills:
            owner = fake.orders[int(fill["orderId"])].account_id
            found[("fill", int(fill["id"]))] = (owner, dict(fill))
        for key in fake.positions:
            position = fake._position_body(key)
            found[("position", int(position["id"]))] = (key[0], position)
        for account in fake.accounts.values():
            cash = self._cash_body(account)
            found[("cashBalance", int(cash["id"]))] = (account.id, cash)
        return found

    def _cash_body(self, account: FakeAccount) -> dict[str, Any]:
        """The account's CashBalance; its timestamp moves only when it does."""
        kept = self._cash.get(account.id)
        if kept is None:
            kept = _Cash(account.balance, account.realized, _now(), 0)
            kept.id = next(self._entity_ids)
            self._cash[account.id] = kept
        elif (kept.amount, kept.realized) != (account.balance, account.realized):
            kept.amount, kept.realized, kept.at = (
                account.balance,
                account.realized,
                _now(),
            )
        return {
            "id": kept.id,
            "accountId": account.id,
            "timestamp": _iso(kept.at),
            "tradeDate": _trade_date_body(kept.at),
            "currencyId": 1,  # USD
            "amount": _num(kept.amount),
            "realizedPnL": _num(kept.realized),
            "weekRealizedPnL": _num(kept.realized),
        }

    def _report(self, order: FakeOrder) -> dict[str, Any]:
        filled = order.status == OrdStatus.FILLED
        report: dict[str, Any] = {
            "id": next(self._entity_ids),
            "orderId": order.id,
            "accountId": order.account_id,
            "contractId": order.contract_id,
            "timestamp": _iso(order.updated or order.created),
            "execType": EXEC_TYPES.get(order.status, "OrderStatus"),
            "ordStatus": str(order.status),
            "action": str(order.action),
            "cumQty": order.filled_qty,
        }
        if filled and order.avg_price is not None:
            report.update(
                avgPx=_num(order.avg_price),
                lastQty=order.filled_qty,
                lastPx=_num(order.avg_price),
            )
        return report

    def _publish(self, events: list[tuple[int, str, str, dict[str, Any]]]) -> None:
        """One `a` frame per synced connection, with its accounts' events."""
        for connection in self.connections:
            if connection.accounts is None or connection.closed:
                continue
            messages = [
                {
                    "e": "props",
                    "d": {"entityType": kind, "eventType": event, "entity": body},
                }
                for account_id, kind, event, body in events
                if account_id in connection.accounts and kind in connection.entity_types
            ]
            if messages:
                self.sent.extend(messages)
                self._put(connection, _frame(messages))

    def _put(self, connection: SocketConnection, item: Outgoing) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(connection.queue.put_nowait, item)

    # --- Requests ---------------------------------------------------------------------

    def _on_text(self, connection: SocketConnection, text: str) -> str | None:
        """A client frame; the answer frame, if it has one."""
        connection.heard = time.monotonic()
        if text.strip() == "[]":
            connection.heartbeats += 1
            return None
        endpoint, _, rest = text.partition("\n")
        raw_id, _, rest = rest.partition("\n")
        _query, _, body = rest.partition("\n")
        try:
            request_id = int(raw_id)
        except ValueError:
            return None  # not a request: a real server ignores it too [I]
        endpoint = endpoint.strip().lower()
        with self.fake.lock:
            self.requests.append((endpoint, body))
            if endpoint == "authorize":
                return self._authorize(connection, request_id, body.strip())
            if connection.user is None:
                return _answer(request_id, 401, ACCESS_DENIED)
            if endpoint == "user/syncrequest":
                return self._sync(connection, request_id, body)
            return _answer(request_id, 404, f"{endpoint} is not served here")

    def _authorize(self, connection: SocketConnection, i: int, token: str) -> str:
        found = self.fake.tokens.get(token)
        if found is None or found[1] <= _now():
            return _answer(i, 401, ACCESS_DENIED)
        connection.user, connection.token = found[0], token
        self._make_room(connection)
        return _answer(i, 200, None)

    def _make_room(self, new: SocketConnection) -> None:
        """Past the limits, the user's oldest connections go, their tokens revoked."""
        while True:
            others = [
                c
                for c in self.connections
                if c is not new and c.user == new.user and not c.closed
            ]
            addresses = {c.address for c in others} | {new.address}
            if len(others) + 1 > self.knobs.max_connections:
                self._evict(others[0], "ConnectionQuotaReached")
            elif len(addresses) > self.knobs.max_addresses:
                elsewhere = [c for c in others if c.address != new.address]
                self._evict(elsewhere[0], "IPQuotaReached")
            else:
                return

    def _evict(self, connection: SocketConnection, reason: str) -> None:
        connection.closed = reason
        if connection.token:
            self.fake.tokens.pop(connection.token, None)
        self.evicted.append((connection.id, reason))
        shutdown = {"e": "shutdown", "d": {"reasonCode": reason, "reason": reason}}
        self._put(connection, _frame([shutdown]))
        self._put(connection, (1000, "Connection limit reached"))

    def _sync(self, connection: SocketConnection, i: int, body: str) -> str:
        try:
            request = json.loads(body or "{}")
        except ValueError:
            return _answer(i, 400, "Malformed JSON")
        user = self.fake.users[str(connection.user)]
        mine = {a.id for a in self.fake.accounts.values() if a.user == user.name}
        asked = request.get("accounts")
        users = request.get("users")
        if asked is not None and not {int(a) for a in asked} <= mine:
            return _answer(i, 401, ACCESS_DENIED)
        if users is not None and [int(u) for u in users] != [user.id]:
            return _answer(i, 401, ACCESS_DENIED)
        accounts = {int(a) for a in asked} if asked is not None else mine
        types = frozenset(str(t) for t in request.get("entityTypes") or [])
        self.changed()  # the baseline the snapshot and later events share
        snapshot: dict[str, Any] = {}
        for kind, key in SNAPSHOT_KEYS.items():
            if kind not in types:
                continue
            owned = (
                self._reports
                if kind == "executionReport"
                else [(a, b) for (k, _), (a, b) in self._seen.items() if k == kind]
            )
            snapshot[key] = [body for a, body in owned if a in accounts]
        if "user" in types:
            snapshot["users"] = [{"id": user.id, "name": user.name, "status": "Active"}]
        if "account" in types:
            snapshot["accounts"] = [
                self.fake.accounts[a].body(user.id) for a in sorted(accounts)
            ]
        connection.accounts, connection.entity_types = accounts, types
        return _answer(i, 200, snapshot)

    # --- ASGI -------------------------------------------------------------------------

    async def serve(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.loop = asyncio.get_running_loop()
        await receive()  # websocket.connect
        if scope["path"].rstrip("/").lower() != PATH:
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "websocket.accept"})
        client = scope.get("client") or ("unknown", 0)
        connection = SocketConnection(
            next(self._ids), str(client[0]), asyncio.Queue(), time.monotonic()
        )
        with self.fake.lock:
            self.connections.append(connection)
            self.opened += 1
        clock = asyncio.ensure_future(self._clock(connection))
        try:
            await send({"type": "websocket.send", "text": "o"})
            await self._talk(connection, receive, send)
        finally:
            clock.cancel()
            with self.fake.lock:
                self.connections.remove(connection)

    async def _clock(self, connection: SocketConnection) -> None:
        """Server heartbeats, and the close of a client gone silent."""
        beat = time.monotonic() + self.knobs.heartbeat_seconds
        while True:
            await asyncio.sleep(TICK)
            now = time.monotonic()
            if now - connection.heard > self.knobs.silence_seconds:
                connection.closed = connection.closed or "silent"
                connection.queue.put_nowait((1000, "Heartbeat timeout"))
                return
            if now >= beat:
                beat = now + self.knobs.heartbeat_seconds
                if self.knobs.heartbeats:
                    connection.queue.put_nowait("h")

    async def _talk(
        self, connection: SocketConnection, receive: Any, send: Any
    ) -> None:
        incoming = asyncio.ensure_future(receive())
        outgoing = asyncio.ensure_future(connection.queue.get())
        try:
            while True:
                done, _ = await asyncio.wait(
                    {incoming, outgoing}, return_when=asyncio.FIRST_COMPLETED
                )
                if outgoing in done:
                    item = outgoing.result()
                    if item is None:  # dropped
                        await send({"type": "websocket.close", "code": 1011})
                        return
                    if isinstance(item, tuple):
                        code, reason = item
                        await self._send(send, f"c{json.dumps([code, reason])}")
                        await send({"type": "websocket.close", "code": code})
                        return
                    await self._send(send, item)
                    outgoing = asyncio.ensure_future(connection.queue.get())
                if incoming in done:
                    message = incoming.result()
                    if message["type"] == "websocket.disconnect":
                        return
                    text = message.get("text") or (message.get("bytes") or b"").decode()
                    answer = self._on_text(connection, text)
                    if answer is not None:
                        await self._send(send, answer)
                    incoming = asyncio.ensure_future(receive())
        finally:
            incoming.cancel()
            outgoing.cancel()

    async def _send(self, send: Any, frame: str) -> None:
        if frame.startswith("a") and self.knobs.delay:
            await asyncio.sleep(self.knobs.delay)
        await send({"type": "websocket.send", "text": frame})


def _frame(messages: list[dict[str, Any]]) -> str:
    return "a" + json.dumps(messages, default=_json_default)


def _answer(request_id: int, status: int, data: Any) -> str:
    message: dict[str, Any] = {"i": request_id, "s": status}
    if data is not None:
        message["d"] = data
    return _frame([message])
