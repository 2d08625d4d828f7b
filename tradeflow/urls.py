"""Glue: each app's routes, the admin, the health check and the API schema."""

from __future__ import annotations

from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from common.http import IdConverter

# Before the apps' routes are read: they spell ids `<id:pk>`.
register_converter(IdConverter, "id")


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and docker-compose: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("", include("dashboard.urls")),
    path("", include("accounts.urls")),
    path("", include("billing.urls")),
    path("", include("brokers.urls")),
    path("", include("brokers.venues.metatrader.urls")),
    path("", include("paperbroker.urls")),
    path("", include("risk.urls")),
    path("", include("webhooks.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include("tradeflow.health")),  # seed 004: health, metrics
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
]

handler404 = "common.api.not_found"
handler500 = "common.api.server_error"
