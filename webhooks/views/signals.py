"""The signal log, one signal's detail with its executions, and the approvals
of strategies in approval mode (also a fragment of the dashboard)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import Perm
from accounts.scoping import (
    AnyUser,
    user_can,
    workspaces_for,
)
from webhooks.execution.supervision import execution_decide
from webhooks.intake.intents import Intent
from webhooks.selectors import (
    PHASES,
    awaiting_executions_for_user,
    execution_for_user_or_404,
    execution_phases,
    signal_executions,
    signal_for_user_or_404,
    signals_for_user,
)
from webhooks.views.base import htmx, page, user_of
from webhooks.views.forms import (
    SignalFilterForm,
)

SIGNALS_PER_PAGE = 50


# --- Signal log ---------------------------------------------------------------------


@login_required
def signal_list(request: HttpRequest) -> HttpResponse:
    """The signal log, newest first; filters and page travel in the query string."""
    form = SignalFilterForm(request.GET or None, user=request.user)
    form.is_valid()  # cleaned_data keeps the filters that are valid
    filters = getattr(form, "cleaned_data", {})
    paginator = Paginator(signals_for_user(request.user, filters), SIGNALS_PER_PAGE)
    context = {"form": form, "page": paginator.get_page(request.GET.get("page"))}
    return render(request, page(request, "webhooks/signals.html", "log"), context)


@login_required
def signal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    signal = signal_for_user_or_404(request.user, pk)
    assert signal.workspace is not None
    executions = signal_executions(signal)
    context = {
        "signal": signal,
        "payload": _readable(signal.payload),
        "rows": [(e, execution_phases(signal, e)) for e in executions],
        "phases": [*PHASES, "total"],
        "can_decide": user_can(request.user, signal.workspace, Perm.TRADE),
    }
    template = page(request, "webhooks/signal_detail.html", "executions")
    return render(request, template, context)


def _readable(payload: dict[str, Any] | None) -> str:
    """The parsed intent as pretty JSON in the Intent's field order, unset fields
    left out (the database keeps JSON keys in its own order)."""
    if not payload:
        return ""
    order = {name: i for i, name in enumerate(Intent.__dataclass_fields__)}
    names = sorted(payload, key=lambda name: order.get(name, len(order)))
    unset: tuple[object, ...] = (None, "", {}, [], False)
    shown = {name: payload[name] for name in names if payload[name] not in unset}
    return json.dumps(shown, indent=2)


def approvals_context(user: AnyUser) -> dict[str, Any]:
    """The dashboard's approvals fragment: what waits, and where the user decides."""
    return {
        "approvals": awaiting_executions_for_user(user),
        "trade_workspaces": set(
            workspaces_for(user, Perm.TRADE).values_list("pk", flat=True)
        ),
    }


@login_required
def approvals(request: HttpRequest) -> HttpResponse:
    """What waits for the trader's approval: the dashboard's live fragment."""
    return render(request, "webhooks/approvals.html", approvals_context(request.user))


@login_required
@require_POST
def execution_decision(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject an execution that waits on its strategy's approval."""
    execution = execution_for_user_or_404(request.user, pk, Perm.TRADE)
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        return HttpResponseBadRequest("decision must be approve or reject")
    done = execution_decide(
        execution=execution, user=user_of(request), approve=decision == "approve"
    )
    if htmx(request):
        context = approvals_context(request.user)
        return render(request, "webhooks/approvals.html", context)
    if done:
        verb = "approved" if decision == "approve" else "rejected"
        messages.success(request, f"{execution.account.name}: signal {verb}.")
    else:
        messages.error(request, "This signal was decided already (or expired).")
    return redirect("signal-detail", pk=execution.signal_id)
