from __future__ import annotations

from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from brokers.api import BrokerAccountList, PositionList
from webhooks import views as webhook_views
from webhooks.api import RegisterView, SignalList


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and docker-compose: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


webhook_urls = [
    path("webhook/<str:broker>", webhook_views.webhook, name="webhook"),
    path(
        "webhook/<str:broker>/<str:token>", webhook_views.webhook, name="webhook-token"
    ),
    path("register/<str:broker>", RegisterView.as_view()),
]

urlpatterns = [
    path("", webhook_views.dashboard, name="dashboard"),
    path(
        "dashboard/<str:name>/",
        webhook_views.dashboard_fragment,
        name="dashboard-fragment",
    ),
    path("accounts/new/", webhook_views.account_new, name="account-new"),
    path("accounts/<int:pk>/keys/", webhook_views.account_keys, name="account-keys"),
    path(
        "accounts/<int:pk>/keys/<int:key_pk>/revoke/",
        webhook_views.account_key_revoke,
        name="account-key-revoke",
    ),
    path(
        "accounts/<int:pk>/keys/new/",
        webhook_views.account_key_new,
        name="account-key-new",
    ),
    path("auth/", include("allauth.urls")),
    path("", include("paperbroker.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("webhook/tradingview", webhook_views.webhook, name="webhook-tradingview"),
    path("webhook/tradingview/test", webhook_views.webhook_test),
    path(
        "webhook/tradingview/<str:token>",
        webhook_views.webhook,
        name="webhook-tradingview-token",
    ),
    path("api/unify/v1/", include(webhook_urls)),
    path("register/<str:broker>", RegisterView.as_view(), name="register"),
    path("api/user/brokers", BrokerAccountList.as_view(), name="api-brokers"),
    path("api/positions", PositionList.as_view(), name="api-positions"),
    path("api/logs/webhooks", SignalList.as_view(), name="api-signals"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
]
