from __future__ import annotations

from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from brokers.api import BrokerAccountList, PositionList
from risk import api as risk_api
from risk import views as risk_views
from tradeflow import benchmarks
from webhooks import pages
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
        "keys/<int:key_pk>/addresses/",
        webhook_views.key_addresses,
        name="key-addresses",
    ),
    path(
        "accounts/<int:pk>/keys/new/",
        webhook_views.account_key_new,
        name="account-key-new",
    ),
    path(
        "accounts/<int:pk>/alert-builder/",
        pages.account_alert_builder,
        name="account-alert-builder",
    ),
    path("strategies/", pages.strategy_list, name="strategies"),
    path("strategies/new/", pages.strategy_new, name="strategy-new"),
    path("strategies/<int:pk>/", pages.strategy_detail, name="strategy-detail"),
    path(
        "strategies/<int:pk>/settings/",
        pages.strategy_settings,
        name="strategy-settings",
    ),
    path(
        "strategies/<int:pk>/keys/new/",
        pages.strategy_key_new,
        name="strategy-key-new",
    ),
    path(
        "strategies/<int:pk>/keys/<int:key_pk>/revoke/",
        pages.strategy_key_revoke,
        name="strategy-key-revoke",
    ),
    path(
        "strategies/<int:pk>/subscriptions/",
        pages.subscription_add,
        name="subscription-add",
    ),
    path(
        "strategies/<int:pk>/subscriptions/<int:sub_pk>/",
        pages.subscription_update,
        name="subscription-update",
    ),
    path(
        "strategies/<int:pk>/subscriptions/<int:sub_pk>/remove/",
        pages.subscription_delete,
        name="subscription-delete",
    ),
    path(
        "strategies/<int:pk>/alert-builder/",
        pages.strategy_alert_builder,
        name="strategy-alert-builder",
    ),
    path("signals/", pages.signal_list, name="signals"),
    path("signals/<int:pk>/", pages.signal_detail, name="signal-detail"),
    path(
        "executions/<int:pk>/decision/",
        pages.execution_decision,
        name="execution-decision",
    ),
    path("auth/", include("allauth.urls")),
    path("", include("paperbroker.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("benchmarks/", benchmarks.benchmarks, name="benchmarks"),
    path("emergency-stop/", risk_views.emergency_stop_page, name="emergency-stop"),
    path("accounts/<int:pk>/resume/", risk_views.account_resume, name="account-resume"),
    path("accounts/<int:pk>/risk/", risk_views.account_risk, name="account-risk"),
    path(
        "accounts/<int:pk>/risk/measure/",
        risk_views.account_risk_measure,
        name="account-risk-measure",
    ),
    path(
        "accounts/<int:pk>/risk/fragment/<str:name>/",
        risk_views.account_risk_fragment,
        name="account-risk-fragment",
    ),
    path("api/user/emergency_stop", risk_api.EmergencyStop.as_view()),
    path("api/user/risk_config", risk_api.UserRiskConfig.as_view()),
    path("api/accounts/<int:pk>/emergency-close", risk_api.EmergencyClose.as_view()),
    path("api/accounts/<int:pk>/rules", risk_api.AccountRules.as_view()),
    path("api/accounts/<int:pk>/violations", risk_api.AccountViolations.as_view()),
    path("api/accounts/<int:pk>/metrics", risk_api.AccountMetrics.as_view()),
    path(
        "api/accounts/<int:pk>/realtime-metrics",
        risk_api.AccountRealtimeMetrics.as_view(),
    ),
    path("webhook/tradingview", webhook_views.webhook, name="webhook-tradingview"),
    path("webhook/tradingview/test", webhook_views.webhook_test),
    path(
        "webhook/tradingview/<str:token>",
        webhook_views.webhook,
        name="webhook-tradingview-token",
    ),
    path("api/unify/v1/", include(webhook_urls)),
    path("api/v1/", include("webhooks.urls")),
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
