"""The pricing page, the workspace's billing page, Checkout and the Portal, and
the white-label settings. Each calls the service the API calls."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Workspace
from accounts.permissions import Perm
from accounts.scoping import current_workspace, user_can, workspaces_for
from billing.checkout import BillingError, checkout_return, checkout_start, portal_start
from billing.models import Interval, WhiteLabel
from billing.quotas import PlanLimit
from billing.selectors import (
    billing_enabled,
    billing_status,
    billing_usage,
    plan_by_code,
    plans_public,
)
from billing.whitelabel import (
    FIELDS,
    WhiteLabelError,
    domain_token_of,
    white_label_allowed,
    white_label_of,
    white_label_save,
    white_label_verify,
)
from common.http import origin
from common.middleware import policy_with_form_action


def _to_stripe(response: HttpResponse) -> HttpResponse:
    """Its forms lead to Stripe's hosted pages: the policy must let them."""
    origins = settings.STRIPE_HOSTED_ORIGINS
    response["Content-Security-Policy"] = policy_with_form_action(origins)
    return response


def _may_manage(request: HttpRequest, workspace: Workspace) -> bool:
    return user_can(request.user, workspace, Perm.MANAGE_BILLING)


def _managed(request: HttpRequest) -> Workspace:
    """The workspace on screen, when the user may manage its billing: never
    another one they happen to administer."""
    workspace = current_workspace(request)
    if not _may_manage(request, workspace):
        raise PermissionDenied
    return workspace


def pricing(request: HttpRequest) -> HttpResponse:
    """Public: the plans side by side; signed in, a button to each."""
    context: dict[str, Any] = {
        "plans": plans_public(),
        "enabled": billing_enabled(),
        "trial_days": settings.TRIAL_DAYS,
        "trial_trades": settings.TRIAL_TRADES,
    }
    if request.user.is_authenticated and workspaces_for(request.user).exists():
        workspace = current_workspace(request)
        context["status"] = billing_status(workspace)
        context["may_manage"] = _may_manage(request, workspace)
    return _to_stripe(render(request, "billing/pricing.html", context))


@login_required
def billing_page(request: HttpRequest) -> HttpResponse:
    workspace = current_workspace(request)
    context = {
        "workspace": workspace,
        "status": billing_status(workspace),
        "usage": billing_usage(workspace.pk),
        "may_manage": _may_manage(request, workspace),
        "enabled": billing_enabled(),
    }
    return _to_stripe(render(request, "billing/billing.html", context))


@login_required
@require_POST
def checkout(request: HttpRequest) -> HttpResponse:
    """The pricing page's button: off to Stripe Checkout, or changed in place."""
    workspace = _managed(request)
    plan = plan_by_code(request.POST.get("plan", ""))
    interval = request.POST.get("interval", Interval.MONTH)
    if plan is None or not plan.public:
        messages.error(request, "No such plan.")
        return redirect("pricing")
    try:
        result = checkout_start(
            workspace=workspace,
            plan=plan,
            interval=interval,
            site=origin(request),
        )
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("pricing")
    if result.url:
        return redirect(result.url)
    messages.success(request, f"The workspace is on {plan.name} now; Stripe prorates.")
    return redirect("billing")


@login_required
@require_POST
def portal(request: HttpRequest) -> HttpResponse:
    workspace = _managed(request)
    try:
        url = portal_start(workspace=workspace, site=origin(request))
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("billing")
    return redirect(url)


@login_required
def checkout_back(request: HttpRequest) -> HttpResponse:
    """Stripe's success URL: read the session now, then the billing page."""
    workspace = _managed(request)
    try:
        checkout_return(
            workspace=workspace, session_id=request.GET.get("session_id", "")[:255]
        )
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("billing")
    status = billing_status(workspace)
    if status.status == "active":
        messages.success(request, f"Welcome to {status.plan_name}: it is active.")
    else:
        messages.info(request, "Stripe is confirming the payment; this page updates.")
    return redirect("billing")


@login_required
@require_http_methods(["GET", "POST"])
def white_label_page(request: HttpRequest) -> HttpResponse:
    workspace = current_workspace(request)
    errors: dict[str, str] = {}
    may_manage = _may_manage(request, workspace)
    if request.method == "POST":
        if not may_manage:
            raise PermissionDenied
        data = {name: request.POST.get(name, "") for name in FIELDS}
        try:
            white_label_save(workspace_id=workspace.pk, data=data)
        except PlanLimit as exc:
            messages.error(request, exc.message)
        except WhiteLabelError as exc:
            errors[exc.field] = exc.message
        else:
            messages.success(request, "The brand is saved.")
            return redirect("white-label")
    brand = white_label_of(workspace.pk)
    if request.method == "POST":
        brand.update({name: request.POST.get(name, "") for name in FIELDS})
    context = {"brand": brand, "errors": errors, "may_manage": may_manage}
    return render(
        request, "billing/white_label.html", context, status=400 if errors else 200
    )


@login_required
def brand_css(request: HttpRequest) -> HttpResponse:
    """The workspace's colours as CSS variables (no inline style: the policy)."""
    workspace = current_workspace(request)
    brand = WhiteLabel.objects.filter(workspace=workspace).first()
    rules = []
    if brand is not None and white_label_allowed(workspace.pk):
        if brand.primary_color:
            rules.append(f"--accent:{brand.primary_color};")
        if brand.accent_color:
            rules.append(f"--warn:{brand.accent_color};")
    response = HttpResponse(f":root{{{''.join(rules)}}}\n", content_type="text/css")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@login_required
@require_POST
def white_label_verify_page(request: HttpRequest) -> HttpResponse:
    workspace = _managed(request)
    try:
        white_label_verify(workspace_id=workspace.pk)
    except (PlanLimit, WhiteLabelError) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The domain reaches TradeFlow: webhook URLs use it.")
    return redirect("white-label")


def domain_challenge(request: HttpRequest) -> HttpResponse:
    """A white-label domain's token, answered to TradeFlow's own check: the
    request came through that domain, so the domain reaches this instance."""
    token = domain_token_of(request.get_host())
    if token is None:
        raise Http404
    return HttpResponse(token, content_type="text/plain")
