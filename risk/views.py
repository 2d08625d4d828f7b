"""The kill switch page and resuming an account after it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import Perm
from accounts.scoping import get_for_user_or_404, workspaces_for
from brokers.models import BrokerAccount
from risk.services import emergency_stop, trading_resume


@login_required
@require_http_methods(["GET", "POST"])
def emergency_stop_page(request: HttpRequest) -> HttpResponse:
    """GET asks for confirmation (works without JavaScript); POST stops everything."""
    if not workspaces_for(request.user, Perm.TRADE).exists():
        raise PermissionDenied
    if request.method == "GET":
        accounts = BrokerAccount.objects.for_user(request.user, Perm.TRADE).filter(
            enabled=True
        )
        return render(request, "risk/emergency_stop.html", {"accounts": accounts})
    report = emergency_stop(user=request.user)  # type: ignore[arg-type]
    text = (
        f"Stopped: {_count(report.accounts, 'account')} flattened and close-only, "
        f"{_count(report.orders_cancelled, 'working order')} cancelled, "
        f"{_count(report.positions_closed, 'position')} closed, "
        f"{_count(report.strategies_stopped, 'strategy', 'strategies')} stopped."
    )
    if report.errors:
        messages.error(request, f"{text} Failed on: {report.errors}")
    else:
        messages.success(request, text)
    return redirect("dashboard")


@login_required
@require_POST
def account_resume(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_for_user_or_404(
        BrokerAccount.objects.all(), request.user, Perm.TRADE, pk=pk
    )
    if trading_resume(account=account):
        messages.success(request, f"{account.name} may open positions again.")
    return redirect("dashboard")


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"
