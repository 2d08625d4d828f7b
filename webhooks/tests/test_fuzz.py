"""Random and malformed bodies at the intake: never a 5xx, never an order at intake;
and whatever the intake accepts executes to an outcome with a reason, not a crash."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as fuzzing
from hypothesis import strategies as st

from brokers.models import Order
from paperbroker.services import quote_record
from testkit.fuzzing import KEY, ROUTES, acceptable, bodies, routes
from webhooks.execution.fanout import signal_execute
from webhooks.models import Execution, Signal

# Names dates: runs on the frozen clock (testkit.clock), whatever today is.
pytestmark = pytest.mark.usefixtures("clock")

FAILED = {Execution.Status.REJECTED, Execution.Status.FAILED, Execution.Status.SKIPPED}
FUZZING = fuzzing(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- Posting -----------------------------------------------------------------------


@pytest.fixture
def open_intake(settings, world):
    # Nothing is enqueued (the test's transaction never commits: no on_commit, so
    # no worker is involved) and no rate limit cuts the run short.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.WEBHOOK_RATE_LIMIT_PER_MINUTE = 10**6
    settings.WEBHOOK_UNAUTHENTICATED_PER_MINUTE = 10**6
    return world


def post(world, body: Any, route: str, content_type: str, signature: str | None):
    if isinstance(body, dict) and body.get("key") == KEY:
        body = {**body, "key": world.api_key}
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    headers: dict[str, Any] = {}
    if signature:
        headers["HTTP_X_TRADINGVIEW_SIGNATURE"] = signature
    if route == "/api/unify/v1/webhook/paper":
        headers["HTTP_AUTHORIZATION"] = f"Bearer {world.api_key}"
    with transaction.atomic():  # a database error fails this example only
        return Client().post(
            route.replace("{key}", world.api_key),
            data=raw,
            content_type=content_type,
            **headers,
        )


BUY = '{"action": "buy", "symbol": "BTCUSDT", "qty": 1'
# Bodies that once made the intake answer 500, kept as examples.
REGRESSIONS = [
    # PostgreSQL text cannot hold NUL: the raw body (even without a key) ...
    (b"\x00", "/webhook/tradingview"),
    (BUY.encode() + b', "comment": "a\x00b"}', ROUTES[0]),
    # ... nor can jsonb hold \u0000 or an unpaired surrogate (the parsed payload),
    (BUY + r', "comment": "\u0000"}', ROUTES[0]),
    (BUY + r', "extras": {"note": "\ud800"}}', ROUTES[0]),
    # ... nor Signal.broker, from the URL.
    (BUY + "}", "/api/unify/v1/webhook/pa%00per/{key}"),
    # json.loads refuses integers past 4,300 digits with a plain ValueError.
    ('{"action": "buy", "qty": ' + "1" * 5000 + "}", ROUTES[0]),
]


def pinned_regressions(test: Any) -> Any:
    for body, route in REGRESSIONS:
        test = example(
            body=body, route=route, content_type="text/plain", signature=None
        )(test)
    return test


@fuzzing(FUZZING, max_examples=300)
@given(
    body=bodies,
    route=routes(),
    content_type=st.sampled_from(["text/plain", "application/json"]),
    signature=st.none() | st.sampled_from(["sha256=00", "nonsense"]),
)
@pinned_regressions
def test_any_body_gets_a_4xx_a_duplicate_or_202_and_never_an_order(
    open_intake, body, route, content_type, signature
):
    response = post(open_intake, body, route, content_type, signature)
    status = response.status_code
    is_json = response["Content-Type"] == "application/json"
    event(f"{status} {response.json().get('code') if is_json else 'no such page'}")
    assert status == 202 or 400 <= status < 500 or status == 200, status
    if status == 200:
        assert response.json()["code"] == "duplicate"
    assert Order.objects.count() == 0  # the intake never trades


@fuzzing(FUZZING, max_examples=150)
@given(body=acceptable)
def test_whatever_the_intake_accepts_executes_to_an_outcome_with_a_reason(
    open_intake, body
):
    # Last prices, so that market orders without a price in the alert can fill.
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    quote_record(symbol="ETHUSDT", last=Decimal(50), source="manual")
    response = post(open_intake, body, ROUTES[1], "application/json", None)
    if response.status_code != 202:
        event(f"refused: {response.json()['code']}")
        return
    signal_id = response.json()["signal_id"]
    signal_execute(signal_id=signal_id)  # on a position earlier examples left
    for execution in Execution.objects.filter(signal_id=signal_id):
        event(f"{execution.status} {execution.error_code}")
        assert execution.status not in Execution.OPEN, execution.status
        assert execution.error_code != "internal-error", body
        if execution.status in FAILED:
            assert execution.error_code, execution.status
    signal = Signal.objects.get(pk=signal_id)
    assert signal.status not in (Signal.Status.QUEUED, Signal.Status.EXECUTING)
