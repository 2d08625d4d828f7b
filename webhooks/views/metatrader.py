"""MetaTrader's pages: connect an account (no login to check: the Expert Advisor
connects from the terminal), and the account's EA page: its status, the install
steps and the download, its token (shown once, rotatable) and what an order does
while it is offline."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import Perm
from accounts.scoping import current_workspace
from billing.quotas import QuotaExceeded
from brokers.adapters.base import VenueError
from brokers.fields import decrypt, encrypt
from brokers.selectors import account_for_user_or_404
from brokers.venues.metatrader.models import Terminal
from brokers.venues.metatrader.services import terminal_token_issue
from brokers.venues.metatrader.setup import FILES, ea_setup, install_steps
from brokers.venues.metatrader.views import ea_status
from webhooks.intake.keys import account_register
from webhooks.views.base import no_store, site

EA_TOKEN = "new-ea-token:{pk}"  # noqa: S105 - a session slot, not a token
WEBHOOK_KEY = "new-key:account-key-created:{pk}"


class MetaTraderForm(forms.Form):
    name = forms.CharField(
        max_length=120,
        required=False,
        help_text='Empty: "MetaTrader 5" (then "MetaTrader 5 2", ...).',
    )
    platform = forms.ChoiceField(
        choices=[("mt5", "MetaTrader 5"), ("mt4", "MetaTrader 4")],
        initial="mt5",
        widget=forms.RadioSelect,
    )
    currency = forms.CharField(
        max_length=3,
        initial="USD",
        required=False,
        help_text="The account's currency, as the terminal shows it.",
    )


class OfflineForm(forms.Form):
    offline_policy = forms.ChoiceField(
        label="While the EA is offline",
        choices=Terminal.OfflinePolicy.choices,
        widget=forms.RadioSelect,
    )
    queue_seconds = forms.IntegerField(
        label="Seconds an order waits",
        min_value=0,
        max_value=3600,
        help_text="Queue: how long an order waits for the EA before it expires.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def metatrader_connect(request: HttpRequest) -> HttpResponse:
    """Open a MetaTrader account here; its EA token and webhook key are shown
    once, on its EA page, with the install steps."""
    workspace = current_workspace(request, Perm.MANAGE_ACCOUNTS)
    form = MetaTraderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account, plain = account_register(
                workspace=workspace,
                user=request.user,  # type: ignore[arg-type]
                venue=form.cleaned_data["platform"],
                name=form.cleaned_data["name"],
                currency=form.cleaned_data["currency"] or "USD",
            )
        except (VenueError, QuotaExceeded) as exc:
            form.add_error(None, exc.message)
        else:
            setup = ea_setup(account, site(request))
            request.session[EA_TOKEN.format(pk=account.pk)] = encrypt(setup["ea_token"])
            request.session[WEBHOOK_KEY.format(pk=account.pk)] = encrypt(plain)
            return redirect("account-ea", pk=account.pk)
    return render(
        request,
        "webhooks/metatrader_connect.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_ea(request: HttpRequest, pk: int) -> HttpResponse:
    """The account's Expert Advisor: connected or not, the terminal it runs in,
    the install steps and download, its offline setting; a new token, once."""
    account = account_for_user_or_404(request.user, pk)
    terminal = Terminal.objects.filter(account=account).first()
    if terminal is None:
        return redirect("dashboard")
    terminal.account = account
    form = OfflineForm(
        request.POST or None,
        initial={
            "offline_policy": terminal.offline_policy,
            "queue_seconds": terminal.queue_seconds,
        },
    )
    if request.method == "POST":
        account_for_user_or_404(request.user, pk, Perm.MANAGE_ACCOUNTS)
        if form.is_valid():
            Terminal.objects.filter(pk=terminal.pk).update(**form.cleaned_data)
            messages.success(request, "Saved.")
            return redirect("account-ea", pk=account.pk)
    token = request.session.pop(EA_TOKEN.format(pk=account.pk), None)
    webhook_key = request.session.pop(WEBHOOK_KEY.format(pk=account.pk), None)
    server = site(request)
    context = {
        "account": account,
        "terminal": terminal,
        "status": ea_status(terminal),
        "form": form,
        "ea_token": decrypt(token) if token else None,
        "webhook_key": decrypt(webhook_key) if webhook_key else None,
        "webhook_url": server + reverse("webhook", kwargs={"broker": account.venue}),
        "server_url": server,
        "file_name": FILES[account.venue],
        "steps": install_steps(account.venue, server),
    }
    response = render(
        request,
        "webhooks/account_ea.html",
        context,
        status=400 if form.errors else 200,
    )
    return no_store(response) if token or webhook_key else response


@login_required
@require_POST
def account_ea_token(request: HttpRequest, pk: int) -> HttpResponse:
    """A new EA token: the old one stops at once (the EA says hello again with
    the new one)."""
    account = account_for_user_or_404(request.user, pk, Perm.MANAGE_ACCOUNTS)
    terminal = Terminal.objects.filter(account=account).first()
    if terminal is None:
        return redirect("dashboard")
    token = terminal_token_issue(terminal=terminal)
    request.session[EA_TOKEN.format(pk=account.pk)] = encrypt(token)
    messages.success(request, "A new EA token: the old one no longer connects.")
    return redirect("account-ea", pk=account.pk)
