"""Many events in one trip to the channel layer (the monitor's sweep): all of
them arrive, however many, without exhausting the layer's connection pool."""

from __future__ import annotations

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from common.realtime import AccountEvent, Event, broadcast_many, workspace_group


def test_three_hundred_events_all_arrive(db, django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(workspace_group(4242), channel)
    events: list[tuple[int, Event]] = []
    for n in range(300):
        update: AccountEvent = {
            "type": "account.update",
            "account_id": n,
            "balance": None,
        }
        events.append((4242, update))
    with django_capture_on_commit_callbacks(execute=True):
        broadcast_many(events)

    async def drain() -> list[int]:
        seen: list[int] = []
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), 0.5)
            except TimeoutError:
                return seen
            seen.append(message["event"]["account_id"])

    assert sorted(async_to_sync(drain)()) == list(range(300))
