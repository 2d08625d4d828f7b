"""Seed-003 API under /api/paper-trading/ and the paper account pages."""

from __future__ import annotations

from django.urls import URLPattern, path

from paperbroker import api, views

API = "api/paper-trading/"
ACCOUNT = API + "accounts/<str:account_id>"

urlpatterns: list[URLPattern] = [
    # API (seed 003)
    path(API + "accounts", api.AccountList.as_view(), name="paper-api-accounts"),
    path(ACCOUNT, api.AccountDetail.as_view(), name="paper-api-account"),
    path(ACCOUNT + "/reset", api.AccountReset.as_view(), name="paper-api-reset"),
    path(ACCOUNT + "/orders", api.AccountOrders.as_view(), name="paper-api-orders"),
    path(ACCOUNT + "/fills", api.AccountFills.as_view(), name="paper-api-fills"),
    path(ACCOUNT + "/flatten", api.AccountFlatten.as_view(), name="paper-api-flatten"),
    path(ACCOUNT + "/metrics", api.MetricsView.as_view(), name="paper-api-metrics"),
    path(
        API + "orders/<str:order_id>/cancel",
        api.OrderCancel.as_view(),
        name="paper-api-cancel",
    ),
    path(API + "status", api.SystemStatus.as_view(), name="paper-api-status"),
    path(API + "health", api.SystemHealth.as_view(), name="paper-api-health"),
    # Pages
    path("paper/", views.account_list, name="paper-accounts"),
    path(
        "paper/fragment/accounts/",
        views.account_list_fragment,
        name="paper-accounts-fragment",
    ),
    path("paper/<id:pk>/", views.account_detail, name="paper-account"),
    path(
        "paper/<id:pk>/fragment/<str:name>/",
        views.account_fragment,
        name="paper-account-fragment",
    ),
    path("paper/<id:pk>/reset/", views.account_reset, name="paper-reset"),
    path("paper/<id:pk>/flatten/", views.account_flatten, name="paper-flatten"),
    path(
        "paper/<id:pk>/orders/<id:order_pk>/cancel/",
        views.order_cancel,
        name="paper-order-cancel",
    ),
]
