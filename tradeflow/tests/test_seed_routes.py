"""Every HTTP route the seeds document exists at its path and answers its
method (seeds 000, 002, 003 and 004; seed 001 lists TopstepX's own API, which
the ProjectX client speaks, not routes of ours). Seed 002's analytics route
belongs to the analytics work and is listed apart so it is not forgotten."""

from __future__ import annotations

import pytest
from django.urls import Resolver404, resolve

SEED_000 = [
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/refresh"),
    ("GET", "/api/accounts/1"),
    ("GET", "/api/accounts/1/metrics"),
    ("GET", "/api/accounts/1/rules"),
    ("GET", "/api/accounts/1/violations"),
    ("GET", "/api/accounts/1/trades"),
    ("GET", "/api/accounts/1/positions"),
    ("POST", "/api/accounts/1/emergency-close"),
    ("GET", "/api/accounts/1/realtime-metrics"),
]
SEED_002 = [
    ("POST", "/auth/signup"),
    ("POST", "/auth/login"),
    ("POST", "/auth/logout"),
    ("POST", "/register/tradelocker"),
    ("POST", "/register/projectx"),
    ("POST", "/register/mtx"),
    ("POST", "/api/unify/v1/register/tradelocker"),
    ("GET", "/api/user/brokers"),
    ("POST", "/api/unify/v1/webhook/tradelocker"),
    ("POST", "/api/unify/v1/webhook/topstep"),
    ("POST", "/api/unify/v1/webhook/truforex"),
    ("POST", "/webhook/tradingview"),
    ("GET", "/api/positions"),
    ("POST", "/api/orders/close"),
    ("GET", "/api/billing/status"),
    ("GET", "/api/billing/usage"),
    ("POST", "/api/billing/checkout"),
    ("POST", "/api/billing/webhook"),
    ("GET", "/api/user/risk_config"),
    ("PUT", "/api/user/risk_config"),
    ("GET", "/api/accounts/1/ea_status"),
    ("POST", "/api/ea/heartbeat"),
    ("POST", "/api/accounts/sync/1"),
    ("GET", "/api/strategies"),
    ("POST", "/api/strategies/activate"),
    ("GET", "/api/calendar/events"),
    ("GET", "/api/export/trades"),
    ("GET", "/api/user/whitelabel"),
    ("PUT", "/api/user/whitelabel"),
    ("GET", "/api/logs/webhooks"),
]
SEED_003 = [
    ("GET", "/api/paper-trading/accounts"),
    ("GET", "/api/paper-trading/accounts/paper_simulator"),
    ("POST", "/api/paper-trading/accounts/paper_simulator/reset"),
    ("GET", "/api/paper-trading/accounts/paper_simulator/orders"),
    ("POST", "/api/paper-trading/orders/1/cancel"),
    ("GET", "/api/paper-trading/accounts/paper_simulator/fills"),
    ("POST", "/api/paper-trading/alerts"),
    ("POST", "/api/paper-trading/accounts/paper_simulator/flatten"),
    ("GET", "/api/paper-trading/accounts/paper_simulator/metrics"),
    ("GET", "/api/paper-trading/status"),
    ("GET", "/api/paper-trading/health"),
    ("POST", "/webhook/tradingview"),
]
V1 = "/api/v1"
SEED_004 = [
    ("POST", f"{V1}/auth/login"),
    ("POST", f"{V1}/auth/logout"),
    ("POST", f"{V1}/auth/refresh"),
    ("GET", f"{V1}/auth/me"),
    ("POST", f"{V1}/auth/password/reset"),
    ("POST", f"{V1}/auth/password/reset/complete"),
    ("GET", f"{V1}/auth/sessions"),
    ("POST", f"{V1}/auth/sessions/abc/terminate"),
    ("GET", f"{V1}/auth/permissions"),
    ("POST", f"{V1}/bots/create"),
    ("GET", f"{V1}/bots/list"),
    ("GET", f"{V1}/bots/1"),
    ("POST", f"{V1}/bots/1/status"),
    ("POST", f"{V1}/bots/1/connect-account"),
    ("POST", f"{V1}/bots/1/disconnect-account"),
    ("POST", f"{V1}/bots/1/terminate"),
    ("GET", f"{V1}/bots/1/accounts"),
    ("GET", f"{V1}/bots/1/performance"),
    ("POST", f"{V1}/accounts/create"),
    ("GET", f"{V1}/accounts/list"),
    ("GET", f"{V1}/accounts/1"),
    ("POST", f"{V1}/accounts/1/update-credentials"),
    ("POST", f"{V1}/accounts/1/sync-balance"),
    ("GET", f"{V1}/accounts/1/performance"),
    ("DELETE", f"{V1}/accounts/1"),
    ("POST", f"{V1}/accounts/1/assign-group"),
    ("GET", f"{V1}/groups/"),
    ("GET", f"{V1}/groups/1"),
    ("POST", f"{V1}/groups/"),
    ("PATCH", f"{V1}/groups/1"),
    ("GET", f"{V1}/groups/1/performance"),
    ("GET", f"{V1}/groups/1/metrics"),
    ("GET", f"{V1}/groups/1/history"),
    ("POST", f"{V1}/groups/1/accounts"),
    ("POST", f"{V1}/groups/1/accounts/2"),
    ("DELETE", f"{V1}/groups/1/accounts/2"),
    ("DELETE", f"{V1}/groups/1"),
    ("POST", f"{V1}/trading/group/1/execute"),
    ("GET", f"{V1}/trading/positions/1"),
    ("POST", f"{V1}/trading/close-position/1"),
    ("POST", f"{V1}/trading/terminate/1"),
    ("POST", f"{V1}/webhook/tradingview"),
    ("GET", f"{V1}/webhook/tradingview/test"),
    ("GET", f"{V1}/health"),
    ("GET", f"{V1}/metrics"),
]
# Seed 002 routes another issue builds (analytics: issue 19).
ELSEWHERE = [("GET", "/api/analytics/benchmark")]

DOCUMENTED = sorted(set(SEED_000 + SEED_002 + SEED_003 + SEED_004))


def answers(method: str, path: str) -> bool:
    """Whether the route resolves and its view serves `method`."""
    match = resolve(path)
    view = match.func
    cls = getattr(view, "view_class", None) or getattr(view, "cls", None)
    if cls is None:  # a function view: it decides inside; resolving is the door
        return True
    return hasattr(cls, method.lower())


@pytest.mark.parametrize(("method", "path"), DOCUMENTED)
def test_the_documented_route_exists_and_serves_its_method(method, path):
    try:
        assert answers(method, path), f"{method} {path} resolves but not for {method}"
    except Resolver404:
        pytest.fail(f"{method} {path} is documented by a seed and does not resolve")


def test_the_census_counts_every_documented_route():
    # 000: 10, 002: 30, 003: 12, 004: 45, one (POST /webhook/tradingview) in two.
    assert len(DOCUMENTED) == 10 + 30 + 12 + 45 - 1
