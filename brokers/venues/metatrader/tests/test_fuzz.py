"""Whatever reaches the EA's routes, a 4xx with a code and a sentence or a 200,
never a 5xx; and nothing the EA was given or reported is lost by it. (The
10,000-case runs of the intake live in bench/security.py; here a few hundred.)"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brokers.adapters.registry import get_adapter
from brokers.venues.metatrader import protocol
from brokers.venues.metatrader.models import Command
from brokers.venues.metatrader.tests.conftest import HELLO, MetaTrader
from brokers.venues.metatrader.tests.test_protocol import buy, online

NAMES = sorted(protocol.NAMES | {"login", "id", "status"})
VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["c1", "filled", "MT5", "buy", "1e999", "-0", "NaN"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(NAMES), inner, max_size=4)
    ),
    max_leaves=12,
)
BODIES = st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=8)
ROUTES = st.sampled_from(["/api/ea/hello", "/api/ea/ack", "/api/ea/heartbeat"])


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(route=ROUTES, body=BODIES, raw=st.booleans(), junk=st.binary(max_size=60))
def test_no_body_is_a_server_error(
    mt: MetaTrader, clock, route: str, body: dict[str, Any], raw: bool, junk: bytes
):
    ea = mt.ea
    if not ea.session:
        online(mt)
        get_adapter(mt.account).place_order(buy())
    if route == "/api/ea/heartbeat" and "session" in body:
        body["session"] = ea.session
    if route == "/api/ea/hello":
        body = {**HELLO, **body}
    content = junk if raw else json.dumps(body, default=str).encode()
    answer = ea.client.post(
        route,
        content,
        content_type="application/json",
        headers={"Authorization": f"Bearer {ea.token}"},
    )
    assert answer.status_code < 500, answer.content
    if answer.status_code >= 400:
        assert answer.json()["code"] and answer.json()["detail"]
    if route == "/api/ea/hello" and answer.status_code == 200:
        ea.session = answer.json()["session"]
    polled = ea.client.get(
        "/api/ea/commands",
        {"session": ea.session, "wait": "nan"},
        headers={"Authorization": f"Bearer {ea.token}"},
    )
    assert polled.status_code < 500
    assert Command.objects.count() == 1  # the queued order is never lost
