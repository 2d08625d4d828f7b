"""Every route of the alert pipeline: the webhook in all its spellings, the
trader's pages (accounts and keys, strategies, signals), seed 002's registration
and log, seed 003's paper alerts and seed 004's bots, groups and group trades."""

from __future__ import annotations

from django.urls import include, path

from webhooks.api import account_reads, export, orders, paper, unify
from webhooks.api import strategies as strategies_api
from webhooks.api import v1 as api
from webhooks.api import v1_accounts as accounts_api
from webhooks.api import v1_trading as trading_api
from webhooks.views import accounts, connect, metatrader, signals, strategies, webhook

# Seed 002: under /api/unify/v1/ and (registration) at the root.
unify_urls = [
    path("webhook/<str:broker>", webhook.webhook, name="webhook"),
    path("webhook/<str:broker>/<str:token>", webhook.webhook, name="webhook-token"),
    path("register/<str:broker>", unify.RegisterView.as_view()),
]

# Seed 004: under /api/v1/.
v1_urls = [
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
    path("accounts/create", accounts_api.AccountCreate.as_view()),
    path("accounts/list", accounts_api.AccountList.as_view(), name="api-v1-accounts"),
    path(
        "accounts/<str:account_id>",
        accounts_api.AccountDetail.as_view(),
        name="api-v1-account",
    ),
    path(
        "accounts/<str:account_id>/update-credentials",
        accounts_api.AccountCredentials.as_view(),
    ),
    path(
        "accounts/<str:account_id>/sync-balance",
        accounts_api.AccountSyncBalance.as_view(),
    ),
    path(
        "accounts/<str:account_id>/performance",
        accounts_api.AccountPerformance.as_view(),
    ),
    path("trading/positions/<str:account_id>", trading_api.ClosedPositions.as_view()),
    path(
        "trading/close-position/<str:account_id>", trading_api.ClosePosition.as_view()
    ),
    path("trading/terminate/<str:account_id>", trading_api.Terminate.as_view()),
    # The same intake as /webhook/tradingview: it answers in seed 004's shape.
    path("webhook/tradingview", webhook.webhook),
    path("webhook/tradingview/test", webhook.webhook_test),
]

pages = [
    path("accounts/new/", accounts.account_new, name="account-new"),
    path(
        "accounts/connect/projectx/",
        connect.venue_connect,
        {"venue": "projectx"},
        name="projectx-connect",
    ),
    path(
        "accounts/connect/tradovate/oauth/",
        connect.tradovate_oauth,
        name="tradovate-oauth",
    ),
    path(
        "accounts/connect/tradovate/callback/",
        connect.tradovate_callback,
        name="tradovate-callback",
    ),
    path(
        "accounts/connect/metatrader/",
        metatrader.metatrader_connect,
        name="metatrader-connect",
    ),
    path("accounts/connect/<str:venue>/", connect.venue_connect, name="venue-connect"),
    path(
        "accounts/connect/<str:venue>/account/",
        connect.venue_choose,
        name="venue-choose",
    ),
    path("accounts/<id:pk>/keys/", accounts.account_keys, name="account-keys"),
    path("accounts/<id:pk>/ea/", metatrader.account_ea, name="account-ea"),
    path(
        "accounts/<id:pk>/ea/token/",
        metatrader.account_ea_token,
        name="account-ea-token",
    ),
    path("accounts/<id:pk>/symbols/", accounts.account_symbols, name="account-symbols"),
    path(
        "accounts/<id:pk>/keys/<id:key_pk>/revoke/",
        accounts.account_key_revoke,
        name="account-key-revoke",
    ),
    path("keys/<id:key_pk>/addresses/", accounts.key_addresses, name="key-addresses"),
    path(
        "accounts/<id:pk>/keys/new/", accounts.account_key_new, name="account-key-new"
    ),
    path(
        "accounts/<id:pk>/keys/created/",
        accounts.account_key_created,
        name="account-key-created",
    ),
    path(
        "accounts/<id:pk>/alert-builder/",
        strategies.account_alert_builder,
        name="account-alert-builder",
    ),
    path("strategies/", strategies.strategy_list, name="strategies"),
    path("strategies/new/", strategies.strategy_new, name="strategy-new"),
    path("strategies/<id:pk>/", strategies.strategy_detail, name="strategy-detail"),
    path(
        "strategies/<id:pk>/settings/",
        strategies.strategy_settings,
        name="strategy-settings",
    ),
    path(
        "strategies/<id:pk>/keys/new/",
        strategies.strategy_key_new,
        name="strategy-key-new",
    ),
    path(
        "strategies/<id:pk>/keys/created/",
        strategies.strategy_key_created,
        name="strategy-key-created",
    ),
    path(
        "strategies/<id:pk>/keys/<id:key_pk>/revoke/",
        strategies.strategy_key_revoke,
        name="strategy-key-revoke",
    ),
    path(
        "strategies/<id:pk>/subscriptions/",
        strategies.subscription_add,
        name="subscription-add",
    ),
    path(
        "strategies/<id:pk>/subscriptions/<id:sub_pk>/",
        strategies.subscription_update,
        name="subscription-update",
    ),
    path(
        "strategies/<id:pk>/subscriptions/<id:sub_pk>/remove/",
        strategies.subscription_delete,
        name="subscription-delete",
    ),
    path(
        "strategies/<id:pk>/alert-builder/",
        strategies.strategy_alert_builder,
        name="strategy-alert-builder",
    ),
    path("signals/", signals.signal_list, name="signals"),
    path("signals/approvals/", signals.approvals, name="approvals"),
    path("signals/<id:pk>/", signals.signal_detail, name="signal-detail"),
    path(
        "executions/<id:pk>/decision/",
        signals.execution_decision,
        name="execution-decision",
    ),
]

urlpatterns = [
    *pages,
    path("webhook/tradingview", webhook.webhook, name="webhook-tradingview"),
    path("webhook/tradingview/test", webhook.webhook_test),
    path(
        "webhook/tradingview/<str:token>",
        webhook.webhook,
        name="webhook-tradingview-token",
    ),
    path("api/unify/v1/", include(unify_urls)),
    path("api/v1/", include(v1_urls)),
    path("register/<str:broker>", unify.RegisterView.as_view(), name="register"),
    path("api/logs/webhooks", unify.SignalList.as_view(), name="api-signals"),
    path(
        "api/paper-trading/alerts", paper.AlertSubmit.as_view(), name="paper-api-alerts"
    ),
    # Seed 002's gap list: strategies, closing a position, the trade export.
    path(
        "api/strategies", strategies_api.StrategyList.as_view(), name="api-strategies"
    ),
    path(
        "api/strategies/activate",
        strategies_api.StrategyActivate.as_view(),
        name="api-strategy-activate",
    ),
    path("api/orders/close", orders.OrderClose.as_view(), name="api-orders-close"),
    path("api/export/trades", export.TradesExport.as_view(), name="api-export-trades"),
    # Seed 000's account reads (its metrics, rules and violations are risk's).
    path(
        "api/accounts/<id:pk>",
        account_reads.AccountOverview.as_view(),
        name="api-account",
    ),
    path("api/accounts/<id:pk>/trades", account_reads.AccountTrades.as_view()),
    path("api/accounts/<id:pk>/positions", account_reads.AccountPositions.as_view()),
]
