"""Random and malformed bodies at the intake: never a 5xx, never an order at intake;
and whatever the intake accepts executes to an outcome with a reason, not a crash."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as fuzzing
from hypothesis import strategies as st

from brokers.models import Order
from paperbroker.services import quote_record
from webhooks.execution.fanout import signal_execute
from webhooks.intake.parsing import ACTIONS, ORDER_TYPES, QUANTITY_TYPES, SENTIMENTS
from webhooks.models import Execution, Signal

# Names dates: runs on the frozen clock (testkit.clock), whatever today is.
pytestmark = pytest.mark.usefixtures("clock")

KEY = "<the world's key>"  # replaced by the real key when posting
FIELDS = (
    "action",
    "symbol",
    "ticker",
    "qty",
    "quantity",
    "quantity_type",
    "order_type",
    "price",
    "stop_loss",
    "take_profit",
    "trailing_stop",
    "sentiment",
    "market_position_size",
    "time",
    "timenow",
    "id",
    "botname",
    "account_group",
    "key",
)
# Crypto twice: it trades every day, so its orders fill whenever the suite runs.
SYMBOLS = ["BTCUSDT", "ETHUSDT"] * 2 + ["MNQ1!", "ES1!", "ESZ2026", "AAPL", "EURUSD"]
ROUTES = [
    "/api/unify/v1/webhook/paper/{key}",
    "/api/unify/v1/webhook/paper",  # the key as Bearer
    "/webhook/tradingview/{key}",
    "/webhook/tradingview",  # the key in the body, a signature, or nothing
]
FAILED = {Execution.Status.REJECTED, Execution.Status.FAILED, Execution.Status.SKIPPED}
FUZZING = fuzzing(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(max_size=max_size)


def now_iso() -> str:
    return timezone.now().isoformat()


# --- Values ------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | text(20)
    | st.decimals(allow_nan=False).map(str)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(text(8), inner, max_size=3)
    ),
    max_leaves=8,
)
numbers = (
    st.integers(-3, 30_000)
    | st.decimals(-1, 30_000, places=4).map(str)
    | st.sampled_from(["0", "-0", "1e-9", "1e6", "1e30", "NaN", "Infinity", "1,5"])
)
offsets = (
    numbers
    | st.sampled_from(["20t", "5pts", "1%", "$100", "0t", "20 ticks", "$5t", "1e3t"])
    | st.fixed_dictionaries(
        {
            "type": st.sampled_from(["ticks", "price", "percent", "dollars", "x"]),
            "value": numbers,
        }
    )
)
times = (
    st.builds(now_iso)
    | st.builds(lambda: int(timezone.now().timestamp() * 1000))
    | st.integers()
    | st.sampled_from(["2026-13-40T00:00:00Z", "1e400", "yesterday", "{{timenow}}"])
)
plausible: dict[str, st.SearchStrategy[Any]] = {
    "action": st.sampled_from([*ACTIONS, "BUY", " Sell ", "hold", ""]),
    "symbol": st.sampled_from([*SYMBOLS, "ZZZ9!", "mnq1!", "BTC USDT"]),
    "quantity": numbers,
    "quantity_type": st.sampled_from([*QUANTITY_TYPES, "contracts"]),
    "order_type": st.sampled_from([*ORDER_TYPES, "iceberg", "stop-limit"]),
    "price": numbers,
    "stop_loss": offsets,
    "take_profit": offsets,
    "trailing_stop": offsets,
    "sentiment": st.sampled_from([*SENTIMENTS, "up"]),
    "market_position_size": numbers,
    "time": times,
    "timenow": times,
    "id": text(8) | st.integers(),
    "key": st.sampled_from([KEY, "tfk_" + "x" * 43, ""]),
}
plausible |= {
    "ticker": plausible["symbol"],
    "qty": plausible["quantity"],
    "botname": text(8),
    "account_group": text(8),
}

# --- Bodies ------------------------------------------------------------------------

# Alerts the intake should accept: the fields a trader would send, values in range.
trades = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["buy", "sell", "exit", "reverse", "add", "flat"]),
        "symbol": st.sampled_from(SYMBOLS),
        "qty": st.integers(1, 3) | st.sampled_from(["0.5", "0.00001", "2.5"]),
    },
    optional={"price": st.decimals(1, 200, places=2).map(str)},
)
detailed = st.fixed_dictionaries(
    {
        "action": st.sampled_from(list(ACTIONS)),
        "symbol": st.sampled_from(SYMBOLS),
        "qty": st.integers(1, 5)
        | st.sampled_from(["0.5", "0.00001", "1e-7", "999999", "3.14159"]),
    },
    optional={
        "price": st.decimals(1, 30_000, places=2).map(str)
        | st.sampled_from(["0.0001", "1e12", "4750.13", "99999999999"]),
        "order_type": st.sampled_from(list(ORDER_TYPES)),
        "quantity_type": st.sampled_from(sorted(QUANTITY_TYPES)),
        "stop_loss": st.sampled_from(["20t", "5pts", "1%", "$100", "1", "1e9"]),
        "take_profit": st.sampled_from(["40t", "10pts", "2%", "$200", "1e9"]),
        "trailing_stop": st.sampled_from(["8t", "2pts", "0.5%", "$50"]),
        "sentiment": st.sampled_from(list(SENTIMENTS)),
        "market_position_size": st.integers(-3, 3),
        "time_in_force": st.sampled_from(["day", "gtc", "ioc", "fok"]),
        "cancel_orders": st.booleans(),
        "timenow": st.builds(now_iso),
    },
)
acceptable = trades | detailed
# Any known field with a plausible or an arbitrary JSON value, plus unknown fields.
json_objects = st.builds(
    lambda known, extra: {**extra, **known},
    st.fixed_dictionaries(
        {}, optional={name: plausible[name] | json_values for name in FIELDS}
    ),
    st.dictionaries(text(8), json_values, max_size=2),
)
text_alerts = st.lists(
    st.sampled_from(
        [*ACTIONS, *SYMBOLS, "2", "0.5", "-1", "sl=20t", "tp=40t", "type=limit"]
    )
    | st.sampled_from(["price=4750", "id=abc", "qty=x", "'open", '"a b"', "=", "a=b=c"])
    | text(8),
    max_size=6,
).map(" ".join)
bodies = st.one_of(
    st.binary(max_size=200).map(lambda raw: raw.replace(b"\x00", b" ")),
    text(200),
    json_values,
    text_alerts,
    json_objects,
    st.builds(lambda intent: {"version": "unify.v1", "intent": intent}, json_objects),
    acceptable,
    st.builds(lambda good, bad: {**good, **bad}, acceptable, json_objects),
)


@st.composite
def routes(draw: st.DrawFn) -> str:
    """A real route, or an arbitrary venue and key in the path."""
    route = draw(st.sampled_from([*ROUTES, "random"]))
    if route != "random":
        return route
    venue = draw(text(12).filter(bool))
    key = draw(st.just("{key}") | text(50).filter(bool).map(quote))
    return f"/api/unify/v1/webhook/{quote(venue, safe='')}/{key}"


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
