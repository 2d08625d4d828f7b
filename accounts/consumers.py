"""The websocket consumer: authenticate, join the user's groups, forward events."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.scoping import workspaces_for
from common.realtime import user_group, workspace_group

CLOSE_UNAUTHENTICATED = 4401


class EventsConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        wanted = self.scope["url_route"]["kwargs"].get("user_id")
        if wanted is not None and int(wanted) != user.pk:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        ids = await database_sync_to_async(
            lambda: list(workspaces_for(user).values_list("pk", flat=True))
        )()
        self.groups_joined = [workspace_group(i) for i in ids] + [user_group(user.pk)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        # A client that sent its JWT as the subprotocol pair gets the pair's
        # name back, as the handshake requires.
        protocols = self.scope.get("subprotocols") or []
        bearer = bool(protocols) and protocols[0].lower() == "bearer"
        await self.accept(subprotocol="bearer" if bearer else None)
        await self.send_json({"type": "hello", "workspaces": ids})

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def event_forward(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])
