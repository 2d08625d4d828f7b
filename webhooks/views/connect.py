"""Connect a real venue's account: sign in, pick the account, get its key.

The same two steps at every venue, post/redirect/get: the login is checked
against the venue, which lists the login's accounts; the login waits for the
second step encrypted in the session, never in a form or a page; the trader
picks an account (a live one needs a tick), and the account is connected with
its first webhook key, shown once on the key page.

What a login is differs: ProjectX takes a firm, a user name and an API key;
TradeLocker an e-mail, a password and the broker's server name; Tradovate a user
name, a password and an API key (`cid`, `sec`) — or, where this server is
registered at Tradovate as an OAuth app, nothing typed here: the trader signs in
at Tradovate, which sends them back with a code (`tradovate_callback`).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.permissions import Perm
from accounts.scoping import current_workspace
from billing.quotas import QuotaExceeded
from brokers.adapters.base import VenueAccount, VenueError
from brokers.adapters.registry import adapter_class, available_venues
from brokers.fields import decrypt, encrypt
from brokers.models import BrokerAccount
from brokers.venues.projectx.firms import FIRMS
from brokers.venues.tradovate import oauth
from brokers.venues.tradovate.adapter import api_url
from common.middleware import policy_with_form_action
from webhooks.intake.keys import account_register
from webhooks.views.base import key_to_show, no_store

ENVIRONMENTS = [("demo", "Demo (simulated money)"), ("live", "Live (real money)")]


class ProjectXLogin(forms.Form):
    firm = forms.ChoiceField(
        choices=[(firm.code, firm.name) for firm in FIRMS.values()],
        initial="topstepx",
    )
    user_name = forms.CharField(max_length=120, help_text="Your TopstepX user name.")
    api_key = forms.CharField(
        label="API key",
        max_length=500,
        widget=forms.PasswordInput(render_value=False),
        help_text="Made in the platform under Settings > API (it needs the ProjectX "
        "API subscription, linked to your profile).",
    )


class TradovateLogin(forms.Form):
    environment = forms.ChoiceField(
        choices=ENVIRONMENTS, initial="demo", widget=forms.RadioSelect
    )
    user_name = forms.CharField(max_length=120, help_text="Your Tradovate user name.")
    password = forms.CharField(
        max_length=200, widget=forms.PasswordInput(render_value=False)
    )
    cid = forms.IntegerField(
        label="API key id (cid)",
        min_value=1,
        max_value=10**9,
        help_text="Made at trader.tradovate.com under Application Settings > API "
        "Access (Tradovate's API add-on).",
    )
    sec = forms.CharField(
        label="API key secret",
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
    )


class TradeLockerLogin(forms.Form):
    environment = forms.ChoiceField(
        choices=ENVIRONMENTS, initial="demo", widget=forms.RadioSelect
    )
    email = forms.EmailField(
        label="E-mail",
        max_length=254,
        help_text="The one you sign in to TradeLocker with.",
    )
    password = forms.CharField(
        max_length=200, widget=forms.PasswordInput(render_value=False)
    )
    server = forms.CharField(
        max_length=120,
        help_text="Your broker's server, as TradeLocker's sign-in page names it "
        '("OSP-DEMO", for one).',
    )


@dataclass(frozen=True)
class Connector:
    venue: str
    title: str  # "TradeLocker"
    form: type[forms.Form]
    intro: str


CONNECTORS = {
    "projectx": Connector(
        "projectx",
        "TopstepX or another ProjectX firm",
        ProjectXLogin,
        "TradeFlow signs in with your user name and API key, lists your accounts, "
        "and you pick the one to trade. The key is kept encrypted and never shown "
        "again.",
    ),
    "tradovate": Connector(
        "tradovate",
        "Tradovate",
        TradovateLogin,
        "TradeFlow signs in with your Tradovate login and API key, lists your "
        "accounts, and you pick the one to trade. Password and secret are kept "
        "encrypted and never shown again.",
    ),
    "tradelocker": Connector(
        "tradelocker",
        "TradeLocker",
        TradeLockerLogin,
        "TradeFlow signs in with your TradeLocker login, lists your accounts, and "
        "you pick the one to trade: forex and CFDs. The password is kept encrypted "
        "and never shown again.",
    ),
}
OAUTH_STATE = "tradovate-oauth-state"


def _connector(venue: str) -> Connector:
    connector = CONNECTORS.get(venue)
    if connector is None or venue not in available_venues():
        raise Http404("No such venue to connect.")
    return connector


def _pending_key(venue: str) -> str:
    return f"connect:{venue}"


def _remember(
    request: HttpRequest,
    venue: str,
    options: dict[str, Any],
    accounts: list[VenueAccount],
) -> HttpResponse:
    """Keep the checked login (encrypted, in the session) and go to the choice."""
    pending = {
        **options,
        "accounts": [
            {
                "id": a.id,
                "name": a.name,
                "balance": str(a.balance),
                "live": a.live,
                "can_trade": a.can_trade,
            }
            for a in accounts
        ],
    }
    request.session[_pending_key(venue)] = encrypt(json.dumps(pending, default=str))
    return redirect("venue-choose", venue=venue)


@login_required
def venue_connect(request: HttpRequest, venue: str) -> HttpResponse:
    current_workspace(request, Perm.MANAGE_ACCOUNTS)
    connector = _connector(venue)
    form = connector.form(request.POST or None)
    if request.method == "POST" and form.is_valid():
        options = dict(form.cleaned_data)
        try:
            accounts = adapter_class(venue).venue_accounts(options)
        except VenueError as exc:
            form.add_error(None, exc.message)
        else:
            return _remember(request, venue, options, accounts)
    context = {
        "connector": connector,
        "form": form,
        "firms": list(FIRMS.values()) if venue == "projectx" else [],
        "hosted": settings.TRADEFLOW_HOSTED,
        "oauth": venue == "tradovate" and oauth.configured(),
    }
    status = 400 if form.errors else 200
    return _page(request, context, status)


def _page(request: HttpRequest, context: dict[str, Any], status: int) -> HttpResponse:
    response = render(request, "webhooks/venue_connect.html", context, status=status)
    if context.get("oauth"):  # the sign-in form leads to Tradovate
        parts = urlsplit(settings.TRADOVATE_OAUTH_URL)
        origin = f"{parts.scheme}://{parts.netloc}"
        response["Content-Security-Policy"] = policy_with_form_action(origin)
    return no_store(response)


def _pending(request: HttpRequest, venue: str) -> dict[str, Any] | None:
    raw = request.session.get(_pending_key(venue))
    return json.loads(decrypt(raw)) if raw else None


@login_required
def venue_choose(request: HttpRequest, venue: str) -> HttpResponse:
    workspace = current_workspace(request, Perm.MANAGE_ACCOUNTS)
    connector = _connector(venue)
    pending = _pending(request, venue)
    if pending is None:
        return redirect("venue-connect", venue=venue)
    connected = set(
        BrokerAccount.objects.filter(workspace=workspace, venue=venue).values_list(
            "external_id", flat=True
        )
    )
    error = ""
    if request.method == "POST":
        options = {k: v for k, v in pending.items() if k != "accounts"} | {
            "account_id": str(request.POST.get("account_id") or ""),
            "confirm_live": request.POST.get("confirm_live") == "on",
        }
        try:
            account, plain = account_register(
                workspace=workspace,
                user=request.user,  # type: ignore[arg-type]
                venue=venue,
                name="",
                options=options,
            )
        except (VenueError, QuotaExceeded) as exc:
            error = exc.message
        else:
            request.session.pop(_pending_key(venue), None)
            return key_to_show(request, "account-key-created", account.pk, plain)
    context = {
        "connector": connector,
        "accounts": [
            {**account, "balance": Decimal(account["balance"])}
            for account in pending["accounts"]
        ],
        "connected": connected,
        "firm": FIRMS[pending["firm"]] if venue == "projectx" else None,
        "error": error,
    }
    status = 400 if error else 200
    return no_store(
        render(request, "webhooks/venue_choose.html", context, status=status)
    )


# --- Tradovate's OAuth ----------------------------------------------------------------


def _callback_url() -> str:
    return f"{settings.SITE_URL}{reverse('tradovate-callback')}"


@login_required
@require_POST
def tradovate_oauth(request: HttpRequest) -> HttpResponse:
    """Off to Tradovate's sign-in, with a state only this session knows."""
    current_workspace(request, Perm.MANAGE_ACCOUNTS)
    _connector("tradovate")
    if not oauth.configured():
        raise Http404("This server is not registered at Tradovate.")
    environment = request.POST.get("environment")
    state = secrets.token_urlsafe(24)
    request.session[OAUTH_STATE] = {
        "state": state,
        "environment": environment if environment == "live" else "demo",
    }
    return redirect(oauth.authorize_url(state=state, redirect_uri=_callback_url()))


