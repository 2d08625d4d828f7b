from __future__ import annotations

from django.urls import path, re_path

from accounts.consumers import EventsConsumer

websocket_urlpatterns = [
    path("ws/", EventsConsumer.as_asgi()),
    # Seed aliases: 002 `/ws/positions`, 003 `/stream`, 004 `/ws/{user_id}`.
    path("ws/positions", EventsConsumer.as_asgi()),
    path("stream", EventsConsumer.as_asgi()),
    re_path(r"^ws/(?P<user_id>\d+)$", EventsConsumer.as_asgi()),
]
