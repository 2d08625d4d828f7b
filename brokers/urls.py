from __future__ import annotations

from django.urls import path

from brokers import api, api_sync

urlpatterns = [
    path("api/user/brokers", api.BrokerAccountList.as_view(), name="api-brokers"),
    path("api/positions", api.PositionList.as_view(), name="api-positions"),
    path(
        "api/accounts/<id:pk>/symbols/lookup",
        api.SymbolLookup.as_view(),
        name="api-symbol-lookup",
    ),
    path(
        "api/accounts/sync/<id:pk>",
        api_sync.AccountSync.as_view(),
        name="api-account-sync",
    ),
]
