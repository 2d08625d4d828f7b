"""The fake's WebSocket speaks Tradovate's protocol, seen from a bare client:
the open frame, authorize, user/syncrequest and its props events, heartbeats
both ways, and the connection limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
import websockets

from brokers.venues.tradovate.client import Login, TradovateClient
from brokers.venues.tradovate.stream import messages_of, socket_url

from .conftest import CID, PASSWORD, SEC, USER


class Bare:
    """One socket to the fake, read frame by frame."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0

    async def frame(self, seconds: float = 5) -> str:
        return str(await asyncio.wait_for(self.ws.recv(), timeout=seconds))

    async def messages(self, seconds: float = 5) -> list[Any]:
        """The next `a` frame's messages (heartbeats skipped)."""
        while True:
            kind, messages = messages_of(await self.frame(seconds))
            if kind == "a":
                return messages

    async def ask(self, endpoint: str, body: Any) -> dict[str, Any]:
        request_id, self.next_id = self.next_id, self.next_id + 1
        text = body if isinstance(body, str) else json.dumps(body)
        await self.ws.send(f"{endpoint}\n{request_id}\n\n{text}")
        while True:
            for message in await self.messages():
                if message.get("i") == request_id:
                    return message


def token_of(fake) -> str:
    """A new session at the fake, as `auth/accesstokenrequest` gives it."""
    body = {"name": USER, "password": PASSWORD, "cid": CID, "sec": SEC}
    return str(fake.login(body)["accessToken"])


def run(body: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(body(), timeout=30))


async def opened(fake, *, address: str | None = None) -> Bare:
    headers = {"X-Forwarded-For": address} if address else None
    ws = await websockets.connect(
        socket_url(fake.url), additional_headers=headers, ping_interval=None
    )
    bare = Bare(ws)
    assert await bare.frame() == "o"
    return bare


async def authorized(fake, token: str, *, address: str | None = None) -> Bare:
    bare = await opened(fake, address=address)
    answer = await bare.ask("authorize", token)
    assert answer == {"i": 0, "s": 200}
    return bare


def test_authorize_takes_a_live_token_and_refuses_any_other(fake):
    async def body():
        bare = await opened(fake)
        refused = await bare.ask("authorize", "not-a-token")
        assert (refused["s"], refused["d"]) == (401, "Access is denied")
        before = await bare.ask("user/syncrequest", {"splitResponses": True})
        assert before["s"] == 401  # nothing is served before authorize
        assert (await bare.ask("authorize", token_of(fake)))["s"] == 200
        await bare.ws.close()

    run(body)
    assert fake.socket.requests[0] == ("authorize", "not-a-token")


def test_sync_answers_the_state_then_pushes_a_fill_as_props_events(fake):
    account = fake.account(USER, "DEMO1", balance=Decimal(50_000))
    other = fake.account(USER, "DEMO2", balance=Decimal(25_000))
    contract = fake.contract_for("MNQZ26")
    fake.price(contract.id, Decimal(21000))
    client = TradovateClient(Login(fake.url, USER, PASSWORD, CID, SEC, "device-1"))

    async def body():
        bare = await authorized(fake, token_of(fake))
        answer = await bare.ask(
            "user/syncrequest",
            {
                "splitResponses": True,
                "accounts": [account.id],
                "entityTypes": ["order", "fill", "position", "cashBalance"],
            },
        )
        assert answer["s"] == 200
        state = answer["d"]
        assert set(state) == {"orders", "fills", "positions", "cashBalances"}
        assert [c["accountId"] for c in state["cashBalances"]] == [account.id]
        assert state["cashBalances"][0]["amount"] == 50_000
        for venue_account in (other, account):  # only the synced one's events
            await asyncio.to_thread(
                client.place,
                {
                    "accountSpec": venue_account.name,
                    "accountId": venue_account.id,
                    "action": "Buy",
                    "symbol": contract.name,
                    "orderQty": 1,
                    "orderType": "Market",
                    "isAutomated": True,
                },
            )
        [*events] = await bare.messages()
        await bare.ws.close()
        return events

    events = run(body)
    client.close()
    assert {e["e"] for e in events} == {"props"}
    kinds = [(e["d"]["entityType"], e["d"]["eventType"]) for e in events]
    # The market order was made and filled in one call: Created as filled.
    assert kinds == [("order", "Created"), ("fill", "Created"), ("position", "Created")]
    order, fill, position = (e["d"]["entity"] for e in events)
    assert (order["accountId"], order["ordStatus"]) == (account.id, "Filled")
    assert (fill["orderId"], fill["qty"], fill["price"]) == (order["id"], 1, 21000)
    assert (position["netPos"], position["netPrice"]) == (1, 21000)


