"""End to end with real processes: HTTP alert → Celery worker → fill → websocket."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from django.test import Client

from brokers.models import Fill, Position

pytestmark = pytest.mark.stack


async def _alert_and_wait_for_position(stack, cookie: str, api_key: str) -> dict:
    headers = {"Cookie": cookie, "Origin": stack.base_url}
    async with websockets.connect(
        stack.ws_url + "/ws/", additional_headers=headers
    ) as socket:
        hello = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert hello["type"] == "hello"
        async with httpx.AsyncClient() as client:
            response = await client.post(
                stack.base_url + "/api/unify/v1/webhook/paper",
                content=json.dumps(
                    {
                        "action": "buy",
                        "symbol": "BTCUSDT",
                        "qty": 2,
                        "price": "21000.25",
                    }
                ),
                headers={
                    "Authorization": f"Bearer {api_key}",
                    "Content-Type": "text/plain",
                },
            )
        assert response.status_code == 202, response.text
        while True:
            event = json.loads(await asyncio.wait_for(socket.recv(), 10))
            if event["type"] == "position.update":
                return event


def test_an_http_alert_is_filled_by_the_worker_and_pushed_to_the_workspace_socket(
    transactional_db, stack, world
):
    client = Client()
    client.force_login(world.owner)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    event = asyncio.run(_alert_and_wait_for_position(stack, cookie, world.api_key))
    assert event["symbol"] == "BTCUSDT" and event["quantity"] == "2.00000000"
    assert event["workspace_id"] == world.workspace.pk
    position = Position.objects.get(account=world.account, symbol="BTCUSDT")
    assert position.quantity == 2
    assert Fill.objects.filter(account=world.account).count() == 1


def test_a_socket_without_a_session_is_refused(transactional_db, stack):
    async def connect():
        async with websockets.connect(
            stack.ws_url + "/ws/", additional_headers={"Origin": stack.base_url}
        ) as socket:
            await socket.recv()

    with pytest.raises(websockets.InvalidStatus) as info:
        asyncio.run(connect())
    assert info.value.response.status_code == 403


def test_an_outsider_socket_hears_nothing_of_another_workspace(
    transactional_db, stack, world
):
    client = Client()
    client.force_login(world.outsider)
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    async def listen_while_owner_trades():
        headers = {"Cookie": cookie, "Origin": stack.base_url}
        async with websockets.connect(
            stack.ws_url + "/ws/", additional_headers=headers
        ) as socket:
            hello = json.loads(await socket.recv())
            assert world.workspace.pk not in hello["workspaces"]
            async with httpx.AsyncClient() as http:
                await http.post(
                    stack.base_url + "/api/unify/v1/webhook/paper",
                    json={
                        "action": "buy",
                        "symbol": "ETHUSDT",
                        "qty": 1,
                        "price": 5000,
                    },
                    headers={"Authorization": f"Bearer {world.api_key}"},
                )
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(socket.recv(), 2)

    asyncio.run(listen_while_owner_trades())
    assert Position.objects.filter(account=world.account, symbol="ETHUSDT").exists()
