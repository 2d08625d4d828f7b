"""Seed 004's `/ws/{user_id}` on the real stack (daphne, a Celery worker, Redis):
a JWT opens it, `subscribe` to a bot brings its `bot_update`s, and neither
someone else's user id nor someone else's bot opens anything."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from channels.testing import WebsocketCommunicator
from django.test import RequestFactory

from accounts.auth_sessions import Device, session_open
from accounts.models import User
from testkit.factories import StrategyFactory

pytestmark = pytest.mark.stack


def jwt_for(user: User) -> str:
    """An access token as /api/v1/auth/login gives (minted here: the stack's
    processes hash passwords properly, the suite's users with a fast test hash)."""
    request = RequestFactory().get("/")
    return session_open(user=user, request=request, device=Device()).access


def socket(stack, user_id: int, token: str) -> Any:
    return websockets.connect(
        f"{stack.ws_url}/ws/{user_id}",
        subprotocols=["bearer", token],  # type: ignore[list-item]
        additional_headers={"Origin": stack.base_url},
    )


async def until(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if message["type"] == kind:
            return message


def test_a_subscribed_bot_sends_its_updates_when_its_alert_fills(
    transactional_db, stack, world
):
    bot = StrategyFactory.create(workspace=world.workspace, followers=[world.account])
    token = jwt_for(world.owner)

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        async with socket(stack, world.owner.pk, token) as ws:
            assert ws.subprotocol == "bearer"
            await until(ws, "hello")
            await ws.send(json.dumps({"type": "subscribe", "bot_id": str(bot.pk)}))
            subscribed = await until(ws, "subscribed")
            async with httpx.AsyncClient() as http:
                sent = await http.post(
                    stack.base_url + "/webhook/tradingview",
                    json={"action": "buy", "symbol": "BTCUSDT", "qty": 1, "price": 1},
                    headers={"Authorization": f"Bearer {bot.plain_key}"},
                )
            assert sent.status_code in (200, 202), sent.text
            return subscribed, await until(ws, "bot_update")

    subscribed, update = asyncio.run(run())
    assert subscribed["bot_id"] == str(bot.pk)
    assert update["bot_id"] == str(bot.pk)
    assert update["data"]["account_id"] == world.account.pk
    assert update["timestamp"]


def test_someone_elses_user_id_is_refused(transactional_db, stack, world):
    token = jwt_for(world.outsider)

    async def run() -> None:
        async with socket(stack, world.owner.pk, token) as ws:
            await ws.recv()

    with pytest.raises(websockets.InvalidStatus) as info:
        asyncio.run(run())
    assert info.value.response.status_code == 403


def test_a_socket_with_a_bad_token_is_refused(transactional_db, stack, world):
    async def run() -> None:
        async with socket(stack, world.owner.pk, "a.b.c") as ws:
            await ws.recv()

    with pytest.raises(websockets.InvalidStatus):
        asyncio.run(run())


def test_someone_elses_bot_cannot_be_subscribed(transactional_db, stack, world):
    bot = StrategyFactory.create(workspace=world.workspace, followers=[world.account])
    token = jwt_for(world.outsider)

    async def run() -> dict[str, Any]:
        async with socket(stack, world.outsider.pk, token) as ws:
            await until(ws, "hello")
            await ws.send(json.dumps({"type": "subscribe", "bot_id": str(bot.pk)}))
            return await until(ws, "error")

    refused = asyncio.run(run())
    assert refused["code"] == "not-found"


@pytest.mark.django_db(transaction=True)
def test_the_socket_pings_and_answers_unknown_messages_with_an_error(world, settings):
    from tradeflow.asgi import application

    settings.WS_PING_SECONDS = 1
    settings.ALLOWED_HOSTS = ["*"]
    token = jwt_for(world.owner)

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        ws = WebsocketCommunicator(application, f"/ws/{world.owner.pk}?token={token}")
        connected, _ = await ws.connect()
        assert connected
        await ws.receive_json_from()  # hello
        await ws.send_json_to({"type": "dance"})
        error = await ws.receive_json_from()
        ping = await ws.receive_json_from(timeout=3)
        await ws.disconnect()
        return error, ping

    error, ping = asyncio.run(run())
    assert error["code"] == "unknown-type"
    assert ping == {"type": "ping"}


@pytest.mark.django_db(transaction=True)
def test_an_account_socket_hears_only_that_accounts_events(world, settings):
    from channels.layers import get_channel_layer

    from common.realtime import workspace_group
    from tradeflow.asgi import application

    settings.ALLOWED_HOSTS = ["*"]
    token = jwt_for(world.owner)
    path = f"/ws/accounts/{world.account.pk}/updates?token={token}"

    async def run() -> dict[str, Any]:
        ws = WebsocketCommunicator(application, path)
        connected, _ = await ws.connect()
        assert connected
        await ws.receive_json_from()  # hello
        layer = get_channel_layer()
        for account_id in (world.account.pk + 1000, world.account.pk):
            event = {"type": "account.update", "account_id": account_id}
            await layer.group_send(
                workspace_group(world.workspace.pk),
                {"type": "event.forward", "event": event},
            )
        heard = await ws.receive_json_from(timeout=3)
        assert await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()
        return heard

    assert asyncio.run(run())["account_id"] == world.account.pk


@pytest.mark.django_db(transaction=True)
def test_an_outsider_cannot_open_someone_elses_account_socket(world, settings):
    from tradeflow.asgi import application

    settings.ALLOWED_HOSTS = ["*"]
    token = jwt_for(world.outsider)

    async def run() -> tuple[bool, int | None]:
        ws = WebsocketCommunicator(
            application, f"/ws/accounts/{world.account.pk}/updates?token={token}"
        )
        connected, code = await ws.connect()
        return connected, code

    connected, code = asyncio.run(run())
    assert not connected
    assert code == 4404
