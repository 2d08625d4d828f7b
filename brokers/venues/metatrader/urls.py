from __future__ import annotations

from django.urls import path

from brokers.venues.metatrader import views

urlpatterns = [
    path("api/ea/hello", views.hello, name="ea-hello"),
    path("api/ea/commands", views.commands, name="ea-commands"),
    path("api/ea/ack", views.ack, name="ea-ack"),
    path("api/ea/heartbeat", views.heartbeat, name="ea-heartbeat"),
    path("ea/<str:name>", views.ea_download, name="ea-download"),
    path(
        "api/accounts/<id:pk>/ea_status", views.EaStatus.as_view(), name="api-ea-status"
    ),
]
