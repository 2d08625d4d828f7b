"""Connect a TopstepX / ProjectX account: sign in, pick the account, get its key.

Two steps, post/redirect/get: the login (firm, user name, API key) is checked
against the venue, which lists the login's accounts; the login waits for the
second step encrypted in the session, never in a form or a page; the trader
picks an account (a live one needs a tick), and the account is connected with
its first webhook key, shown once on the key page.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.permissions import Perm
from accounts.scoping import current_workspace
from billing.quotas import QuotaExceeded
from brokers.adapters.base import VenueError
from brokers.adapters.registry import adapter_class
from brokers.fields import decrypt, encrypt
from brokers.models import BrokerAccount
from brokers.venues.projectx.firms import FIRMS
from webhooks.intake.keys import account_register
from webhooks.views.base import key_to_show, no_store

PENDING = "projectx-connect"  # the session key of a checked login


class LoginForm(forms.Form):
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


@login_required
def projectx_connect(request: HttpRequest) -> HttpResponse:
    current_workspace(request, Perm.MANAGE_ACCOUNTS)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        options = dict(form.cleaned_data)
        try:
            accounts = adapter_class("projectx").venue_accounts(options)
        except VenueError as exc:
            form.add_error(None, exc.message)
        else:
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
            request.session[PENDING] = encrypt(json.dumps(pending))
            return redirect("projectx-choose")
    context = {
        "form": form,
        "firms": list(FIRMS.values()),
        "hosted": settings.TRADEFLOW_HOSTED,
    }
    status = 400 if form.errors else 200
    return no_store(
        render(request, "webhooks/projectx_connect.html", context, status=status)
    )


def _pending(request: HttpRequest) -> dict[str, Any] | None:
    raw = request.session.get(PENDING)
    return json.loads(decrypt(raw)) if raw else None


@login_required
def projectx_choose(request: HttpRequest) -> HttpResponse:
    workspace = current_workspace(request, Perm.MANAGE_ACCOUNTS)
    pending = _pending(request)
    if pending is None:
        return redirect("projectx-connect")
    connected = set(
        BrokerAccount.objects.filter(workspace=workspace, venue="projectx").values_list(
            "external_id", flat=True
        )
    )
    error = ""
    if request.method == "POST":
        chosen = str(request.POST.get("account_id") or "")
        options = {key: pending[key] for key in ("firm", "user_name", "api_key")} | {
            "account_id": chosen,
            "confirm_live": request.POST.get("confirm_live") == "on",
        }
        try:
            account, plain = account_register(
                workspace=workspace,
                user=request.user,  # type: ignore[arg-type]
                venue="projectx",
                name="",
                options=options,
            )
        except (VenueError, QuotaExceeded) as exc:
            error = exc.message
        else:
            request.session.pop(PENDING, None)
            return key_to_show(request, "account-key-created", account.pk, plain)
    context = {
        "accounts": [
            {**account, "balance": Decimal(account["balance"])}
            for account in pending["accounts"]
        ],
        "connected": connected,
        "firm": FIRMS[pending["firm"]],
        "error": error,
    }
    status = 400 if error else 200
    return no_store(
        render(request, "webhooks/projectx_choose.html", context, status=status)
    )
