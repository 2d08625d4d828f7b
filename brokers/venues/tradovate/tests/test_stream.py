"""The user-data socket client against the fake: it syncs the login's accounts
and hands their events on, heartbeats, comes back after a drop or a silent
server, and after the 50-connection limit closed it, with a new session."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import websockets

from brokers.venues.tradovate.client import Login, TradovateClient
from brokers.venues.tradovate.stream import UserSync, socket_url, tokens_of

from .conftest import CID, PASSWORD, SEC, USER

Events = list[tuple[str, str, dict[str, Any]]]


@pytest.fixture
def client(fake) -> Iterator[TradovateClient]:
    made = TradovateClient(Login(fake.url, USER, PASSWORD, CID, SEC, "device-1"))
    yield made
    made.close()


@pytest.fixture
def market(fake):
    account = fake.account(USER, "DEMO1", balance=Decimal(50_000))
    contract = fake.contract_for("MNQZ26")
    fake.price(contract.id, Decimal(21000))
    return account, contract


class Run:
    """What one stream saw while a test acted."""

    def __init__(self) -> None:
        self.events: Events = []
        self.syncs: list[dict[str, Any]] = []
        self.states: list[str] = []
        self.refused: list[str | None] = []  # what each token request said


def run_stream(
    fake,
    client,
    account_id: int,
    body: Callable[[UserSync, Run], Awaitable[Any]],
    **options: Any,
) -> Any:
    async def main() -> Any:
        seen = Run()
        source = tokens_of(client)

        async def token(refused: str | None) -> str:
            seen.refused.append(refused)
            return await source(refused)

        async def on_event(kind: str, event: str, entity: dict[str, Any]) -> None:
            seen.events.append((kind, event, entity))

        async def on_sync(snapshot: dict[str, Any]) -> None:
            seen.syncs.append(snapshot)

        async def on_state(state: str) -> None:
            seen.states.append(state)

        stream = UserSync(
            socket_url(fake.url),
            token,
            [account_id],
            on_event,
            on_state,
            on_sync=on_sync,
            **options,
        )
        stop = asyncio.Event()
        task = asyncio.ensure_future(stream.run(stop))
        try:
            return await asyncio.wait_for(body(stream, seen), timeout=30)
        finally:
            stop.set()
            await asyncio.wait([task], timeout=5)
            if task.done() and not task.cancelled() and task.exception():
                raise task.exception()  # type: ignore[misc]

    return asyncio.run(main())


async def until(check: Callable[[], bool]) -> None:
    while not check():
        await asyncio.sleep(0.02)


def place(client, account, contract, **order: Any) -> int:
    body = {
        "accountSpec": account.name,
        "accountId": account.id,
        "action": "Buy",
        "symbol": contract.name,
        "orderQty": 1,
        "orderType": "Market",
        "isAutomated": True,
        **order,
    }
    return int(client.place(body)["orderId"])


def test_it_syncs_the_accounts_then_hands_on_an_order_and_its_fill(
    fake, client, market
):
    account, contract = market

    async def body(stream, seen):
        await until(lambda: "live" in seen.states)
        order_id = await asyncio.to_thread(
            place, client, account, contract, orderType="Limit", price=20990
        )
        await until(lambda: len(seen.events) >= 2)
        await asyncio.to_thread(fake.price, contract.id, Decimal(20990))
        await until(lambda: any(kind == "position" for kind, _, _ in seen.events))
        return order_id

    order_id = run_stream(fake, client, account.id, body)
    [sync_request] = _syncs(fake)
    assert f'"accounts": [{account.id}]' in sync_request
    order_events = [(kind, event) for kind, event, _ in _events(fake)]
    assert order_events == [
        ("order", "Created"),
        ("executionReport", "Created"),
        ("order", "Updated"),
        ("executionReport", "Created"),
        ("fill", "Created"),
        ("position", "Created"),
    ]
    filled = [e for k, _, e in _events(fake) if k == "order"][-1]
    assert (filled["id"], filled["ordStatus"]) == (order_id, "Filled")


def _events(fake) -> Events:
    return [
        (m["d"]["entityType"], m["d"]["eventType"], m["d"]["entity"])
        for m in fake.socket.sent
    ]


def _syncs(fake) -> list[str]:
    return [b for e, b in fake.socket.requests if e == "user/syncrequest"]


def test_the_events_handed_on_are_the_ones_the_server_sent(fake, client, market):
    account, contract = market

    async def body(stream, seen):
        await until(lambda: "live" in seen.states)
        await asyncio.to_thread(place, client, account, contract)
        await until(lambda: len(seen.events) >= 4)
        return seen

    seen = run_stream(fake, client, account.id, body)
    assert seen.events == _events(fake)
    assert [set(s) for s in seen.syncs] == [
        {"orders", "executionReports", "fills", "positions", "cashBalances"}
    ]


def test_heartbeats_keep_the_connection_and_without_them_the_server_drops_it(
    fake, client, market
):
    account, _ = market
    fake.socket.knobs.silence_seconds = 1.0

    async def beating(stream, seen):
        await until(lambda: stream.heartbeats >= 50)  # two silences' worth
        [connection] = fake.socket.connections
        return stream.connects, connection.heartbeats

    connects, heard = run_stream(
        fake, client, account.id, beating, heartbeat_seconds=0.05
    )
    assert connects == 1 and heard >= 45

    async def silent(stream, seen):
        await until(lambda: stream.connects >= 2)  # dropped for silence, back
        return seen.states

    states = run_stream(fake, client, account.id, silent, heartbeat_seconds=60)
    assert states[:3] == ["live", "reconnecting", "live"]


def test_a_server_that_stops_beating_is_taken_for_gone_and_dialled_again(
    fake, client, market
):
    account, _ = market
    fake.socket.knobs.heartbeat_seconds = 0.05

    async def body(stream, seen):
        await until(lambda: stream.connects == 1)
        fake.socket.knobs.heartbeats = False  # the socket stays up, silent
        await until(lambda: "reconnecting" in seen.states)
        fake.socket.knobs.heartbeats = True
        await until(lambda: stream.connects >= 2)

    run_stream(fake, client, account.id, body, silence_seconds=1.0)
    assert fake.socket.opened >= 2


def test_after_a_drop_it_reconnects_syncs_again_and_events_flow(fake, client, market):
    account, contract = market

    async def body(stream, seen):
        await until(lambda: stream.connects == 1 and fake.socket.synced() == 1)
        fake.socket.drop()  # a network blip
        await until(lambda: stream.connects == 2 and fake.socket.synced() == 1)
        await asyncio.to_thread(place, client, account, contract)
        await until(lambda: any(kind == "fill" for kind, _, _ in seen.events))
        return seen

    seen = run_stream(fake, client, account.id, body)
    assert len(_syncs(fake)) == 2 and len(seen.syncs) == 2
    assert seen.states[:3] == ["live", "reconnecting", "live"]
    assert seen.refused == [None, None]  # a token asked for at each connect


def test_closed_as_the_oldest_past_50_it_signs_in_afresh_and_comes_back(
    fake, client, market
):
    account, _ = market
    other = fake.login({"name": USER, "password": PASSWORD, "cid": CID, "sec": SEC})

    async def crowd() -> list[Any]:
        """Another program of the trader's opens 50 sockets of its own."""
        opened = []
        for _ in range(50):
            ws = await websockets.connect(socket_url(fake.url), ping_interval=None)
            await ws.recv()  # o
            await ws.send(f"authorize\n0\n\n{other['accessToken']}")
            await ws.recv()
            opened.append(ws)
        return opened

    async def body(stream, seen):
        await until(lambda: stream.connects == 1)
        first = client.tokens.get()[0]
        others = await crowd()
        await until(lambda: stream.connects == 2)
        for ws in others:
            await ws.close()
        return first, client.tokens.get()[0], seen.refused

    first, now, refused = run_stream(fake, client, account.id, body)
    # The stored token was tried again, refused, forgotten, and a new one made.
    assert refused == [None, None, first]
    assert fake.socket.evicted[0][1] == "ConnectionQuotaReached"
    assert first not in fake.tokens and now in fake.tokens  # a new session
    assert now != first
    assert fake.socket.live(USER) <= 50
