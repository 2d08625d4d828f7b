"""The webhook endpoint: every request is logged; bad ones get a code and no order."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from brokers.models import BrokerAccount, Order
from webhooks.intake.keys import key_hash
from webhooks.models import ApiKey, Signal

# Names dates: runs on the frozen clock (testkit.clock), whatever today is.
pytestmark = pytest.mark.usefixtures("clock")

URL = "/api/unify/v1/webhook/paper"
BUY: dict[str, Any] = {
    "version": "unify.v1",
    "intent": {
        "broker": "paper",
        "side": "buy",
        "type": "market",
        "symbol": "MNQ1!",
        "qty": 1,
        "price": 21000.25,
    },
}


@pytest.fixture(autouse=True)
def _eager_off(settings):
    # Intake only: nothing is executed here, so no worker is needed.
    settings.CELERY_TASK_ALWAYS_EAGER = False


def post(
    body: object,
    key: str | None = None,
    path_key: str | None = None,
    content_type: str = "application/json",
):
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    url = f"{URL}/{path_key}" if path_key else URL
    return Client().post(
        url, data=raw, content_type=content_type, REMOTE_ADDR="52.89.214.238", **headers
    )


def test_a_good_alert_is_accepted_at_once_and_queued(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(BUY, key=world.api_key)
    assert response.status_code == 202
    body = response.json()
    assert body["success"] is True and body["status"] == "queued"
    signal = Signal.objects.get(pk=body["signal_id"])
    assert signal.status == Signal.Status.QUEUED
    assert signal.workspace == world.workspace and signal.account == world.account
    assert signal.source_ip == "52.89.214.238"
    assert signal.payload["symbol"] == "MNQ1!"
    assert signal.payload["contract"].startswith("MNQ")  # the front month today
    assert len(callbacks) == 1  # the execution task is enqueued only after commit
    assert not Order.objects.exists()  # no broker work on the request path


def test_the_key_in_the_url_path_works_for_tradingview_text_plain_bodies(world):
    response = post(json.dumps(BUY), path_key=world.api_key, content_type="text/plain")
    assert response.status_code == 202


def test_only_a_hash_of_the_key_is_stored(world):
    stored = ApiKey.objects.get(account=world.account)
    assert stored.key_hash == key_hash(world.api_key)
    assert world.api_key not in json.dumps(list(ApiKey.objects.values()), default=str)
    assert world.api_key.startswith("tfk_") and len(world.api_key) >= 40


@pytest.mark.parametrize(
    ("make_request", "status", "code"),
    [
        (lambda w: post(BUY), 401, "missing-key"),
        (lambda w: post(BUY, key="tfk_" + "x" * 43), 401, "invalid-key"),
        (lambda w: post(BUY, key="not-even-a-key"), 401, "invalid-key"),
        (
            lambda w: post(
                "this is not json", key=w.api_key, content_type="text/plain"
            ),
            400,
            "malformed-text",
        ),
        (
            lambda w: post(
                {**BUY, "intent": {**BUY["intent"], "side": "hodl"}}, key=w.api_key
            ),
            422,
            "invalid-action",
        ),
        (
            lambda w: post(
                {**BUY, "intent": {**BUY["intent"], "qty": -1}}, key=w.api_key
            ),
            422,
            "invalid-quantity",
        ),
    ],
)
def test_bad_requests_get_a_code_a_sentence_a_signal_row_and_no_order(
    world, make_request, status, code
):
    response = make_request(world)
    assert response.status_code == status
    body = response.json()
    assert (
        body["success"] is False
        and body["code"] == code
        and body["detail"].endswith(".")
    )
    signal = Signal.objects.get()
    assert (signal.status, signal.error_code, signal.http_status) == (
        Signal.Status.REJECTED,
        code,
        status,
    )
    assert not Order.objects.exists()


def test_a_disabled_account_is_refused(world):
    BrokerAccount.objects.filter(pk=world.account.pk).update(enabled=False)
    response = post(BUY, key=world.api_key)
    assert (response.status_code, response.json()["code"]) == (403, "account-disabled")


def test_a_revoked_key_is_refused(world):
    ApiKey.objects.update(revoked_at="2026-01-01T00:00:00Z")
    assert post(BUY, key=world.api_key).json()["code"] == "invalid-key"


def test_a_key_posted_to_another_brokers_url_is_refused(world, settings):
    settings.BROKER_ADAPTERS = {
        **settings.BROKER_ADAPTERS,
        "tradovate": "paperbroker.adapter.PaperAdapter",
    }
    response = Client().post(
        "/api/unify/v1/webhook/tradovate",
        data=json.dumps(BUY),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {world.api_key}",
    )
    assert (response.status_code, response.json()["code"]) == (400, "broker-mismatch")


def test_an_unknown_broker_is_404_with_a_code(world):
    response = Client().post(
        "/api/unify/v1/webhook/nasdaq", data="{}", content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (404, "unknown-broker")


def test_get_on_the_webhook_is_405_not_a_crash():
    response = Client().get(URL)
    assert (response.status_code, response.json()["code"]) == (
        405,
        "method-not-allowed",
    )


def test_the_same_sender_id_twice_executes_once(world):
    body = {"action": "buy", "symbol": "ES1!", "qty": 1, "price": 6000, "id": "tv-123"}
    first, second = post(body, key=world.api_key), post(body, key=world.api_key)
    assert first.status_code == 202
    assert second.status_code == 200 and second.json()["code"] == "duplicate"
    assert Signal.objects.filter(status=Signal.Status.QUEUED).count() == 1
    assert Signal.objects.filter(status=Signal.Status.DUPLICATE).count() == 1


def test_more_than_the_per_key_limit_in_a_minute_gets_429_with_retry_after(
    world, settings
):
    settings.WEBHOOK_RATE_LIMIT_PER_MINUTE = 3
    statuses = [post({**BUY, "id": n}, key=world.api_key).status_code for n in "abc"]
    assert statuses == [202, 202, 202]
    last = post({**BUY, "id": "d"}, key=world.api_key)
    assert last.status_code == 429 and 0 < int(last["Retry-After"]) <= 60
    assert last.json()["code"] == "rate-limited"


def test_an_expired_trial_refuses_an_entry_at_the_door(world, settings, billing_on):
    settings.TRIAL_TRADES = 0
    response = post(BUY, key=world.api_key)
    assert (response.status_code, response.json()["code"]) == (402, "trial-expired")


def test_a_body_over_64_kb_is_413_and_one_over_djangos_limit_too(world):
    big = post(
        {"action": "buy", "symbol": "ES", "qty": 1, "pad": "x" * 70_000},
        key=world.api_key,
    )
    huge = post("x" * 3_000_000, key=world.api_key, content_type="text/plain")
    assert [big.status_code, huge.status_code] == [413, 413]
    assert huge.json()["code"] == "body-too-large"
    assert not Order.objects.exists()


def test_a_stranger_flooding_without_a_key_stops_filling_the_log(db, settings):
    settings.WEBHOOK_UNAUTHENTICATED_PER_MINUTE = 5
    Client().post("/", REMOTE_ADDR="203.0.113.9")  # (a different address is unaffected)
    responses = [post(BUY, key="tfk_" + "y" * 43) for _ in range(8)]
    assert [r.status_code for r in responses] == [401] * 5 + [429] * 3
    assert Signal.objects.count() == 5
    assert all(len(signal.raw_body) <= 2048 for signal in Signal.objects.all())


def test_a_venue_without_a_configured_adapter_is_unknown(world, settings):
    # A server that plugs in only the paper broker knows no Tradovate.
    paper_only = {"paper": settings.BROKER_ADAPTERS["paper"]}
    settings.BROKER_ADAPTERS = paper_only
    response = Client().post(
        "/api/unify/v1/webhook/tradovate", data="{}", content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (404, "unknown-broker")


@pytest.mark.parametrize(
    ("symbol", "code"), [("NOPE1!", "unknown-symbol"), ("MNQH24", "expired-contract")]
)
def test_symbols_are_resolved_at_intake(world, symbol, code):
    response = post({"action": "buy", "symbol": symbol, "qty": 1}, key=world.api_key)
    assert (response.status_code, response.json()["code"]) == (422, code)
    assert symbol.split("1")[0][:3] in response.json()["detail"]


def test_an_accounts_root_override_trades_the_micro_for_an_alert_on_the_mini(world):
    BrokerAccount.objects.filter(pk=world.account.pk).update(
        symbol_overrides={"NQ": "MNQ"}
    )
    response = post(
        {"action": "buy", "symbol": "CME_MINI:NQ1!", "qty": 1, "price": 21000},
        key=world.api_key,
    )
    assert response.status_code == 202
    payload = Signal.objects.get().payload
    assert payload["symbol"] == "CME_MINI:NQ1!" and payload["contract"].startswith(
        "MNQ"
    )
