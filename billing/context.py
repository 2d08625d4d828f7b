"""What every page shows of billing: the trial or payment banner, the brand."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from accounts.scoping import current_workspace
from billing.models import WhiteLabel
from billing.selectors import billing_status
from billing.whitelabel import white_label_allowed


def billing(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    try:
        workspace = current_workspace(request)
    except Http404:  # a user without a workspace yet (made in the admin)
        return {}
    brand = None
    if white_label_allowed(workspace.pk):
        brand = WhiteLabel.objects.filter(workspace=workspace).first()
    return {"billing_banner": billing_status(workspace), "brand": brand}
