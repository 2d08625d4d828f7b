"""What an attacker or a careless neighbour sends (issue 12): each answered with a
4xx that has a code and a sentence, never a 5xx; keys kept out of every row and
page; exactly once even with Redis down; a flooding key cannot fill the log; a
plan that ran out refuses queued entries at execution, never exits."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
import redis
from django.test import Client

from billing.models import BillingAccount
from brokers.models import Position
from common import ratelimit
from paperbroker.services import quote_record
from testkit import alert, api_client_for, client_for, post_alert, run_signal
from testkit.processes import redis_server
from webhooks.models import Signal, Strategy

pytestmark = pytest.mark.usefixtures("clock")

BUY = {"action": "buy", "symbol": "BTCUSDT", "qty": 1, "price": "100"}


@pytest.fixture
def btc(world, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    return world


# --- No 5xx ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/logs/webhooks?limit=9223372036854775808",
        "/api/logs/webhooks?offset=99999999999999999999999",
        "/api/v1/groups/?offset=99999999999999999999999",
        "/api/v1/groups/?limit=-1",
        "/api/logs/webhooks?limit=many",
    ],
)
def test_a_page_past_what_a_list_holds_is_a_400_that_names_the_parameter(world, url):
    response = api_client_for(world.owner).get(url)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation-error"
    assert set(body["errors"]) <= {"limit", "offset"}


def test_a_large_limit_is_served_as_the_largest_page(world):
    response = api_client_for(world.owner).get("/api/logs/webhooks?limit=5000")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "url",
    ["/api/user/brokers?broker=%00", "/api/positions?broker=%00", "/signals/?q=%00"],
)
def test_a_nul_in_a_query_parameter_is_a_400(world, url):
    response = client_for(world.owner).get(url)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid-parameter"


@pytest.mark.parametrize(
    ("url", "body", "kind"),
    [
        # Found by bench/security.py: a NUL in a JSON field reached PostgreSQL (500).
        ("/api/v1/bots/create", '{"name": "a\\u0000b"}', "application/json"),
        ("/api/v1/groups/", '{"name": "g", "\\u0000": 1}', "application/json"),
        ("/api/v1/bots/create", '{"name": "\\ud800"}', "application/json"),
        ("/api/v1/bots/create", "name=a%00b", "application/x-www-form-urlencoded"),
    ],
)
def test_a_body_no_database_can_store_is_a_400_before_any_view(world, url, body, kind):
    response = api_client_for(world.owner).post(url, body, content_type=kind)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "bad-text"
    assert not Strategy.objects.filter(name__startswith="a").exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**BUY, "time": Decimal("1E+2147483648")}, "invalid-time"),
        ("buy BTCUSDT 1 time=1E+2147483648", "invalid-time"),
        (
            {**BUY, "market_position": "long", "market_position_size": "1E+2147483648"},
            "invalid-quantity",
        ),
        ({**BUY, "qty": "1E-2147483648"}, "invalid-quantity"),
        ({**BUY, "qty": "1" * 60}, "invalid-quantity"),
        ({**BUY, "price": "1E+400"}, "invalid-price"),
        ({**BUY, "time": "2026-11-24T18:00:00Z", "max_age": 10**40}, "invalid-max-age"),
    ],
)
def test_a_number_no_alert_can_mean_is_refused_and_logged(btc, body, code):
    raw = body if isinstance(body, str) else json.dumps(body, default=str)
    response = post_alert(btc.api_key, raw)
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["code"] == code
    signal = Signal.objects.get(pk=response.json()["signal_id"])
    assert (signal.status, signal.error_code) == ("rejected", code)


@pytest.mark.parametrize(
    "url",
    [
        "/api/paper-trading/accounts/paper_99999999999999999999999",
        "/api/paper-trading/accounts/paper_99999999999999999999999/orders",
        "/api/paper-trading/orders/order_99999999999999999999999/cancel",
        "/api/accounts/99999999999999999999/rules",
        "/api/v1/bots/99999999999999999999",
        "/api/v1/groups/99999999999999999999",
        "/strategies/99999999999999999999/",
        "/paper/99999999999999999999/",
        "/accounts/99999999999999999999/risk/",
    ],
)
def test_an_id_longer_than_any_id_is_a_404(world, url):
    client = client_for(world.owner)
    method = client.post if url.endswith("/cancel") else client.get
    assert method(url).status_code == 404


# --- Secrets -------------------------------------------------------------------------


def test_no_key_is_kept_from_a_body_whatever_its_parse(btc):
    stranger = "tfk_" + "S" * 43  # not a key of ours: not kept either
    for raw in (
        '{"key": "' + btc.api_key + '", "action": "buy", "symbol": ',  # broken JSON
        f"buy BTCUSDT 1 key={btc.api_key} also {stranger}",
        json.dumps({**BUY, "note": stranger, "key": btc.api_key}),
    ):
        Client().post("/webhook/tradingview", data=raw, content_type="text/plain")
    bodies = " ".join(Signal.objects.values_list("raw_body", flat=True))
    assert Signal.objects.count() == 3
    assert btc.api_key not in bodies and stranger not in bodies
    assert "tfk_…redacted" in bodies


def test_the_new_key_page_is_shown_once_and_never_cached(world):
    owner = client_for(world.owner)
    shown = owner.post(f"/accounts/{world.account.pk}/keys/new/", follow=True)
    key = re.search(r"tfk_[\w-]{40,}", shown.content.decode())
    assert key is not None and "no-store" in shown["Cache-Control"]
    ((page, _),) = shown.redirect_chain
    again = owner.get(page)
    assert key.group() not in again.content.decode()
    assert "no-store" in again["Cache-Control"]


def test_a_refreshed_new_account_form_opens_one_account(world):
    owner = client_for(world.owner)
    form = {"name": "Second", "initial_balance": "10000", "currency": "USD"}
    response = owner.post("/accounts/new/", form)
    assert response.status_code == 302  # the browser's refresh repeats the GET
    owner.get(response["Location"])
    assert world.workspace.broker_accounts.filter(name="Second").count() == 1


def test_the_log_formatter_redacts_whole_records_and_server_access_lines():
    import logging

    from django.conf import settings

    from tradeflow.logfilters import RedactingFormatter

    key = "tfk_" + "a" * 43
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s"',
        ("1.2.3.4", "POST", f"/webhook/tradingview/{key}"),
        None,
    )
    try:
        raise ValueError(f"bad {key}")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    text = RedactingFormatter("%(message)s").format(record)
    assert key not in text and "tfk_aaaaaaaa…" in text
    access = settings.LOGGING["loggers"]["uvicorn.access"]
    assert access["handlers"] == ["console"] and access["filters"] == ["keys"]


# --- Exactly once, and no flood -------------------------------------------------------


def test_identical_alerts_are_one_order_when_redis_is_down(btc, tmp_path, monkeypatch):
    with redis_server(tmp_path / "redis.log") as server:
        monkeypatch.setattr(ratelimit, "_client", lambda: server.client())
        server.stop()  # the dedupe store is gone
        with pytest.raises(redis.RedisError):
            server.client().ping()
        statuses = [post_alert(btc.api_key, BUY).status_code for _ in range(5)]
    assert statuses == [202, 200, 200, 200, 200]
    assert Signal.objects.filter(status="queued").count() == 1
    assert Signal.objects.filter(status="duplicate").count() == 4


def test_a_key_past_its_rate_is_answered_and_not_stored(btc, settings):
    settings.WEBHOOK_RATE_LIMIT_PER_MINUTE = 2
    codes = [post_alert(btc.api_key, {**BUY, "id": n}).status_code for n in range(40)]
    assert codes[:2] == [202, 202] and set(codes[2:]) == {429}
    assert Signal.objects.count() == 2


def test_a_plan_that_runs_out_while_alerts_wait_refuses_entries_not_exits(
    btc, settings, billing_on
):
    settings.TRIAL_TRADES = 2
    alert(btc.api_key, qty=1)
    waiting = [post_alert(btc.api_key, {**BUY, "id": n}) for n in ("a", "b")]
    flat = {"action": "exit", "symbol": "BTCUSDT", "id": "out"}  # the whole position
    exit_waiting = post_alert(btc.api_key, flat)
    first, second = (run_signal(r.json()["signal_id"]) for r in waiting)
    assert first.status == "filled"  # the second trade of two
    assert (second.status, second.error_code) == ("rejected", "trial-expired")
    assert run_signal(exit_waiting.json()["signal_id"]).status == "filled"
    assert Position.objects.get(account=btc.account).quantity == 0
    assert BillingAccount.objects.get(workspace=btc.workspace).trades_count == 3
