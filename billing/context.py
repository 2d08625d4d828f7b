"""What every page shows of billing: the trial or payment banner, the brand."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from accounts.scoping import current_workspace
from billing.models import WhiteLabel
from billing.selectors import billing_status


def billing(request: HttpRequest) -> dict[str, object]:
    """Two or three queries a page; none for an HTMX fragment (no banner there)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or getattr(request, "htmx", False):
        return {}
    try:
        workspace = current_workspace(request)
    except Http404:  # a user without a workspace yet (made in the admin)
        return {}
    status = billing_status(workspace)
    plan = status.plan_in_force
    branded = not status.enabled or (plan is not None and plan.white_label)
    brand = WhiteLabel.objects.filter(workspace=workspace).first() if branded else None
    return {"billing_banner": status, "brand": brand}
