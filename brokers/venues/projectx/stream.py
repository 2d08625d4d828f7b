"""ProjectX's hubs over SignalR (JSON protocol) on `websockets`: per login, the
user hub (every connected account subscribed) and the market hub (quotes of the
contracts they hold), events handed on.

Small and our own (the 2026-12 notes on the libraries: pysignalr reconnects with
a stale connection id, signalrcore is thread-based), and it does what a real
server needs: negotiate before each connect (a fresh connection id every time),
the token as `access_token`, the handshake, frames split on 0x1e (a frame may be
larger than 1 MiB), a ping every 15 s, every Subscribe* invoked again after a
reconnect, reconnects with jittered backoff. Events come as live servers send
them: the model, `{"action", "data"}` around it, or a list of either; each is
handed on as one `(target, data)` per model. `GatewayLogout` (another login
displaced ours) ends the stream with `Displaced`: reconnecting would displace
the other session in turn, so the trader is told instead.

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
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
import websockets

log = logging.getLogger(__name__)

SEPARATOR = "\x1e"
PING_SECONDS = 15.0
MAX_FRAME = 16 * 1024 * 1024
USER_EVENTS = frozenset(
    {
        "GatewayUserAccount",
        "GatewayUserOrder",
        "GatewayUserPosition",
        "GatewayUserTrade",
    }
)

Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


class Displaced(Exception):  # noqa: N818 - a condition, named as ProjectX names it
    """GatewayLogout: another session of this login took over."""


def unwrap(argument: Any) -> list[dict[str, Any]]:
    """The models in one event argument: flat, wrapped in {"action","data"}, or a
    list of either (as live servers send them)."""
    items = argument if isinstance(argument, list) else [argument]
    models: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict) and "data" in item and "action" in item:
            item = item["data"]
            if isinstance(item, list):
                models.extend(m for m in item if isinstance(m, dict))
                continue
        if isinstance(item, dict):
            models.append(item)
    return models


def _ws_url(url: str) -> str:
    parts = urlsplit(url)
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))


class HubStream:
    """One hub connection for one login, until `stop` is set: `subscriptions`
    invoked after every connect, `events` handed on. With `stale_after`, a
    connection that hears no event for that long is dropped and made again (a
    feed can freeze for minutes while its socket looks healthy)."""

    events: frozenset[str] = frozenset()

    def __init__(
        self,
        hub_url: str,
        token: Callable[[], Awaitable[str]],
        on_event: Handler,
        on_state: Callable[[str], Awaitable[None]] | None = None,
        stale_after: float | None = None,
    ) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.token = token
        self.on_event = on_event
        self.on_state = on_state
        self.stale_after = stale_after
        self.connects = 0
        self.stale = 0  # connections dropped for silence
        self._invocation = 0

    def subscriptions(self) -> list[tuple[str, list[Any]]]:
        return []

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, subscribe, hand events on; reconnect with backoff until `stop`.
        Raises Displaced when ProjectX says another session took over."""
        failures = 0
        while not stop.is_set():
            try:
                await self._session(stop)
                failures = 0
            except Displaced:
                await self._state("displaced")
                raise
            except (
                OSError,
                websockets.WebSocketException,
                httpx.HTTPError,
                ValueError,
            ) as exc:
                failures += 1
                log.warning("projectx user hub: %s (attempt %s)", exc, failures)
            if stop.is_set():
                break
            await self._state("reconnecting")
            jitter = random.uniform(0.5, 1.5)  # noqa: S311
            pause = min(30.0, 0.25 * 2 ** min(failures, 7)) * jitter
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)

    async def _state(self, state: str) -> None:
        if self.on_state is not None:
            await self.on_state(state)

    async def _negotiate(self, token: str) -> str:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(
                f"{self.hub_url}/negotiate",
                params={"negotiateVersion": 1},
                headers={"Authorization": f"Bearer {token}"},
            )
        response.raise_for_status()
        body = response.json()
        return str(body.get("connectionToken") or body["connectionId"])

    async def _session(self, stop: asyncio.Event) -> None:
        token = await self.token()
        connection_id = await self._negotiate(token)
        query = urlencode({"id": connection_id, "access_token": token})
        url = f"{_ws_url(self.hub_url)}?{query}"
        async with websockets.connect(
            url, max_size=MAX_FRAME, ping_interval=None
        ) as ws:
            await ws.send(json.dumps({"protocol": "json", "version": 1}) + SEPARATOR)
            reply = await asyncio.wait_for(ws.recv(), timeout=10)
            handshake = json.loads(str(reply).split(SEPARATOR)[0] or "{}")
            if handshake.get("error"):
                raise ValueError(f"handshake refused: {handshake['error']}")
            self.connects += 1
            await self._subscribe(ws)
            await self._state("live")
            pinger = asyncio.ensure_future(self._ping(ws))
            stopper = asyncio.ensure_future(stop.wait())
            try:
                await self._read(ws, stopper)
            finally:
                pinger.cancel()
                stopper.cancel()

    async def _invoke(self, ws: Any, target: str, *arguments: Any) -> None:
        self._invocation += 1
        message = {
            "type": 1,
            "invocationId": str(self._invocation),
            "target": target,
            "arguments": list(arguments),
        }
        await ws.send(json.dumps(message) + SEPARATOR)

    async def _subscribe(self, ws: Any) -> None:
        for target, arguments in self.subscriptions():
            await self._invoke(ws, target, *arguments)

    async def _ping(self, ws: Any) -> None:
        while True:
            await asyncio.sleep(PING_SECONDS)
            await ws.send(json.dumps({"type": 6}) + SEPARATOR)

    async def _read(self, ws: Any, stopper: asyncio.Future[Any]) -> None:
        buffer = ""
        while True:
            receiving = asyncio.ensure_future(ws.recv())
            done, _ = await asyncio.wait(
                {receiving, stopper},
                timeout=self.stale_after,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if stopper in done:
                receiving.cancel()
                return
            if not done:  # silence past stale_after: a frozen feed
                receiving.cancel()
                self.stale += 1
                raise ValueError(f"no event for {self.stale_after:g} s: reconnecting")
            raw = receiving.result()
            buffer += raw.decode() if isinstance(raw, bytes) else raw
            *frames, buffer = buffer.split(SEPARATOR)
            for frame in frames:
                if frame:
                    await self._on_message(json.loads(frame))

    async def _on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == 7:  # Close
            raise ValueError(f"server closed: {message.get('error') or 'no reason'}")
        if kind != 1:
            return
        target = str(message.get("target"))
        if target == "GatewayLogout":
            raise Displaced("another session of this login took over")
        if target not in self.events:
            return
        arguments = message.get("arguments") or []
        for model in unwrap(arguments[-1] if arguments else None):
            if len(arguments) > 1:  # market events: (contractId, data)
                model = {**model, "contractId": arguments[0]}
            await self.on_event(target, model)


class UserStream(HubStream):
    """The user hub: a login's accounts, orders, positions and trades."""

    events = USER_EVENTS

    def __init__(
        self,
        hub_url: str,
        token: Callable[[], Awaitable[str]],
        accounts: Iterable[int],
        on_event: Handler,
        on_state: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(hub_url, token, on_event, on_state)
        self.accounts = sorted(set(accounts))

    def subscriptions(self) -> list[tuple[str, list[Any]]]:
        made: list[tuple[str, list[Any]]] = [("SubscribeAccounts", [])]
        for account_id in self.accounts:
            for what in ("Orders", "Positions", "Trades"):
                made.append((f"Subscribe{what}", [account_id]))
        return made


class MarketStream(HubStream):
    """The market hub: quotes of the contracts a login's accounts hold."""

    events = frozenset({"GatewayQuote"})

    def __init__(
        self,
        hub_url: str,
        token: Callable[[], Awaitable[str]],
        contracts: Iterable[str],
        on_event: Handler,
        stale_after: float | None = None,
    ) -> None:
        super().__init__(hub_url, token, on_event, None, stale_after)
        self.contracts = sorted(set(contracts))

    def subscriptions(self) -> list[tuple[str, list[Any]]]:
        return [("SubscribeContractQuotes", [c]) for c in self.contracts]
