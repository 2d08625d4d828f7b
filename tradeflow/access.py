"""Who may call what: every route of the URLconf, per HTTP method, and its door.

tradeflow/tests/test_access.py walks `django.urls.get_resolver()` and fails on a
route this table does not name (and on a row naming no route), then calls every
row's methods as the owner (admin), an exporter, a viewer, an outsider (admin of
another workspace only) and anonymously, and checks each answer is the one the
door implies. Nothing in production reads the table: it is the reviewable
statement of the rules, and the test keeps it true.

To add a row: one line in ROUTES, the pattern exactly as the URLconf spells it
(the failing test prints the missing ones, ready to paste; `*` in a pattern
stands for any one path segment), a door per method:

    row("api/v1/bots/<str:bot_id>/status", POST=obj(MANAGE_ACCOUNTS)),

The test fills a path parameter with the owner's object that its name, or the
word before it, says (`<bot_id>` a strategy, `accounts/<id:pk>` the paper
account: see OBJECTS); `fill=` names another object, or gives a literal, where
that guess is wrong. `body=` is for the few routes that read their input before
the door, and `query=` is added to the address; in both, a value naming an
OBJECT becomes its id.

The doors (decided from what each view does, not from what its seed says):
- PUBLIC: no door at all (sign-up, the login pages, health, the API docs): any
  answer but 401, 403, 405 or a redirect to sign in (a 404 for a link whose key
  names nothing is an answer).
- TOKEN: the route authenticates by its own secret, never by the session: a
  webhook key, an EA token, Stripe's signature, the Host header. Whoever calls
  without that secret gets the same answer as anyone.
- STAFF: Django's admin, for staff who passed a second factor (accounts.mfa);
  anyone else is sent to a login page. Past the door the admin's own model
  permissions may still say 403 (a model nobody adds by hand).
- SIGNED_IN: anyone signed in; a list shows only what their memberships show,
  and a page about "me" is about the caller.
- MINE: one object of the signed-in user (an API token, a JWT session, an
  authenticator): its user only; anyone else gets 404.
- ws(PERM): acts in the caller's own (current) workspace and needs PERM there:
  a member whose role lacks it is refused; an outsider acts in their own.
- obj(PERM): names an object of a workspace: its members whose role has PERM
  may; a member without it is refused; anyone else gets 404, never 403, so an
  outsider never learns the object exists.
Refused: from the API, 403 in the one error shape, always. From a page, 403, or
404 where the page looks the workspace or the object up by the perm itself
(`current_workspace(request, perm)`: accounts/new/, accounts/connect/…,
strategies/new/; `get_for_user_or_404(..., perm)`: keys/<key_pk>/addresses/).
Anonymous callers of SIGNED_IN, MINE, ws and obj get 401 from the API and a
redirect to the login page from a page.

A script's API token (tft_, accounts.tokens) is judged by its scope as well as
by its user's role: on a ws or obj API route it needs `read` to GET, `admin` to
change what a MANAGE_* door guards (accounts, groups, bots, keys, billing: the
view says `scope_needed = "admin"`), and `trade` for the rest; `scope=` says so
where a MANAGE_* route is a trading action.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.permissions import Perm

VIEW, TRADE, EXPORT = Perm.VIEW, Perm.TRADE, Perm.EXPORT
MANAGE_ACCOUNTS, MANAGE_KEYS = Perm.MANAGE_ACCOUNTS, Perm.MANAGE_KEYS
MANAGE_BILLING = Perm.MANAGE_BILLING


@dataclass(frozen=True)
class Door:
    """Who gets through: a kind and, for workspace data, the Perm it needs."""

    kind: str
    perm: Perm | None = None

    def __str__(self) -> str:
        return f"{self.kind}({self.perm})" if self.perm else self.kind


PUBLIC = Door("public")
TOKEN = Door("token")
STAFF = Door("staff")
SIGNED_IN = Door("signed-in")
MINE = Door("mine")


def ws(perm: Perm) -> Door:
    return Door("workspace", perm)


def obj(perm: Perm) -> Door:
    return Door("object", perm)


@dataclass(frozen=True)
class Row:
    """One route: its pattern, a door per HTTP method, and what fills its blanks.
    A `subtree` row names every route under its pattern that no other row does."""

    pattern: str
    doors: dict[str, Door]
    fill: dict[str, str] = field(default_factory=dict)
    body: dict[str, str] = field(default_factory=dict)
    query: str = ""
    subtree: bool = False
    scope: str = ""  # the scope an API token needs to change it, where not derived


def row(
    pattern: str,
    *,
    fill: dict[str, str] | None = None,
    body: dict[str, str] | None = None,
    query: str = "",
    scope: str = "",
    **doors: Door,
) -> Row:
    return Row(pattern, doors, fill or {}, body or {}, query, scope=scope)


def subtree(pattern: str, **doors: Door) -> Row:
    return Row(pattern, doors, subtree=True)


# The owner's objects a path parameter (or `fill`, or `body`) can name.
OBJECTS = {
    "account": "the workspace's paper account (world.account)",
    "paper_account": "the same, as seed 003 spells it (paper_<id>)",
    "mt_account": "a MetaTrader 5 account with its terminal",
    "strategy": "a strategy the paper account follows",
    "strategy_key": "the strategy's webhook key",
    "account_key": "the paper account's webhook key (world.api_key's row)",
    "webhook_key": "that key in plain (world.api_key), as TradingView sends it",
    "subscription": "the paper account's subscription to the strategy",
    "group": "an account group holding the paper account",
    "order": "a resting paper limit order",
    "signal": "a signal on the paper account",
    "execution": "its execution, waiting on approval",
    "api_token": "the owner's API token (tft_)",
    "auth_session": "the owner's JWT session",
    "webauthn": "the owner's security key",
}

ROUTES: list[Row] = [
    # --- Dashboard, the kill switch, API tokens ----------------------------------
    row("", GET=SIGNED_IN),
    row("dashboard/<str:name>/", fill={"name": "accounts"}, GET=SIGNED_IN),
    row("emergency-stop/", GET=ws(TRADE), POST=ws(TRADE)),
    row("api/user/emergency_stop", POST=ws(TRADE)),
    row("benchmarks/", GET=PUBLIC),
    # Any member may make a token for themself: it can never do more than the
    # role it acts as (TokenScopeAllows and the role both judge each request).
    row("api-tokens/", GET=SIGNED_IN, POST=SIGNED_IN),
    row("api-tokens/<id:pk>/created/", fill={"pk": "api_token"}, GET=MINE),
    row("api-tokens/<id:pk>/revoke/", fill={"pk": "api_token"}, POST=MINE),
    row("sessions/", GET=SIGNED_IN),
    row(
        "sessions/<str:session_id>/end/",
        fill={"session_id": "auth_session"},
        POST=MINE,
    ),
    # --- Sign-in: the JSON API (seeds 000, 002, 004) -----------------------------
    row("api/v1/auth/login", GET=PUBLIC, POST=PUBLIC),
    row("api/v1/auth/login/mfa", POST=PUBLIC),
    row("api/v1/auth/logout", POST=SIGNED_IN),
    row("api/v1/auth/refresh", POST=PUBLIC),
    row("api/v1/auth/me", GET=SIGNED_IN),
    row("api/v1/auth/permissions", GET=SIGNED_IN),
    row("api/v1/auth/password/reset", POST=PUBLIC),
    row("api/v1/auth/password/reset/complete", POST=PUBLIC),
    row("api/v1/auth/sessions", GET=SIGNED_IN),
    row(
        "api/v1/auth/sessions/<str:session_id>/terminate",
        fill={"session_id": "auth_session"},
        POST=MINE,
    ),
    row("api/auth/login", GET=PUBLIC, POST=PUBLIC),
    row("api/auth/refresh", POST=PUBLIC),
    row("auth/signup", GET=PUBLIC, POST=PUBLIC),
    row("auth/login", GET=PUBLIC, POST=PUBLIC),
    row("auth/logout", POST=SIGNED_IN),
    # --- Sign-in: allauth's pages ------------------------------------------------
    row("auth/login/", GET=PUBLIC, POST=PUBLIC),
    row("auth/logout/", GET=SIGNED_IN, POST=SIGNED_IN),
    row("auth/inactive/", GET=PUBLIC),
    row("auth/signup/", GET=PUBLIC, POST=PUBLIC),
    row("auth/reauthenticate/", GET=SIGNED_IN, POST=SIGNED_IN),
    row("auth/email/", GET=SIGNED_IN, POST=SIGNED_IN),
    row("auth/confirm-email/", GET=PUBLIC),
    row("auth/password/change/", GET=SIGNED_IN, POST=SIGNED_IN),
    row("auth/password/set/", GET=SIGNED_IN, POST=SIGNED_IN),
    row("auth/password/reset/", GET=PUBLIC, POST=PUBLIC),
    # Without a login waiting for its code: a redirect to the login page.
    row("auth/login/code/confirm/", GET=PUBLIC, POST=PUBLIC),
    row(
        r"auth/^confirm-email/(?P<key>[-:\w]+)/$",
        fill={"key": "no-such-key"},
        GET=PUBLIC,
        POST=PUBLIC,
    ),
    row("auth/password/reset/key/done/", GET=PUBLIC),
    row(
        "auth/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
        fill={"uidb36": "zz", "key": "no-such-key"},
        GET=PUBLIC,
        POST=PUBLIC,
    ),
    row("auth/password/reset/done/", GET=PUBLIC),
    # --- Two-factor sign-in (allauth.mfa) ----------------------------------------
    row("auth/2fa/", GET=SIGNED_IN),
    # The second step of a login: without one waiting, a redirect to the login.
    row("auth/2fa/authenticate/", GET=PUBLIC, POST=PUBLIC),
    row("auth/2fa/reauthenticate/", GET=SIGNED_IN, POST=SIGNED_IN),
    row("auth/2fa/totp/activate/", GET=SIGNED_IN, POST=SIGNED_IN),
    # Each of these acts on the caller's own authenticator: 404 to one without.
    row("auth/2fa/totp/deactivate/", GET=MINE, POST=MINE),
    row("auth/2fa/recovery-codes/", GET=MINE),
    # Makes the caller a new set of their own (allauth lets anyone have some).
    row("auth/2fa/recovery-codes/generate/", GET=SIGNED_IN, POST=SIGNED_IN),
    row("auth/2fa/recovery-codes/download/", GET=MINE),
    row("auth/2fa/webauthn/", GET=SIGNED_IN),
    row("auth/2fa/webauthn/add/", GET=SIGNED_IN, POST=SIGNED_IN),
    row("auth/2fa/webauthn/reauthenticate/", GET=SIGNED_IN, POST=SIGNED_IN),
    row(
        "auth/2fa/webauthn/keys/<int:pk>/remove/",
        fill={"pk": "webauthn"},
        GET=MINE,
        POST=MINE,
    ),
    row(
        "auth/2fa/webauthn/keys/<int:pk>/edit/",
        fill={"pk": "webauthn"},
        GET=MINE,
        POST=MINE,
    ),
    # --- Billing and the white label ---------------------------------------------
    row("pricing/", GET=PUBLIC),
    row("billing/", GET=SIGNED_IN),
    row("billing/checkout/", POST=ws(MANAGE_BILLING)),
    row("billing/portal/", POST=ws(MANAGE_BILLING)),
    row("billing/return/", GET=ws(MANAGE_BILLING)),
    row("billing/white-label/", GET=SIGNED_IN, POST=ws(MANAGE_BILLING)),
    row("billing/brand.css", GET=SIGNED_IN),
    row("billing/white-label/verify/", POST=ws(MANAGE_BILLING)),
    # Answers by the Host it is asked through (a verified white-label domain).
    row(".well-known/tradeflow-domain", GET=TOKEN),
    row("api/billing/status", GET=SIGNED_IN),
    row("api/billing/usage", GET=SIGNED_IN),
    row("api/billing/checkout", POST=ws(MANAGE_BILLING)),
    row("api/billing/portal", POST=ws(MANAGE_BILLING)),
    row("api/billing/webhook", POST=TOKEN),
    row("api/user/whitelabel", GET=SIGNED_IN, PUT=ws(MANAGE_BILLING)),
    row("api/user/whitelabel/verify", POST=ws(MANAGE_BILLING)),
    # --- Broker accounts, positions, symbols, MetaTrader's EA ----------------------
    row("api/user/brokers", GET=SIGNED_IN),
    row("api/positions", GET=SIGNED_IN),
    # Seed 004 says admin only; the code asks TRADE, which only admins hold.
    row("api/accounts/sync/<id:pk>", fill={"pk": "account"}, POST=obj(TRADE)),
    row("api/accounts/<id:pk>/symbols/lookup", query="symbol=BTCUSDT", GET=obj(VIEW)),
    row("api/ea/hello", POST=TOKEN),
    row("api/ea/commands", query="wait=0", GET=TOKEN),
    row("api/ea/ack", POST=TOKEN),
    row("api/ea/heartbeat", POST=TOKEN),
    row("ea/<str:name>", fill={"name": "TradeFlow.mq5"}, GET=PUBLIC),
    row("api/accounts/<id:pk>/ea_status", fill={"pk": "mt_account"}, GET=obj(VIEW)),
    # --- The paper venue: seed 003's API and the pages ------------------------------
    row("api/paper-trading/accounts", GET=SIGNED_IN),
    row("api/paper-trading/accounts/<str:account_id>", GET=obj(VIEW)),
    row("api/paper-trading/accounts/<str:account_id>/reset", POST=obj(TRADE)),
    row("api/paper-trading/accounts/<str:account_id>/orders", GET=obj(VIEW)),
    row("api/paper-trading/accounts/<str:account_id>/fills", GET=obj(VIEW)),
    row("api/paper-trading/accounts/<str:account_id>/flatten", POST=obj(TRADE)),
    row("api/paper-trading/accounts/<str:account_id>/metrics", GET=obj(VIEW)),
    row("api/paper-trading/orders/<str:order_id>/cancel", POST=obj(TRADE)),
    row("api/paper-trading/status", GET=SIGNED_IN),
    row("api/paper-trading/health", GET=SIGNED_IN),
    # The order names its account in the body (`accountGroup`), read first.
    row(
        "api/paper-trading/alerts",
        body={
            "symbol": "BTCUSDT",
            "action": "buy",
            "quantity": "0.01",
            "accountGroup": "paper_account",
        },
        POST=obj(TRADE),
    ),
    row("paper/", GET=SIGNED_IN),
    row("paper/fragment/accounts/", GET=SIGNED_IN),
    row("paper/<id:pk>/", GET=obj(VIEW)),
    row("paper/<id:pk>/fragment/<str:name>/", fill={"name": "orders"}, GET=obj(VIEW)),
    row("paper/<id:pk>/reset/", GET=obj(TRADE), POST=obj(TRADE)),
    row("paper/<id:pk>/flatten/", GET=obj(TRADE), POST=obj(TRADE)),
    row("paper/<id:pk>/orders/<id:order_pk>/cancel/", POST=obj(TRADE)),
    # --- Risk ------------------------------------------------------------------------
    row("accounts/<id:pk>/resume/", POST=obj(TRADE)),
    row("accounts/<id:pk>/risk/", GET=obj(VIEW), POST=obj(MANAGE_ACCOUNTS)),
    row("accounts/<id:pk>/risk/measure/", POST=obj(TRADE)),
    row(
        "accounts/<id:pk>/risk/fragment/<str:name>/",
        fill={"name": "gauges"},
        GET=obj(VIEW),
    ),
    # The first account the caller sees (their own workspace's, for an outsider).
    row("api/user/risk_config", GET=SIGNED_IN, PUT=ws(MANAGE_ACCOUNTS)),
    row("api/accounts/<id:pk>", GET=obj(VIEW)),
    row("api/accounts/<id:pk>/trades", GET=obj(VIEW)),
    row("api/accounts/<id:pk>/positions", GET=obj(VIEW)),
    row("api/accounts/<id:pk>/emergency-close", POST=obj(TRADE)),
    row("api/accounts/<id:pk>/rules", GET=obj(VIEW)),
    row("api/accounts/<id:pk>/violations", GET=obj(VIEW)),
    row("api/accounts/<id:pk>/metrics", GET=obj(VIEW)),
    row("api/accounts/<id:pk>/realtime-metrics", GET=obj(VIEW)),
    row("api/calendar/events", GET=SIGNED_IN),
    # --- Connecting accounts, keys, symbol maps ---------------------------------
    row("accounts/new/", GET=ws(MANAGE_ACCOUNTS), POST=ws(MANAGE_ACCOUNTS)),
    row(
        "accounts/connect/projectx/",
        GET=ws(MANAGE_ACCOUNTS),
        POST=ws(MANAGE_ACCOUNTS),
    ),
    row("accounts/connect/tradovate/oauth/", POST=ws(MANAGE_ACCOUNTS)),
    row("accounts/connect/tradovate/callback/", GET=ws(MANAGE_ACCOUNTS)),
    row(
        "accounts/connect/metatrader/",
        GET=ws(MANAGE_ACCOUNTS),
        POST=ws(MANAGE_ACCOUNTS),
    ),
    row(
        "accounts/connect/<str:venue>/",
        fill={"venue": "tradelocker"},
        GET=ws(MANAGE_ACCOUNTS),
        POST=ws(MANAGE_ACCOUNTS),
    ),
    row(
        "accounts/connect/<str:venue>/account/",
        fill={"venue": "tradelocker"},
        GET=ws(MANAGE_ACCOUNTS),
        POST=ws(MANAGE_ACCOUNTS),
    ),
    row("accounts/<id:pk>/keys/", GET=obj(MANAGE_KEYS)),
    row(
        "accounts/<id:pk>/ea/",
        fill={"pk": "mt_account"},
        GET=obj(VIEW),
        POST=obj(MANAGE_ACCOUNTS),
    ),
    row(
        "accounts/<id:pk>/ea/token/",
        fill={"pk": "mt_account"},
        POST=obj(MANAGE_ACCOUNTS),
    ),
    row("accounts/<id:pk>/symbols/", GET=obj(VIEW), POST=obj(MANAGE_ACCOUNTS)),
    row(
        "accounts/<id:pk>/keys/<id:key_pk>/revoke/",
        fill={"key_pk": "account_key"},
        POST=obj(MANAGE_KEYS),
    ),
    row(
        "keys/<id:key_pk>/addresses/",
        fill={"key_pk": "account_key"},
        POST=obj(MANAGE_KEYS),
    ),
    row("accounts/<id:pk>/keys/new/", POST=obj(MANAGE_KEYS)),
    row("accounts/<id:pk>/keys/created/", GET=obj(MANAGE_KEYS)),
    row("accounts/<id:pk>/alert-builder/", GET=obj(VIEW)),
    # --- Strategies (seed 004's bots) and their followers -----------------------
    row("strategies/", GET=SIGNED_IN),
    row("strategies/new/", GET=ws(MANAGE_ACCOUNTS), POST=ws(MANAGE_ACCOUNTS)),
    row("strategies/<id:pk>/", GET=obj(VIEW)),
    row("strategies/<id:pk>/settings/", POST=obj(MANAGE_ACCOUNTS)),
    row("strategies/<id:pk>/keys/new/", POST=obj(MANAGE_KEYS)),
    row("strategies/<id:pk>/keys/created/", GET=obj(MANAGE_KEYS)),
    row(
        "strategies/<id:pk>/keys/<id:key_pk>/revoke/",
        fill={"key_pk": "strategy_key"},
        POST=obj(MANAGE_KEYS),
    ),
    row("strategies/<id:pk>/subscriptions/", POST=obj(MANAGE_ACCOUNTS)),
    row("strategies/<id:pk>/subscriptions/<id:sub_pk>/", POST=obj(MANAGE_ACCOUNTS)),
    row(
        "strategies/<id:pk>/subscriptions/<id:sub_pk>/remove/",
        POST=obj(MANAGE_ACCOUNTS),
    ),
    row("strategies/<id:pk>/alert-builder/", GET=obj(VIEW)),
    # --- Signals and approvals -----------------------------------------------------
    row("signals/", GET=SIGNED_IN),
    row("signals/approvals/", GET=SIGNED_IN),
    row("signals/<id:pk>/", GET=obj(VIEW)),
    row("executions/<id:pk>/decision/", POST=obj(TRADE)),
    # --- The webhooks: each authenticates by its key, in the path or the body ----
    row("webhook/tradingview", POST=TOKEN),
    row("webhook/tradingview/test", GET=PUBLIC),
    row("api/v1/webhook/tradingview", POST=TOKEN),
    row("api/v1/webhook/tradingview/test", GET=PUBLIC),
    row("webhook/tradingview/<str:token>", fill={"token": "webhook_key"}, POST=TOKEN),
    row("api/unify/v1/webhook/<str:broker>", POST=TOKEN),
    row(
        "api/unify/v1/webhook/<str:broker>/<str:token>",
        fill={"token": "webhook_key"},
        POST=TOKEN,
    ),
    # --- Seed 002's registration and log; seed 004's bots, groups, group trades --
    row("api/unify/v1/register/<str:broker>", POST=ws(MANAGE_ACCOUNTS)),
    row("register/<str:broker>", POST=ws(MANAGE_ACCOUNTS)),
    row("api/logs/webhooks", GET=SIGNED_IN),
    row("api/v1/bots/create", POST=ws(MANAGE_ACCOUNTS)),
    row("api/v1/bots/list", GET=SIGNED_IN),
    row("api/v1/bots/<str:bot_id>", GET=obj(VIEW)),
    row("api/v1/bots/<str:bot_id>/status", POST=obj(MANAGE_ACCOUNTS)),
    row("api/v1/bots/<str:bot_id>/connect-account", POST=obj(MANAGE_ACCOUNTS)),
    row("api/v1/bots/<str:bot_id>/disconnect-account", POST=obj(MANAGE_ACCOUNTS)),
    # Flattens every follower: admin-only by role (seed 004); a trade token may.
    row("api/v1/bots/<str:bot_id>/terminate", scope="trade", POST=obj(MANAGE_ACCOUNTS)),
    row("api/v1/bots/<str:bot_id>/accounts", GET=obj(VIEW)),
    row("api/v1/bots/<str:bot_id>/performance", GET=obj(VIEW)),
    row("api/v1/groups/", GET=SIGNED_IN, POST=ws(MANAGE_ACCOUNTS)),
    row(
        "api/v1/groups/<str:group_id>",
        GET=obj(VIEW),
        PATCH=obj(MANAGE_ACCOUNTS),
        DELETE=obj(MANAGE_ACCOUNTS),
    ),
    row("api/v1/groups/<str:group_id>/performance", GET=obj(VIEW)),
    row("api/v1/groups/<str:group_id>/metrics", GET=obj(VIEW)),
    row("api/v1/groups/<str:group_id>/history", GET=obj(VIEW)),
    row("api/v1/groups/<str:group_id>/accounts", POST=obj(MANAGE_ACCOUNTS)),
    row(
        "api/v1/groups/<str:group_id>/accounts/<str:account_id>",
        POST=obj(MANAGE_ACCOUNTS),
        DELETE=obj(MANAGE_ACCOUNTS),
    ),
    # The group is named in the body, and read before the account.
    row(
        "api/v1/accounts/<str:account_id>/assign-group",
        body={"group_id": "group"},
        POST=obj(MANAGE_ACCOUNTS),
    ),
    # One order on every account of the group: admin-only by role (seed 004); a
    # trade token may, as it places orders.
    row(
        "api/v1/trading/group/<str:group_id>/execute",
        scope="trade",
        POST=obj(MANAGE_ACCOUNTS),
    ),
    # --- Seed 002's orders, strategies and trade export ------------------------
    row(
        "api/orders/close",
        body={"account_id": "account", "symbol": "BTCUSDT"},
        POST=obj(TRADE),
    ),
    # Signing secrets only to those who may manage keys (checked: no viewer sees one).
    row("api/strategies", GET=SIGNED_IN),
    row(
        "api/strategies/activate",
        body={"strategy_id": "strategy", "active": "true"},
        POST=obj(MANAGE_ACCOUNTS),
    ),
    # Without `account`: every account the caller may export (a viewer 403).
    row("api/export/trades", query="account=account", GET=obj(EXPORT)),
    # --- Seed 004's accounts and trading --------------------------------------------
    row("api/v1/accounts/create", POST=ws(MANAGE_ACCOUNTS)),
    row("api/v1/accounts/list", GET=SIGNED_IN),
    row(
        "api/v1/accounts/<str:account_id>",
        GET=obj(VIEW),
        DELETE=obj(MANAGE_ACCOUNTS),
    ),
    row("api/v1/accounts/<str:account_id>/performance", GET=obj(VIEW)),
    # A read of the venue's balance, no change of settings: a trade token may.
    row(
        "api/v1/accounts/<str:account_id>/sync-balance",
        scope="trade",
        POST=obj(MANAGE_ACCOUNTS),
    ),
    row(
        "api/v1/accounts/<str:account_id>/update-credentials",
        POST=obj(MANAGE_ACCOUNTS),
    ),
    row("api/v1/trading/positions/<str:account_id>", GET=obj(VIEW)),
    # Seed 004 says admin only; the code asks TRADE, which only admins hold.
    row("api/v1/trading/close-position/<str:account_id>", POST=obj(TRADE)),
    row("api/v1/trading/terminate/<str:account_id>", POST=obj(TRADE)),
    # --- Glue: health, metrics, the API schema and its docs, the admin ------------
    row("healthz", GET=PUBLIC),
    row("api/v1/health", GET=PUBLIC),
    # Staff see every workspace's windows; an admin their own (an outsider theirs).
    row("api/v1/metrics", GET=ws(MANAGE_ACCOUNTS)),
    row("api/schema/", GET=PUBLIC),
    row("api/docs/", GET=PUBLIC),
    # Django's admin form checks only the password: accounts.mfa sends anonymous
    # callers to allauth's, which asks for the second factor; a signed-in
    # non-staff session is shown the admin's form again.
    row("admin/login/", GET=SIGNED_IN, POST=SIGNED_IN),
    # Logs out whoever posts, staff or not, and goes back to the admin.
    row("admin/logout/", POST=PUBLIC),
    row(
        "admin/autocomplete/",
        query="app_label=brokers&model_name=order&field_name=account",
        GET=STAFF,
    ),
    # dj-stripe's confirmation of a Stripe sync or cancel, one route per model
    # (`*`: any one segment). Only its changelist's action renders it: a GET of
    # the address itself fails in dj-stripe's template, for staff alone.
    row("admin/djstripe/*/action/<str:action_name>/<str:model_name>/", GET=STAFF),
    # Every other admin page: AdminSite.admin_view wraps each (the model pages, a
    # user's password), whatever the method.
    subtree("admin/", GET=STAFF),
]
