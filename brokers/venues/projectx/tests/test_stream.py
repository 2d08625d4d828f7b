"""The user hub client against the fake's SignalR hub: events as live servers send
them, reconnects that negotiate afresh and resubscribe, a displacing login."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

from brokers.venues.projectx.mapping import Side, Type
from brokers.venues.projectx.stream import Displaced, UserStream, unwrap

Events = list[tuple[str, dict[str, Any]]]


def test_models_are_found_flat_wrapped_or_in_lists():
    model = {"id": 1}
    assert unwrap(model) == [model]
    assert unwrap({"action": 1, "data": model}) == [model]
    assert unwrap([{"action": 0, "data": model}, model]) == [model, model]
    assert unwrap({"action": 1, "data": [model, model]}) == [model, model]
    assert unwrap(None) == []


def run_stream(
    fake, client, account_id: int, body: Callable[[UserStream, Events], Awaitable[Any]]
) -> Any:
    """Run a stream of the login while `body` acts; return what `body` returns."""

    async def main() -> Any:
        events: Events = []

        async def on_event(target: str, data: dict[str, Any]) -> None:
            events.append((target, data))

        async def token() -> str:
            return await asyncio.to_thread(client.token)

        stream = UserStream(f"{fake.url}/hubs/user", token, [account_id], on_event)
        stop = asyncio.Event()
        task = asyncio.ensure_future(stream.run(stop))
        try:
            return await asyncio.wait_for(body(stream, events), timeout=20)
        finally:
            stop.set()
            await asyncio.wait([task], timeout=5)
            if task.done() and not task.cancelled() and task.exception():
                raise task.exception()  # type: ignore[misc]

    return asyncio.run(main())


async def until(check: Callable[[], bool]) -> None:
    while not check():
        await asyncio.sleep(0.02)


def place_market(client, account_id: int, contract: str) -> None:
    client.place(
        {
            "accountId": account_id,
            "contractId": contract,
            "type": int(Type.MARKET),
            "side": int(Side.BID),
            "size": 1,
            "customTag": "stream-1",
        }
    )


@pytest.fixture
def market(fake):
    account = fake.account("trader", "50KTC", balance=Decimal(50_000))
    contract = fake.contract_for("MNQZ26").id
    fake.price(contract, Decimal(21000))
    return account, contract


@pytest.mark.parametrize("wrapped", [True, False], ids=["as-live", "as-documented"])
def test_a_fill_arrives_as_order_trade_position_and_account_events(
    fake, client, market, wrapped
):
    account, contract = market
    fake.hubs.wrap = wrapped  # live servers wrap models in {action, data}

    async def body(stream, events):
        await until(lambda: fake.hubs.live() == 1 and len(fake.hubs.subscriptions) >= 4)
        await asyncio.to_thread(place_market, client, account.id, contract)
        await until(lambda: len(events) >= 4)
        return events

    events = run_stream(fake, client, account.id, body)
    targets = [target for target, _ in events]
    assert targets == [
        "GatewayUserOrder",
        "GatewayUserTrade",
        "GatewayUserPosition",
        "GatewayUserAccount",
    ]
    order = events[0][1]
    assert (order["customTag"], order["status"]) == ("stream-1", 2)  # filled
    assert events[2][1]["size"] == 1
    assert {t for t, _ in fake.hubs.subscriptions} == {
        "SubscribeAccounts",
        "SubscribeOrders",
        "SubscribePositions",
        "SubscribeTrades",
    }


def test_a_dropped_socket_reconnects_with_a_fresh_id_and_subscribes_again(
    fake, client, market
):
    account, contract = market

    async def body(stream, events):
        await until(lambda: stream.connects == 1 and fake.hubs.live() == 1)
        fake.hubs.disconnect()  # a network blip
        await until(lambda: stream.connects == 2 and fake.hubs.live() == 1)
        await until(lambda: len(fake.hubs.subscriptions) >= 8)
        await asyncio.to_thread(place_market, client, account.id, contract)
        await until(lambda: any(t == "GatewayUserTrade" for t, _ in events))
        return stream.connects

    assert run_stream(fake, client, account.id, body) == 2
    assert len(fake.hubs.used) == 2  # two negotiated ids, neither reused


def test_a_displacing_login_ends_the_stream_and_says_so(fake, client, market):
    account, _ = market

    async def body(stream, events):
        await until(lambda: fake.hubs.live() == 1)
        fake.hubs.logout("trader")
        await asyncio.sleep(0.5)

    with pytest.raises(Displaced):
        run_stream(fake, client, account.id, body)
