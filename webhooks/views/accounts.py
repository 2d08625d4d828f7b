"""The trader's account pages: open a paper account, its webhook keys (issue,
revoke, restrict to addresses), its symbol maps and what an alert would trade."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import Perm
from accounts.scoping import current_workspace, get_for_user_or_404, user_can
from billing.quotas import QuotaExceeded
from brokers.adapters.base import VenueError
from brokers.models import BrokerAccount
from brokers.selectors import account_for_user_or_404
from brokers.symbols import (
    Lookup,
    SymbolMapError,
    account_symbols_update,
    symbol_lookup,
)
from webhooks.intake.examples import example_curl
from webhooks.intake.keys import (
    account_register,
    api_key_allow,
    api_key_issue,
    api_key_revoke,
)
from webhooks.models import TRADINGVIEW_IPS, ApiKey
from webhooks.views.base import (
    htmx,
    key_shown,
    key_to_show,
    no_store,
    user_of,
    webhook_site,
)
from webhooks.views.forms import PaperAccountForm, SymbolMapsForm


def _key_context(
    request: HttpRequest, account: BrokerAccount, plain_key: str
) -> dict[str, object]:
    base = webhook_site(request, account.workspace_id)
    url = base + reverse("webhook", kwargs={"broker": account.venue})
    return {
        "account": account,
        "api_key": plain_key,
        "webhook_url": url,
        "tradingview_url": f"{url}/{plain_key}",
        "curl": example_curl(url=url, key=plain_key, venue=account.venue),
    }


@login_required
@require_http_methods(["GET", "POST"])
def account_new(request: HttpRequest) -> HttpResponse:
    """Open a paper account; its webhook key is shown on the next page, once."""
    workspace = current_workspace(request, Perm.MANAGE_ACCOUNTS)
    form = PaperAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account, plain = account_register(
                workspace=workspace,
                user=request.user,  # type: ignore[arg-type]
                venue="paper",
                name=form.cleaned_data["name"],
                currency=form.cleaned_data["currency"],
                options={"initial_balance": form.cleaned_data["initial_balance"]},
            )
        except (VenueError, QuotaExceeded) as exc:
            form.add_error(None, exc.message)
        else:
            return key_to_show(request, "account-key-created", account.pk, plain)
    return render(
        request,
        "webhooks/account_new.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@login_required
def account_keys(request: HttpRequest, pk: int) -> HttpResponse:
    """An account's webhook keys: when each was made and last used; revoke."""
    account = account_for_user_or_404(request.user, pk, Perm.MANAGE_KEYS)
    keys = ApiKey.objects.filter(account=account).select_related("created_by")
    return render(request, "webhooks/keys.html", {"account": account, "keys": keys})


@login_required
@require_POST
def account_key_revoke(request: HttpRequest, pk: int, key_pk: int) -> HttpResponse:
    account = account_for_user_or_404(request.user, pk, Perm.MANAGE_KEYS)
    api_key = get_object_or_404(ApiKey, account=account, pk=key_pk)
    api_key_revoke(api_key=api_key)
    messages.success(request, f"Key {api_key.prefix}… is revoked.")
    return redirect("account-keys", pk=account.pk)


@login_required
@require_POST
def account_key_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue another key for an account (rotation: revoke the old one afterwards)."""
    account = account_for_user_or_404(request.user, pk, Perm.MANAGE_KEYS)
    try:
        _, plain = api_key_issue(account=account, created_by=request.user)  # type: ignore[arg-type]
    except QuotaExceeded as exc:
        messages.error(request, exc.message)
        return redirect("account-keys", pk=account.pk)
    return key_to_show(request, "account-key-created", account.pk, plain)


@login_required
def account_key_created(request: HttpRequest, pk: int) -> HttpResponse:
    """The new key, once (then a sentence saying it was shown); never cached."""
    account = account_for_user_or_404(request.user, pk, Perm.MANAGE_KEYS)
    plain = key_shown(request, "account-key-created", account.pk)
    context = (
        _key_context(request, account, plain)
        if plain
        else {"account": account, "api_key": None}
    )
    return no_store(render(request, "webhooks/key_created.html", context))


@login_required
@require_POST
def key_addresses(request: HttpRequest, key_pk: int) -> HttpResponse:
    """Set the addresses a key accepts alerts from; "TradingView" is a preset."""
    api_key = get_for_user_or_404(
        ApiKey.objects.select_related("strategy"),
        request.user,
        Perm.MANAGE_KEYS,
        pk=key_pk,
    )
    if request.POST.get("preset") == "tradingview":
        addresses = list(TRADINGVIEW_IPS)
    elif request.POST.get("preset") == "anywhere":
        addresses = []
    else:
        addresses = request.POST.get("addresses", "").replace(",", " ").split()
    try:
        kept = api_key_allow(api_key=api_key, addresses=addresses)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        where = ", ".join(kept) if kept else "anywhere"
        messages.success(request, f"Key {api_key.prefix}… accepts alerts from {where}.")
    if api_key.strategy_id:
        return redirect("strategy-detail", pk=api_key.strategy_id)
    if api_key.account_id:
        return redirect("account-keys", pk=api_key.account_id)
    return redirect("dashboard")


# --- Symbols --------------------------------------------------------------------------

SYMBOLS_PAGE = "webhooks/account_symbols.html"


@login_required
@require_http_methods(["GET", "POST"])
def account_symbols(request: HttpRequest, pk: int) -> HttpResponse:
    """An account's symbol maps, and what an alert's symbol would trade on it.

    GET `?symbol=NQ1!` looks one up (HTMX gets the result alone); POST saves the
    maps (MANAGE_ACCOUNTS), and invalid input saves nothing.
    """
    if request.method == "POST":
        account = account_for_user_or_404(request.user, pk, Perm.MANAGE_ACCOUNTS)
        form = SymbolMapsForm(request.POST, venue=account.get_venue_display())
        if form.is_valid():
            try:
                account_symbols_update(
                    account=account, user=user_of(request), **form.cleaned_data
                )
            except SymbolMapError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request, f"Saved: alerts to {account.name} follow these maps."
                )
                return redirect("account-symbols", pk=account.pk)
        return _symbols_page(request, account, form=form, status=400)
    account = account_for_user_or_404(request.user, pk)
    lookup = None
    if "symbol" in request.GET:
        lookup = symbol_lookup(account=account, alert_symbol=request.GET["symbol"])
    if htmx(request):
        context = {"account": account, "lookup": lookup}
        return render(request, f"{SYMBOLS_PAGE}#lookup", context)
    return _symbols_page(request, account, lookup=lookup)


def _symbols_page(
    request: HttpRequest,
    account: BrokerAccount,
    *,
    form: SymbolMapsForm | None = None,
    lookup: Lookup | None = None,
    status: int = 200,
) -> HttpResponse:
    maps = {
        "symbol_overrides": account.symbol_overrides,
        "venue_symbols": account.venue_symbols,
    }
    context = {
        "account": account,
        "form": form or SymbolMapsForm(initial=maps, venue=account.get_venue_display()),
        "can_manage": user_can(request.user, account.workspace, Perm.MANAGE_ACCOUNTS),
        "lookup": lookup,
        "symbol": lookup.alert_symbol if lookup else "",
    }
    return render(request, SYMBOLS_PAGE, context, status=status)
