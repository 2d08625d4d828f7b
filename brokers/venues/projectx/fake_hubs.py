"""The fake ProjectX's realtime hubs: SignalR's JSON protocol over a real WebSocket.

What a real ASP.NET Core SignalR server does, as far as a client can tell
(`reference/brokers.md` §1.7 and the 2026-12 corrections): `POST
/hubs/{user,market}/negotiate` answers a connection id and token (a client may
also connect without negotiating), the token comes as `?access_token=` or a
bearer header, the client's handshake `{"protocol":"json","version":1}` is
answered `{}`, every message ends with the record separator 0x1e, invocations are
completed with `{"type":3}`, pings are `{"type":6}`. The user hub sends
`GatewayUserAccount`, `GatewayUserOrder`, `GatewayUserPosition` and
`GatewayUserTrade` to the subscribers of the account, wrapped as live servers wrap
them (`{"action": 0|1|2, "data": {...}}`; `wrap = False` for the documented flat
shape), a closed position as size 0; the market hub `GatewayQuote(contractId,
data)`.

Knobs: `drop` (the next N events are lost), `duplicate` (the next N are sent
twice), `frozen` (the market feed stops while the socket stays up), `reject_stale`
(a reconnect with a used connection id is refused, as a real server does),
`logout(user)` (GatewayLogout, then close: another login displaced ours), and
`disconnect()` (every socket dropped, as a network blip).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

SEPARATOR = "\x1e"
ACTION_UPDATE = 1


@dataclass
class HubConnection:
    hub: str  # "user" | "market"
    user: str
    queue: asyncio.Queue[str | None]
    accounts: dict[str, set[int]] = field(default_factory=dict)  # kind -> ids
    contracts: set[str] = field(default_factory=set)


class FakeHubs:
    def __init__(self, authenticate: Any) -> None:
        self.authenticate = authenticate  # bearer token -> user name or None
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.connections: list[HubConnection] = []
        self.negotiated: set[str] = set()
        self.used: set[str] = set()
        self.wrap = True
        self.drop = 0
        self.duplicate = 0
        self.frozen = False
        self.reject_stale = True
        self.sent: list[tuple[str, Any]] = []  # (target, payload) as sent, for tests
        self.subscriptions: list[tuple[str, list[Any]]] = []

    # --- Publishing (from any thread) ----------------------------------------------

    def user_event(
        self, target: str, user: str, account_id: int, data: dict[str, Any]
    ) -> None:
        """An event of `user`'s account, to that user's sockets subscribed to it."""
        kind = {
            "GatewayUserOrder": "orders",
            "GatewayUserPosition": "positions",
            "GatewayUserTrade": "trades",
            "GatewayUserAccount": "accounts",
        }[target]
        payload = {"action": ACTION_UPDATE, "data": data} if self.wrap else data

        def wanted(connection: HubConnection) -> bool:
            if connection.hub != "user" or connection.user != user:
                return False
            if kind == "accounts":
                return "accounts" in connection.accounts
            return account_id in connection.accounts.get(kind, set())

        self._publish(target, [payload], wanted)

    def quote(self, contract_id: str, data: dict[str, Any]) -> None:
        if self.frozen:
            return
        self._publish(
            "GatewayQuote",
            [contract_id, data],
            lambda c: c.hub == "market" and contract_id in c.contracts,
        )

    def _publish(self, target: str, arguments: list[Any], wanted: Any) -> None:
        with self.lock:
            if self.drop:
                self.drop -= 1
                return
            times = 2 if self.duplicate else 1
            self.duplicate = max(0, self.duplicate - 1)
            frame = _frame({"type": 1, "target": target, "arguments": arguments})
            self.sent.append((target, arguments[-1]))
            for connection in self.connections:
                if wanted(connection):
                    for _ in range(times):
                        self._put(connection, frame)

    def _put(self, connection: HubConnection, frame: str | None) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(connection.queue.put_nowait, frame)

    def logout(self, user: str) -> None:
        """Another login displaced `user`: GatewayLogout on its sockets, then close."""
        with self.lock:
            for connection in self.connections:
                if connection.user == user:
                    logout = _frame(
                        {"type": 1, "target": "GatewayLogout", "arguments": []}
                    )
                    self._put(connection, logout)
                    self._put(connection, None)

    def disconnect(self) -> None:
        with self.lock:
            for connection in self.connections:
                self._put(connection, None)

    def live(self, hub: str = "user") -> int:
        with self.lock:
            return sum(1 for c in self.connections if c.hub == hub)

    # --- HTTP: negotiate -------------------------------------------------------------

    def negotiate(self, headers: dict[str, str], query: str) -> tuple[int, Any]:
        if self._user(headers, query) is None:
            return 401, b""
        connection_id = secrets.token_urlsafe(16)
        token = secrets.token_urlsafe(16)
        with self.lock:
            self.negotiated.update({connection_id, token})
        return 200, {
            "negotiateVersion": 1,
            "connectionId": connection_id,
            "connectionToken": token,
            "availableTransports": [
                {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
            ],
        }

    def _user(self, headers: dict[str, str], query: str) -> str | None:
        params = parse_qs(query)
        token = (params.get("access_token") or [""])[0]
        if not token:
            token = headers.get("authorization", "").removeprefix("Bearer ").strip()
        user: str | None = self.authenticate(token)
        return user

    # --- WebSocket -------------------------------------------------------------------

    async def serve(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.loop = asyncio.get_running_loop()
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode()
        hub = scope["path"].rstrip("/").rsplit("/", 1)[-1]
        await receive()  # websocket.connect
        user = self._user(headers, query)
        connection_id = (parse_qs(query).get("id") or [""])[0]
        stale = connection_id and (
            connection_id in self.used or connection_id not in self.negotiated
        )
        if (
            user is None
            or hub not in ("user", "market")
            or (stale and self.reject_stale)
        ):
            await send({"type": "websocket.close", "code": 1008})
            return
        if connection_id:
            self.used.add(connection_id)
        await send({"type": "websocket.accept"})
        connection = HubConnection(hub, user, asyncio.Queue())
        with self.lock:
            self.connections.append(connection)
        try:
            await self._talk(connection, receive, send)
        finally:
            with self.lock:
                self.connections.remove(connection)

    async def _talk(self, connection: HubConnection, receive: Any, send: Any) -> None:
        handshaken = False
        buffer = ""
        incoming = asyncio.ensure_future(receive())
        outgoing = asyncio.ensure_future(connection.queue.get())
        try:
            while True:
                done, _ = await asyncio.wait(
                    {incoming, outgoing}, return_when=asyncio.FIRST_COMPLETED
                )
                if outgoing in done:
                    frame = outgoing.result()
                    if frame is None:  # closed by a knob
                        await send({"type": "websocket.close", "code": 1000})
                        return
                    if handshaken:
                        await send({"type": "websocket.send", "text": frame})
                    outgoing = asyncio.ensure_future(connection.queue.get())
                if incoming in done:
                    message = incoming.result()
                    if message["type"] == "websocket.disconnect":
                        return
                    buffer += (
                        message.get("text") or (message.get("bytes") or b"").decode()
                    )
                    *frames, buffer = buffer.split(SEPARATOR)
                    for raw in frames:
                        reply = self._on_frame(connection, raw, handshaken)
                        handshaken = True
                        if reply:
                            await send({"type": "websocket.send", "text": reply})
                    incoming = asyncio.ensure_future(receive())
        finally:
            incoming.cancel()
            outgoing.cancel()

    def _on_frame(self, connection: HubConnection, raw: str, handshaken: bool) -> str:
        message = json.loads(raw)
        if not handshaken:
            ok = message.get("protocol") == "json"
            return _frame({} if ok else {"error": "Only the json protocol is served."})
        kind = message.get("type")
        if kind == 6:
            return _frame({"type": 6})
        if kind != 1:
            return ""
        target, arguments = message.get("target", ""), message.get("arguments", [])
        with self.lock:
            self.subscriptions.append((target, arguments))
            self._subscribe(connection, target, arguments)
        invocation = message.get("invocationId")
        return (
            _frame({"type": 3, "invocationId": invocation, "result": None})
            if invocation
            else ""
        )

    @staticmethod
    def _subscribe(
        connection: HubConnection, target: str, arguments: list[Any]
    ) -> None:
        verb, _, what = target.partition("Subscribe")
        kinds = {"Orders": "orders", "Positions": "positions", "Trades": "trades"}
        if what == "Accounts":
            connection.accounts.setdefault("accounts", set())
        elif what in kinds and arguments:
            ids = connection.accounts.setdefault(kinds[what], set())
            if verb == "Un":
                ids.discard(int(arguments[0]))
            else:
                ids.add(int(arguments[0]))
        elif what == "ContractQuotes" and arguments:
            if verb == "Un":
                connection.contracts.discard(str(arguments[0]))
            else:
                connection.contracts.add(str(arguments[0]))


def _frame(message: dict[str, Any]) -> str:
    return json.dumps(message) + SEPARATOR
