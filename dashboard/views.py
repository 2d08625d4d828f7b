"""The dashboard with its live fragments, the kill switch page and the public
benchmarks page."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.permissions import Perm
from accounts.scoping import current_workspace, workspaces_for
from accounts.services import user_ensure_workspace
from brokers.models import BrokerAccount
from brokers.selectors import accounts_for_user, open_positions_for_user
from dashboard.benchmarks import DEFAULT_PATH, FLOOR, benchmark_results
from dashboard.services import emergency_stop
from webhooks.selectors import recent_signals_for_user
from webhooks.views.signals import approvals_context

FRAGMENTS = {"accounts", "positions", "signals"}


def _dashboard_context(request: HttpRequest) -> dict[str, object]:
    workspace = current_workspace(request)
    return {
        "workspace": workspace,
        "accounts": accounts_for_user(request.user),
        "positions": open_positions_for_user(request.user),
        "signals": recent_signals_for_user(request.user),
        **approvals_context(request.user),
    }


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    # Users made outside signup (createsuperuser, the admin) get their workspace here.
    user_ensure_workspace(user=request.user)  # type: ignore[arg-type]
    return render(request, "dashboard/dashboard.html", _dashboard_context(request))


@login_required
def dashboard_fragment(request: HttpRequest, name: str) -> HttpResponse:
    """One live fragment of the dashboard, re-fetched when the websocket says so."""
    if name not in FRAGMENTS:
        raise Http404
    return render(
        request, f"dashboard/dashboard.html#{name}", _dashboard_context(request)
    )


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
        return render(request, "dashboard/emergency_stop.html", {"accounts": accounts})
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


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def benchmarks(request: HttpRequest) -> HttpResponse:
    """The public results page: readable without an account."""
    path = Path(getattr(settings, "BENCH_RESULTS_PATH", DEFAULT_PATH))
    context = {"results": benchmark_results(path), "floor": FLOOR}
    return render(request, "dashboard/benchmarks.html", context)
