from __future__ import annotations

from django import template

register = template.Library()
# The refusal codes a plan lifts: a link to the pricing page goes beside them.
BILLING_CODES = ("trial-expired", "payment-past-due", "subscription-ended")


@register.filter
def billing_refusal(code: str | None) -> bool:
    if not code:
        return False
    return code in BILLING_CODES or code.startswith("plan-limit:")
