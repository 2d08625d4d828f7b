"""Tradovate's user data over its WebSocket (reference/brokers.md §3.7 and the
2026-12 corrections §1.2): one connection per login, every connected account of
the login synced on it, events handed on.

The protocol: the server opens with `o`, sends `h` heartbeats and `a[...]`
frames of JSON messages, `c[code,"reason"]` before it closes. Requests are text
frames `endpoint\\nid\\nquery\\nbody`, answered `{"i", "s", "d"}`. After
`authorize` (the REST session's access token as the body) comes
`user/syncrequest` for the login's accounts and the entity types we record; its
answer is the state now, and every change after it comes as a `props` event
(`entityType`, `eventType` Created/Updated/Deleted, `entity`).

What it takes to stay connected: a `[]` heartbeat every 2.5 s (a silent client
is dropped); a server that sends nothing for `silence_seconds` (not even `h`) is
taken for gone and the connection made again; every reconnect asks for a token
afresh, and one Tradovate refuses (401: expired, or revoked when the user went
past 50 connections or 5 addresses and ours was the oldest) is dropped from the
shared store and a new session signed in. Reconnects back off with jitter; a
penalty ticket's `p-time` is waited out; after a 429 (or a captcha demand) the
socket stays away for the hour Tradovate asks, and polling carries the accounts.

Long-lived: run by the `venue_streams` process, never inside a Celery task.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import websockets

from brokers.adapters.base import VenueError

from .client import TradovateClient

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.5  # "send [] about every 2.5 s or the server drops you"
SILENCE_SECONDS = 10.0  # no frame at all from the server for this long: gone
ANSWER_SECONDS = 10.0  # how long an answer (open, authorize, sync) may take
LOCKOUT_SECONDS = 3600.0  # "Users must wait 1 hour" after a 429
MAX_FRAME = 16 * 1024 * 1024  # a large login's snapshot is one frame
ENTITY_TYPES = ("order", "executionReport", "fill", "position", "cashBalance")

Handler = Callable[[str, str, dict[str, Any]], Awaitable[None]]
TokenSource = Callable[[str | None], Awaitable[str]]


class Refused(Exception):  # noqa: N818 - a condition: Tradovate said no
    """An answer with a status other than 200."""

    def __init__(self, what: str, status: int, data: Any) -> None:
        super().__init__(f"{what}: {status} {data!r}")
        self.status = status
        self.data = data


class Unauthorized(Refused):
    """401 to `authorize`: the token is unknown, expired or revoked."""

    def __init__(self, token: str, data: Any) -> None:
        super().__init__("authorize", 401, data)
        self.token = token


class Closed(Exception):  # noqa: N818 - a condition: the server closed
    """The server sent `c`, a `shutdown` event, or went silent."""


def socket_url(api_url: str) -> str:
    """The user-data socket beside a REST base URL: https://demo.tradovateapi.com/v1
    -> wss://demo.tradovateapi.com/v1/websocket (the documented pairs, §3.1)."""
    parts = urlsplit(api_url.rstrip("/"))
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, f"{parts.path}/websocket", "", ""))


def tokens_of(client: TradovateClient) -> TokenSource:
    """The login's REST session for the socket: the shared token (renewed when
    near its end); one the socket refused is forgotten and a new one signed in
    (unless another process already did)."""

    def fresh(refused: str | None) -> str:
        if refused is not None:
            client.tokens.forget_if_holding(refused)
        return client.token()

    async def token(refused: str | None) -> str:
        return await asyncio.to_thread(fresh, refused)

    return token


def messages_of(frame: str) -> tuple[str, list[Any]]:
    """A server frame's kind (o, h, a, c) and the JSON it carries."""
    kind, payload = frame[:1], frame[1:]
    if not payload:
        return kind, []
    data = json.loads(payload)
    return kind, data if isinstance(data, list) else [data]


