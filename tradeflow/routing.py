"""Every websocket route (the glue layer: consumers come from several apps)."""

from __future__ import annotations

from django.urls import path, re_path

from accounts.consumers import EventsConsumer
from webhooks.consumers import AccountUpdatesConsumer, BotEventsConsumer

websocket_urlpatterns = [
    path("ws/", EventsConsumer.as_asgi()),
    # Seed aliases: 002 `/ws/positions`, 003 `/stream`, 004 `/ws/{user_id}`.
    path("ws/positions", EventsConsumer.as_asgi()),
    path("stream", EventsConsumer.as_asgi()),
    re_path(r"^ws/(?P<user_id>\d+)$", BotEventsConsumer.as_asgi()),
    # Seed 000: one account's updates.
    re_path(
        r"^ws/accounts/(?P<account_id>\d{1,18})/updates$",
        AccountUpdatesConsumer.as_asgi(),
    ),
]
