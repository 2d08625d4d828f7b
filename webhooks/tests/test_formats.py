"""Every accepted alert format, sent the way TradingView sends it, fills on paper;
every documented error case gets its own code."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from brokers.models import Order, Position
from paperbroker.models import PaperOrder
from paperbroker.services import quote_record
from testkit import run_signal
from webhooks.intake.services import signature_of
from webhooks.models import TRADINGVIEW_IPS, ApiKey, Signal, Strategy
from webhooks.strategies.services import strategy_create, subscription_save

TV = "/webhook/tradingview"


@pytest.fixture(autouse=True)
def _no_worker(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False


@pytest.fixture
def btc(db):
    quote_record(symbol="BTCUSDT", last=Decimal("100"), source="manual")


def tradingview(url: str, body: str | dict, **headers):
    """As TradingView posts: the message verbatim, text/plain, no custom headers."""
    raw = body if isinstance(body, str) else json.dumps(body)
    return Client().post(
        url,
        data=raw,
        content_type="text/plain",
        REMOTE_ADDR=TRADINGVIEW_IPS[0],
        **headers,
    )


def executed(response) -> Signal:
    assert response.status_code == 202, response.json()
    return run_signal(response.json()["signal_id"])


def position(account) -> Decimal:
    row = Position.objects.filter(account=account, symbol="BTCUSDT").first()
    return row.quantity if row else Decimal(0)


def now_iso() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")


# --- Formats ----------------------------------------------------------------------


def test_tradingview_flat_json_with_the_key_in_the_path_fills(world, btc):
    body = {
        "ticker": "BINANCE:BTCUSDT",
        "action": "buy",
        "quantity": "2",
        "price": "100",
        "time": now_iso(),
        "comment": "breakout",
    }
    signal = executed(tradingview(f"{TV}/{world.api_key}", body))
    assert signal.status == Signal.Status.FILLED
    assert position(world.account) == 2
    assert signal.content_type == "text/plain"


def test_the_seed_003_alert_fills(world, btc):
    body = {
        "symbol": "BTCUSDT",
        "action": "buy",
        "quantity": 1,
        "orderType": "market",
        "price": 100.0,
        "accountGroup": "paper_simulator",
        "strategy": "test_strategy",
        "comment": "Manual test order",
    }
    signal = executed(tradingview(f"{TV}/{world.api_key}", body))
    assert signal.status == Signal.Status.FILLED
    order = Order.objects.get()
    assert PaperOrder.objects.get(client_order_id=order.client_order_id).comment == (
        "Manual test order"
    )


def test_the_seed_004_body_signed_with_the_strategys_secret_fills(world, btc):
    strategy, _ = strategy_create(
        workspace=world.workspace, user=world.owner, name="momentum"
    )
    subscription_save(strategy=strategy, account=world.account)
    raw = json.dumps(
        {
            "order_type": "market",
            "symbol": "BTCUSDT",
            "botname": "momentum",
            "side": "buy",
            "size": "1",
            "leverage": "1",
            "takeprofit": "150",
        }
    )
    signature = signature_of(raw.encode(), strategy.signing_secret)
    signal = executed(tradingview(TV, raw, HTTP_X_TRADINGVIEW_SIGNATURE=signature))
    assert signal.status == Signal.Status.FILLED and signal.strategy == strategy
    assert position(world.account) == 1
    # The take-profit rests at the venue, attached to the fill.
    assert PaperOrder.objects.filter(
        limit_price=Decimal(150), status=PaperOrder.Status.WORKING
    ).exists()


def test_a_wrong_signature_is_401_and_nothing_is_queued(world):
    strategy, _ = strategy_create(
        workspace=world.workspace, user=world.owner, name="momentum"
    )
    raw = json.dumps({"botname": "momentum", "side": "buy", "symbol": "BTCUSDT"})
    response = tradingview(TV, raw, HTTP_X_TRADINGVIEW_SIGNATURE="0" * 64)
    assert (response.status_code, response.json()["code"]) == (
        401,
        "invalid-signature",
    )
    assert not Signal.objects.filter(status=Signal.Status.QUEUED).exists()
    assert strategy.signals.count() == 0


def test_plain_text_alerts_fill_with_brackets_in_ticks_and_percent(world, btc):
    signal = executed(
        tradingview(
            f"{TV}/{world.api_key}",
            'buy BTCUSDT 1 price=100 sl=500t tp=5% comment="text alert"',
        )
    )
    assert signal.status == Signal.Status.FILLED
    assert signal.payload["stop_loss"] == {"value": "500", "unit": "ticks"}
    assert position(world.account) == 1


def test_a_key_in_the_body_works_and_is_not_kept_in_the_log(world, btc):
    body = {"key": world.api_key, "action": "buy", "symbol": "BTCUSDT", "qty": 1}
    signal = executed(tradingview(TV, body))
    assert signal.status == Signal.Status.FILLED
    assert world.api_key not in signal.raw_body and "redacted" in signal.raw_body


def test_the_test_route_answers_as_seed_004_documents(db):
    body = Client().get(f"{TV}/test").json()
    assert body["success"] is True
    assert body["message"] == "Webhook endpoint is operational"
    assert {"timestamp", "correlation_id"} <= set(body["data"])


# --- Actions ----------------------------------------------------------------------


def send(world, **fields) -> Signal:
    body = {"symbol": "BTCUSDT", "price": "100", **fields}
    return executed(tradingview(f"{TV}/{world.api_key}", body))


def test_exit_closes_and_percent_of_position_closes_part(world, btc):
    send(world, action="buy", qty=4)
    send(world, action="exit", qty=50, quantity_type="percent_of_position")
    assert position(world.account) == 2
    assert send(world, action="exit").status == Signal.Status.FILLED
    assert position(world.account) == 0
    flat = send(world, action="exit", id="again")
    assert flat.status == Signal.Status.DONE


def test_sell_with_sentiment_flat_closes_a_long_without_going_short(world, btc):
    send(world, action="buy", qty=3)
    send(world, action="sell", sentiment="flat", qty=5)
    assert position(world.account) == 0


def test_a_stated_position_size_orders_only_the_difference(world, btc):
    send(world, action="buy", qty=1)
    # Alerts were missed: the strategy is long 3 now; the account follows.
    send(
        world,
        action="buy",
        market_position="long",
        market_position_size="3",
        qty=1,
    )
    assert position(world.account) == 3
    order = Order.objects.order_by("-pk").first()
    assert (order.side, order.quantity) == ("buy", 2)


def test_reverse_flips_through_an_exit_leg_then_an_entry_leg(world, btc):
    send(world, action="buy", qty=2)
    signal = send(world, action="reverse")
    assert position(world.account) == -2
    legs = signal.executions.get().plan
    assert [(leg["role"], leg["side"], Decimal(leg["quantity"])) for leg in legs] == [
        ("exit", "sell", 2),
        ("entry", "sell", 2),
    ]


def test_add_grows_the_position_in_its_direction(world, btc):
    send(world, action="sell", qty=1)
    send(world, action="add", qty=2)
    assert position(world.account) == -3


def test_cancel_removes_working_orders_and_flatten_closes_everything(world, btc):
    limit = send(world, action="buy", qty=1, order_type="limit", price="50")
    assert limit.status == Signal.Status.WORKING
    assert PaperOrder.objects.filter(status=PaperOrder.Status.WORKING).count() == 1
    assert send(world, action="cancel").status == Signal.Status.DONE
    assert not PaperOrder.objects.filter(status=PaperOrder.Status.WORKING).exists()
    send(world, action="buy", qty=2)
    body = {"action": "flatten"}
    executed(tradingview(f"{TV}/{world.api_key}", body))
    assert position(world.account) == 0


def test_risk_sizing_buys_what_the_stop_allows(world, btc):
    # $100 of risk with the stop 10 points away on a 1-unit coin: 10 coins.
    send(
        world,
        action="buy",
        qty=100,
        quantity_type="risk_dollars",
        stop_loss="90",
    )
    assert position(world.account) == 10


# --- Errors a trader can fix ----------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"action": "buy", "sentiment": "short", "qty": 1}, "invalid-sentiment"),
        ({"action": "buy", "qty": 1, "quantity_type": "lots"}, "invalid-quantity-type"),
        ({"action": "buy", "qty": "-1"}, "invalid-quantity"),
        ({"action": "buy", "qty": 1, "order_type": "stop_limit"}, "price-required"),
        (
            {"action": "buy", "qty": 1, "quantity_type": "risk_dollars"},
            "stop-loss-required",
        ),
        ({"action": "buy", "qty": 1, "stop_loss": "ten ticks"}, "invalid-offset"),
        ({"action": "buy", "qty": 1, "symbol": "NOPE1!"}, "unknown-symbol"),
        ({"action": "buy", "qty": 1, "time": "yesterday"}, "invalid-time"),
    ],
)
def test_each_error_has_its_code(world, fields, code):
    body = {"symbol": "BTCUSDT", "price": "100", **fields}
    response = tradingview(f"{TV}/{world.api_key}", body)
    assert response.status_code == 422, response.json()
    assert response.json()["code"] == code
    signal = Signal.objects.get(pk=response.json()["signal_id"])
    assert (signal.status, signal.error_code) == (Signal.Status.REJECTED, code)


def test_an_old_alert_is_stale_and_a_future_one_is_refused(world, settings):
    settings.WEBHOOK_MAX_SIGNAL_AGE_SECONDS = 60
    old = (timezone.now() - timedelta(seconds=120)).isoformat()
    ahead = (timezone.now() + timedelta(seconds=60)).isoformat()
    body = {"action": "buy", "symbol": "BTCUSDT", "qty": 1, "price": 100}
    stale = tradingview(f"{TV}/{world.api_key}", {**body, "timenow": old})
    future = tradingview(f"{TV}/{world.api_key}", {**body, "timenow": ahead})
    assert stale.json()["code"] == "stale-signal" and stale.status_code == 422
    assert future.json()["code"] == "invalid-time"
    recent = (timezone.now() - timedelta(seconds=30)).isoformat()
    assert (
        tradingview(f"{TV}/{world.api_key}", {**body, "timenow": recent}).status_code
        == 202
    )


def test_an_identical_body_within_the_window_is_a_duplicate(world, settings):
    body = {"action": "buy", "symbol": "BTCUSDT", "qty": 1, "price": 100}
    first = tradingview(f"{TV}/{world.api_key}", body)
    again = tradingview(f"{TV}/{world.api_key}", body)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["code"] == "duplicate"
    assert again.json()["signal_id"] == first.json()["signal_id"]
    other = tradingview(f"{TV}/{world.api_key}", {**body, "qty": 2})
    assert other.status_code == 202


def test_a_key_with_an_allow_list_refuses_other_addresses(world):
    ApiKey.objects.filter(account=world.account).update(
        allowed_ips=list(TRADINGVIEW_IPS)
    )
    body = {"action": "buy", "symbol": "BTCUSDT", "qty": 1, "price": 100}
    assert tradingview(f"{TV}/{world.api_key}", body).status_code == 202
    response = Client().post(
        f"{TV}/{world.api_key}",
        data=json.dumps({**body, "qty": 2}),
        content_type="text/plain",
        REMOTE_ADDR="203.0.113.9",
    )
    assert (response.status_code, response.json()["code"]) == (403, "ip-not-allowed")


def test_a_paused_strategy_logs_its_alerts_and_does_not_execute_them(world):
    strategy, key = strategy_create(
        workspace=world.workspace, user=world.owner, name="paused one"
    )
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.PAUSED)
    body = {"action": "buy", "symbol": "BTCUSDT", "qty": 1, "price": 100}
    response = tradingview(f"{TV}/{key}", body)
    assert (response.status_code, response.json()["code"]) == (
        409,
        "strategy-inactive",
    )


def test_a_resting_limit_filled_later_finishes_its_signal_and_counts_once(world, btc):
    from billing.models import BillingAccount
    from paperbroker.services import price_update
    from webhooks.execution.supervision import executions_refresh

    signal = send(world, action="buy", qty=2, order_type="limit", price="90")
    assert signal.status == Signal.Status.WORKING
    assert executions_refresh() == 0  # nothing happened at the venue yet
    price_update(symbol="BTCUSDT", last=Decimal("89"), source="manual")
    assert executions_refresh() == 1
    signal.refresh_from_db()
    execution = signal.executions.get()
    assert (signal.status, execution.status) == ("filled", "filled")
    assert execution.filled_at and execution.finished_at
    assert position(world.account) == 2
    assert executions_refresh() == 0
    assert BillingAccount.objects.get(workspace=world.workspace).trades_count == 1


def test_a_partial_cover_of_a_short_is_a_buy_with_the_short_left(world, btc):
    send(world, action="sell", qty=3)
    send(world, action="buy", market_position="short", market_position_size="2")
    assert position(world.account) == -2


def test_the_keys_page_sets_the_tradingview_preset_and_refuses_garbage(world):
    key = ApiKey.objects.get(account=world.account)
    owner, outsider, viewer = Client(), Client(), Client()
    owner.force_login(world.owner)
    outsider.force_login(world.outsider)
    viewer.force_login(world.viewer)
    url = f"/keys/{key.pk}/addresses/"
    assert outsider.post(url, {"preset": "tradingview"}).status_code == 404
    assert viewer.post(url, {"preset": "tradingview"}).status_code == 404
    owner.post(url, {"preset": "tradingview"})
    key.refresh_from_db()
    assert key.allowed_ips == [f"{ip}/32" for ip in TRADINGVIEW_IPS]
    owner.post(url, {"addresses": "203.0.113.0/24, 2001:db8::1"})
    key.refresh_from_db()
    assert key.allowed_ips == ["203.0.113.0/24", "2001:db8::1/128"]
    response = owner.post(url, {"addresses": "not-an-ip"}, follow=True)
    assert "not an address" in response.content.decode()
    key.refresh_from_db()
    assert key.allowed_ips == ["203.0.113.0/24", "2001:db8::1/128"]
    page = owner.get(f"/accounts/{world.account.pk}/keys/").content.decode()
    assert "203.0.113.0/24" in page and "TradingView only" in page