def test_a_resting_order_and_its_fill_come_as_updates_with_an_execution_report(
    fake,
):
    account = fake.account(USER, "DEMO1")
    contract = fake.contract_for("MNQZ26")
    fake.price(contract.id, Decimal(21000))
    client = TradovateClient(Login(fake.url, USER, PASSWORD, CID, SEC, "device-1"))
    limit = {
        "accountSpec": account.name,
        "accountId": account.id,
        "action": "Buy",
        "symbol": contract.name,
        "orderQty": 1,
        "orderType": "Limit",
        "price": 20990,
        "isAutomated": True,
    }

    async def body():
        bare = await authorized(fake, token_of(fake))
        types = ["order", "executionReport", "fill", "position", "cashBalance"]
        users = [fake.users[USER].id]
        sync = {"splitResponses": True, "users": users, "entityTypes": types}
        assert (await bare.ask("user/syncrequest", sync))["s"] == 200
        await asyncio.to_thread(client.place, limit)
        placed = await bare.messages()
        await asyncio.to_thread(fake.price, contract.id, Decimal("20989.75"))
        filled = await bare.messages()
        await bare.ws.close()
        return placed, filled

    placed, filled = run(body)
    client.close()

    def kinds(events):
        return [(e["d"]["entityType"], e["d"]["eventType"]) for e in events]

    assert kinds(placed) == [("order", "Created"), ("executionReport", "Created")]
    assert placed[1]["d"]["entity"]["execType"] == "New"
    assert kinds(filled) == [
        ("order", "Updated"),
        ("executionReport", "Created"),
        ("fill", "Created"),
        ("position", "Created"),
    ]
    report = filled[1]["d"]["entity"]
    assert (report["execType"], report["cumQty"], report["avgPx"]) == (
        "Trade",
        1,
        20989.75,
    )


def test_the_server_beats_every_interval_and_closes_a_silent_client(fake):
    fake.socket.knobs.heartbeat_seconds = 0.1
    fake.socket.knobs.silence_seconds = 0.6

    async def body():
        bare = await authorized(fake, token_of(fake))
        beats = 0
        for _ in range(3):  # heartbeats from us keep it open past the silence
            assert await bare.frame() == "h"
            beats += 1
            await bare.ws.send("[]")
        frames = []
        with pytest.raises(websockets.ConnectionClosed):
            while True:  # now silent: closed, with a `c` frame
                frames.append(await bare.frame())
        return beats, frames

    beats, frames = run(body)
    assert beats == 3
    assert frames[-1] == 'c[1000, "Heartbeat timeout"]'


def test_with_heartbeats_stopped_the_server_sends_nothing(fake):
    fake.socket.knobs.heartbeat_seconds = 0.05
    fake.socket.knobs.heartbeats = False

    async def body():
        bare = await authorized(fake, token_of(fake))
        with pytest.raises(TimeoutError):
            await bare.frame(seconds=0.5)
        await bare.ws.close()

    run(body)


def test_the_delay_knob_holds_answers_back(fake):
    fake.socket.knobs.delay = 0.5

    async def body():
        bare = await opened(fake)
        await bare.ws.send(f"authorize\n0\n\n{token_of(fake)}")
        with pytest.raises(TimeoutError):
            await bare.frame(seconds=0.2)
        assert await bare.frame() == 'a[{"i": 0, "s": 200}]'
        await bare.ws.close()

    run(body)


def test_a_drop_closes_every_socket_without_a_close_frame(fake):
    async def body():
        sockets = [await authorized(fake, token_of(fake)) for _ in range(2)]
        fake.socket.drop()
        for bare in sockets:
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    assert not (await bare.frame()).startswith("c")

    run(body)
    assert fake.socket.live() == 0


def test_past_50_connections_the_oldest_is_closed_and_its_token_revoked(fake):
    oldest_token, token = token_of(fake), token_of(fake)

    async def body():
        oldest = await authorized(fake, oldest_token)
        rest = [await authorized(fake, token) for _ in range(49)]
        assert fake.socket.live(USER) == 50
        rest.append(await authorized(fake, token))  # the 51st
        said = await oldest.messages()
        assert await oldest.frame() == 'c[1000, "Connection limit reached"]'
        with pytest.raises(websockets.ConnectionClosed):
            await oldest.frame()
        for bare in rest:
            await bare.ws.close()
        return said

    said = run(body)
    assert said == [
        {
            "e": "shutdown",
            "d": {
                "reasonCode": "ConnectionQuotaReached",
                "reason": "ConnectionQuotaReached",
            },
        }
    ]
    assert [reason for _, reason in fake.socket.evicted] == ["ConnectionQuotaReached"]
    assert oldest_token not in fake.tokens  # revoked: REST refuses it too
    assert token in fake.tokens


def test_a_sixth_address_closes_the_oldest_connection_from_another(fake):
    token = token_of(fake)

    async def body():
        first = await authorized(fake, token, address="10.0.0.1")
        others = [
            await authorized(fake, token, address=f"10.0.0.{n}") for n in (2, 3, 4, 5)
        ]
        others.append(await authorized(fake, token, address="10.0.0.2"))
        assert fake.socket.live() == 6  # five addresses: all stay
        others.append(await authorized(fake, token_of(fake), address="10.0.0.6"))
        said = await first.messages()
        for bare in others:
            await bare.ws.close()
        return said

    said = run(body)
    assert said[0]["d"]["reasonCode"] == "IPQuotaReached"
    assert [reason for _, reason in fake.socket.evicted] == ["IPQuotaReached"]
