"""Seed 004's bots, groups and group-trade routes, mounted at /api/v1/."""

from __future__ import annotations

from django.urls import path

from webhooks import api_v1 as api

urlpatterns = [
    path("bots/create", api.BotCreate.as_view(), name="api-v1-bot-create"),
    path("bots/list", api.BotList.as_view(), name="api-v1-bots"),
    path("bots/<str:bot_id>", api.BotDetail.as_view(), name="api-v1-bot"),
    path("bots/<str:bot_id>/status", api.BotStatus.as_view()),
    path("bots/<str:bot_id>/connect-account", api.BotConnect.as_view()),
    path("bots/<str:bot_id>/disconnect-account", api.BotDisconnect.as_view()),
    path("bots/<str:bot_id>/terminate", api.BotTerminate.as_view()),
    path("bots/<str:bot_id>/accounts", api.BotAccounts.as_view()),
    path("bots/<str:bot_id>/performance", api.BotPerformance.as_view()),
    path("groups/", api.Groups.as_view(), name="api-v1-groups"),
    path("groups/<str:group_id>", api.GroupDetail.as_view(), name="api-v1-group"),
    path("groups/<str:group_id>/performance", api.GroupPerformance.as_view()),
    path("groups/<str:group_id>/metrics", api.GroupMetrics.as_view()),
    path("groups/<str:group_id>/history", api.GroupHistory.as_view()),
    path("groups/<str:group_id>/accounts", api.GroupAccounts.as_view()),
    path("groups/<str:group_id>/accounts/<str:account_id>", api.GroupAccount.as_view()),
    path("accounts/<str:account_id>/assign-group", api.AccountAssignGroup.as_view()),
    path("trading/group/<str:group_id>/execute", api.GroupExecute.as_view()),
]