@login_required
def tradovate_callback(request: HttpRequest) -> HttpResponse:
    """Tradovate sends the trader back here: the code for a grant, the grant for
    the login's accounts, then the same choice as a typed login."""
    current_workspace(request, Perm.MANAGE_ACCOUNTS)
    connector = _connector("tradovate")
    started = request.session.pop(OAUTH_STATE, None)
    error = ""
    if not started or not secrets.compare_digest(
        str(started.get("state")), str(request.GET.get("state") or "")
    ):
        error = "That sign-in did not start here (or started too long ago): try again."
    elif request.GET.get("error"):
        error = "Tradovate did not let TradeFlow in: you chose Deny, or it refused."
    else:
        try:
            grant = oauth.exchange_code(
                code=str(request.GET.get("code") or ""), redirect_uri=_callback_url()
            )
            options = {
                "environment": started["environment"],
                "access_token": grant.access_token,
                "expires_at": grant.expires_at.isoformat(),
                "refresh_token": grant.refresh_token,
            }
            options["user_name"] = oauth.user_name(
                api_url(started["environment"]), grant.access_token
            )
            accounts = adapter_class("tradovate").venue_accounts(options)
        except VenueError as exc:
            error = exc.message
        else:
            return _remember(request, "tradovate", options, accounts)
    context = {
        "connector": connector,
        "form": connector.form(),
        "firms": [],
        "oauth": True,
        "oauth_error": error,
    }
    return no_store(render(request, "webhooks/venue_connect.html", context, status=400))