class UserSync:
    """One login's `user/syncrequest` connection, until `stop` is set.

    `token(refused)` gives the access token to authorize with; `refused` is the
    one Tradovate last refused (forget it, sign in again), else None. Events go to
    `on_event(entity_type, event_type, entity)`, each answer to the sync request
    (the state at connect) to `on_sync`, and `live` / `reconnecting` to
    `on_state`."""

    def __init__(
        self,
        url: str,
        token: TokenSource,
        accounts: Iterable[int],
        on_event: Handler,
        on_state: Callable[[str], Awaitable[None]] | None = None,
        *,
        on_sync: Callable[[dict[str, Any]], Awaitable[None]] | None = None,
        entity_types: Iterable[str] = ENTITY_TYPES,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        silence_seconds: float = SILENCE_SECONDS,
    ) -> None:
        self.url = url
        self.token = token
        self.accounts = sorted(set(accounts))
        self.on_event = on_event
        self.on_state = on_state
        self.on_sync = on_sync
        self.entity_types = list(entity_types)
        self.heartbeat_seconds = heartbeat_seconds
        self.silence_seconds = silence_seconds
        self.connects = 0  # connections that reached a synced state
        self.heartbeats = 0  # `[]` frames sent
        self._request = 0
        self._refused: str | None = None
        self._live = False  # the session now running reached the synced state

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, authorize, sync, hand events on; reconnect until `stop`."""
        failures = 0
        while not stop.is_set():
            pause: float | None = None  # None: the backoff's
            self._live = False
            try:
                await self._session(stop)
            except Unauthorized as exc:
                if self._refused is None:
                    pause = 0.0  # at once, with a new session
                self._refused = exc.token
                log.warning("tradovate socket: token refused (%s)", exc.data)
            except Refused as exc:
                pause = _wait_for(exc) or None
                log.warning("tradovate socket: %s", exc)
            except (
                OSError,
                websockets.WebSocketException,
                ValueError,
                Closed,
                VenueError,
            ) as exc:
                log.warning("tradovate socket: %s (attempt %s)", exc, failures + 1)
            if stop.is_set():
                break
            failures = 1 if self._live else failures + 1
            await self._state("reconnecting")
            if pause is None:
                jitter = random.uniform(0.5, 1.5)  # noqa: S311
                pause = min(30.0, 0.25 * 2 ** min(failures, 7)) * jitter
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)

    async def _state(self, state: str) -> None:
        if self.on_state is not None:
            await self.on_state(state)

    async def _session(self, stop: asyncio.Event) -> None:
        token = await self.token(self._refused)
        self._request = 0  # request ids count per connection: authorize is 0
        async with websockets.connect(
            self.url, max_size=MAX_FRAME, ping_interval=None, open_timeout=10
        ) as ws:
            kind, _ = messages_of(str(await self._recv(ws)))
            if kind != "o":
                raise ValueError(f"expected the open frame, got {kind!r}")
            beating = asyncio.ensure_future(self._beat(ws))
            stopper = asyncio.ensure_future(stop.wait())
            try:
                answer = await self._ask(ws, "authorize", token, raw=True)
                if answer.get("s") == 401:
                    raise Unauthorized(token, answer.get("d"))
                _check("authorize", answer)
                self._refused = None
                body = {
                    "splitResponses": True,
                    "accounts": self.accounts,
                    "entityTypes": self.entity_types,
                }
                answer = await self._ask(ws, "user/syncrequest", body)
                _check("user/syncrequest", answer)
                await self._synced(answer.get("d"))
                self.connects += 1
                self._live = True
                await self._state("live")
                await self._read(ws, stopper)
            finally:
                beating.cancel()
                stopper.cancel()

    async def _beat(self, ws: Any) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            await ws.send("[]")
            self.heartbeats += 1

    async def _recv(self, ws: Any) -> str:
        raw = await asyncio.wait_for(ws.recv(), timeout=self.silence_seconds)
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def _ask(
        self, ws: Any, endpoint: str, body: Any, *, raw: bool = False
    ) -> dict[str, Any]:
        """Send a request; its answer. Events that come first are handed on."""
        request_id = self._request
        self._request += 1
        text = body if raw else json.dumps(body)
        await ws.send(f"{endpoint}\n{request_id}\n\n{text}")
        async with asyncio.timeout(ANSWER_SECONDS):
            while True:
                for message in await self._frame(await self._recv(ws)):
                    if message.get("i") == request_id:
                        return message

    async def _read(self, ws: Any, stopper: asyncio.Future[Any]) -> None:
        while True:
            receiving = asyncio.ensure_future(self._recv(ws))
            done, _ = await asyncio.wait(
                {receiving, stopper}, return_when=asyncio.FIRST_COMPLETED
            )
            if stopper in done:
                receiving.cancel()
                return
            for message in await self._frame(receiving.result()):
                if message.get("i") is not None and message.get("s") == 200:
                    await self._synced(message.get("d"))  # a split answer's part
                elif message.get("s") == 429:
                    raise Refused("request", 429, message.get("d"))

    async def _frame(self, frame: str) -> list[dict[str, Any]]:
        """Hand a frame's events on; the answers in it."""
        kind, messages = messages_of(frame)
        if kind == "c":
            raise Closed(f"closed by Tradovate: {messages}")
        answers = []
        for message in messages:
            if not isinstance(message, dict):
                continue
            event = message.get("e")
            if event == "props":
                data = message.get("d") or {}
                entity = data.get("entity")
                if isinstance(entity, dict):
                    await self.on_event(
                        str(data.get("entityType")), str(data.get("eventType")), entity
                    )
            elif event == "shutdown":
                raise Closed(f"Tradovate shut the connection: {message.get('d')}")
            elif "i" in message:
                answers.append(message)
        return answers

    async def _synced(self, snapshot: Any) -> None:
        if isinstance(snapshot, dict) and self.on_sync is not None:
            await self.on_sync(snapshot)


def _check(what: str, answer: dict[str, Any]) -> None:
    status = int(answer.get("s") or 0)
    data = answer.get("d")
    if isinstance(data, dict) and data.get("p-ticket"):
        raise Refused(what, 200, data)  # a penalty ticket: wait as told
    if status != 200:
        raise Refused(what, status, data)


def _wait_for(refused: Refused) -> float:
    """How long Tradovate asked us to stay away."""
    if refused.status == 429:
        return LOCKOUT_SECONDS
    if isinstance(refused.data, dict) and refused.data.get("p-ticket"):
        if refused.data.get("p-captcha"):
            return LOCKOUT_SECONDS
        return float(refused.data.get("p-time") or 1)
    return 0.0
