"""docs/billing.md's examples as the API answers them, and its tables as the
code has them."""

from __future__ import annotations

import json
import re

from billing.models import Plan
from testkit import api_client_for as api
from testkit.processes import ROOT

DOCS = (ROOT / "docs" / "billing.md").read_text()


def test_the_documented_status_is_what_the_api_answers(world, billing_on):
    documented = json.loads(re.findall(r"```json\n(.+?)\n```", DOCS, flags=re.S)[0])
    answered = api(world.owner).get("/api/billing/status").json()
    assert answered.keys() == documented.keys()
    assert answered["limits"].keys() == documented["limits"].keys()
    assert (answered["plan"], answered["plan_name"], answered["status"]) == (
        documented["plan"],
        documented["plan_name"],
        documented["status"],
    )
    usage = api(world.owner).get("/api/billing/usage").json()
    assert set(usage) >= {"trades_count", "trial_trades_remaining", "days_remaining"}
    assert usage["usage"]["accounts"].keys() == {"used", "limit", "over"}


def test_the_documented_plans_are_the_default_plans(world):
    for plan in Plan.objects.all():
        row = next(
            line for line in DOCS.splitlines() if line.startswith(f"| {plan.name} |")
        )
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[1] == f"${plan.monthly_price:,.0f}"
        assert cells[2] == f"${plan.yearly_price:,.0f}"
        assert cells[3] == str(plan.max_accounts or "no limit")
        assert cells[4] == str(plan.max_strategies or "no limit")
        assert cells[5] == str(plan.max_fanout or "no limit")


def test_every_refusal_code_in_the_docs_is_one_the_code_gives():
    codes = set(
        re.findall(
            r"`((?:plan-limit:[a-z-]+)|trial-expired|payment-past-due|subscription-ended)`",
            DOCS,
        )
    )
    source = "".join(path.read_text() for path in (ROOT / "billing").glob("*.py"))
    for code in codes:
        kind = code.removeprefix("plan-limit:")
        assert (
            code in source or f'"{kind}"' in source or kind.replace("-", "_") in source
        )
