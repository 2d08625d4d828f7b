"""The paper account pages: list, detail with live fragments, reset, flatten, cancel.

The pages change accounts through the same calls as the API, which run the service
and announce the change, so every open page and API client hears of it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import Perm
from accounts.scoping import user_can
from brokers import services as broker_services
from brokers.adapters.base import VenueError
from paperbroker.accounting import account_state
from paperbroker.models import PaperAccount
from paperbroker.realtime import cancel_and_notify, reset_and_notify
from paperbroker.selectors import (
    fills_for_account,
    metrics,
    paper_account_for_user_or_404,
    paper_accounts_for_user,
    paper_order_for_user_or_404,
    working_orders_for_account,
)

DETAIL_FRAGMENTS = {"summary", "positions", "orders", "fills", "metrics"}
RECENT_FILLS = 20
# What each confirmation page says. The POST must carry `confirm=<action>`, so a
# stray or replayed form without it only shows the question again.
CONFIRM = {
    "reset": (
        "Reset",
        "Delete every order, fill, position and trade, and restore the initial "
        "balance. This cannot be undone.",
    ),
    "flatten": (
        "Flatten",
        "Cancel every working order and close every open position at market.",
    ),
}


# --- List -----------------------------------------------------------------------------


def _list_context(request: HttpRequest) -> dict[str, object]:
    accounts = paper_accounts_for_user(request.user)
    return {"rows": [(account, account_state(account)) for account in accounts]}


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    return render(request, "paperbroker/account_list.html", _list_context(request))


@login_required
def account_list_fragment(request: HttpRequest) -> HttpResponse:
    return render(
        request, "paperbroker/account_list.html#accounts", _list_context(request)
    )


# --- Detail ---------------------------------------------------------------------------


def _detail_context(request: HttpRequest, pk: int) -> dict[str, object]:
    account = paper_account_for_user_or_404(request.user, pk)
    workspace = account.broker_account.workspace
    return {
        "account": account,
        "state": account_state(account),
        "orders": working_orders_for_account(account),
        "fills": fills_for_account(account, RECENT_FILLS),
        "metrics": metrics(account),
        "can_trade": user_can(request.user, workspace, Perm.TRADE),
    }


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(
        request, "paperbroker/account_detail.html", _detail_context(request, pk)
    )


@login_required
def account_fragment(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """One live section of the detail page, re-fetched when the websocket says so."""
    if name not in DETAIL_FRAGMENTS:
        raise Http404
    return render(
        request,
        f"paperbroker/account_detail.html#{name}",
        _detail_context(request, pk),
    )


# --- Actions --------------------------------------------------------------------------


def _confirm_page(
    request: HttpRequest, account: PaperAccount, action: str
) -> HttpResponse:
    verb, consequence = CONFIRM[action]
    context = {
        "account": account,
        "action": action,
        "verb": verb,
        "consequence": consequence,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "paperbroker/confirm.html", context, status=status)


def _confirmed(request: HttpRequest, action: str) -> bool:
    return request.method == "POST" and request.POST.get("confirm") == action


@login_required
@require_http_methods(["GET", "POST"])
def account_reset(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks; a POST carrying `confirm=reset` resets."""
    account = paper_account_for_user_or_404(request.user, pk, Perm.TRADE)
    if not _confirmed(request, "reset"):
        return _confirm_page(request, account, "reset")
    account = reset_and_notify(account=account)
    messages.success(request, f"{account.broker_account.name} is reset.")
    return redirect("paper-account", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def account_flatten(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks; a POST carrying `confirm=flatten` flattens."""
    account = paper_account_for_user_or_404(request.user, pk, Perm.TRADE)
    if not _confirmed(request, "flatten"):
        return _confirm_page(request, account, "flatten")
    try:
        done = broker_services.account_flatten(account=account.broker_account)
    except VenueError as exc:
        messages.error(request, exc.message)
        return redirect("paper-account", pk=pk)
    refused = [o for o in done.closing if o.reject_reason]
    if refused:
        reasons = "; ".join(f"{o.symbol}: {o.reject_reason}" for o in refused)
        messages.error(request, f"Some positions stay open. {reasons}")
    else:
        messages.success(request, f"{account.broker_account.name} is flat.")
    return redirect("paper-account", pk=pk)


@login_required
@require_POST
def order_cancel(request: HttpRequest, pk: int, order_pk: int) -> HttpResponse:
    order = paper_order_for_user_or_404(request.user, order_pk, Perm.TRADE)
    if order.account.broker_account_id != pk:
        raise Http404
    try:
        cancel_and_notify(account=order.account, order_id=order.pk)
    except VenueError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Order {order.pk} is cancelled.")
    return redirect("paper-account", pk=pk)
