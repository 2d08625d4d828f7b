"""Signals: intake (fast, no broker I/O) and execution (in a Celery task)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User, Workspace
from accounts.realtime import broadcast
from billing.selectors import billing_status
from billing.services import billing_record_trade
from brokers.adapters.base import OrderRequest
from brokers.instruments.resolve import (
    ExpiredContract,
    SymbolError,
    apply_root_override,
    resolve,
)
from brokers.models import BrokerAccount, Order
from brokers.services import broker_account_register, order_record_intent, order_send
from risk.services import risk_check
from tradeflow.ratelimit import rate_hit
from webhooks.keys import key_generate, key_hash, key_looks_valid
from webhooks.models import ApiKey, Signal
from webhooks.parsing import Intent, ParseError, intent_from_payload, parse_json

log = logging.getLogger(__name__)


# --- Keys and registration ---------------------------------------------------------


def api_key_issue(
    *, account: BrokerAccount, created_by: User | None, name: str = ""
) -> tuple[ApiKey, str]:
    """Issue an ingest key for `account`; the plain key is returned once, not kept."""
    plain = key_generate()
    api_key = ApiKey.objects.create(
        workspace_id=account.workspace_id,
        account=account,
        name=name,
        prefix=plain[:12],
        key_hash=key_hash(plain),
        created_by=created_by,
    )
    return api_key, plain


def api_key_revoke(*, api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


@transaction.atomic
def account_register(
    *,
    workspace: Workspace,
    user: User | None,
    venue: str,
    name: str,
    currency: str = "USD",
    options: dict[str, Any] | None = None,
) -> tuple[BrokerAccount, str]:
    """Connect an account and issue its first webhook key (seed 002 registration)."""
    account = broker_account_register(
        workspace=workspace, venue=venue, name=name, currency=currency, options=options
    )
    _, plain = api_key_issue(account=account, created_by=user, name="Default")
    return account, plain


# --- Intake ------------------------------------------------------------------------


@dataclass
class IntakeResult:
    http_status: int
    body: dict[str, Any]
    signal: Signal
    headers: dict[str, str] = field(default_factory=dict)


class _IntakeError(Exception):
    def __init__(
        self,
        code: str,
        message: str,
        http_status: int,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.http_status = code, message, http_status
        self.headers = headers or {}


# Rejections before a key is known: a stranger could send these without limit.
UNAUTHENTICATED = frozenset(
    {"unknown-broker", "body-too-large", "missing-key", "invalid-key"}
)
UNAUTHENTICATED_BODY_CHARS = 2048


def signal_receive(
    *,
    broker: str,
    token: str | None,
    raw_body: bytes | None,
    content_type: str = "",
    source_ip: str | None = None,
) -> IntakeResult:
    """Authenticate, parse and log one webhook request; queue it if it is good.

    Every request becomes a Signal row, accepted or not, except a flood from one
    address without a valid key. `raw_body=None` means too large to read. No broker
    I/O happens here: execution is a Celery task enqueued after commit.
    """
    body = raw_body or b""
    signal = Signal(
        broker=broker[:16],
        source_ip=source_ip,
        content_type=content_type[:100],
        raw_body=body[: settings.WEBHOOK_MAX_BODY_BYTES].decode("utf-8", "replace"),
        received_at=timezone.now(),
    )
    try:
        intent = _admit(signal, broker, token, raw_body)
    except _IntakeError as reject:
        if reject.code in UNAUTHENTICATED:
            signal.raw_body = signal.raw_body[:UNAUTHENTICATED_BODY_CHARS]
            flood = _unauthenticated_flood(source_ip)
            if flood is not None:
                return flood
        return _rejected(signal, reject)
    return _queue(signal, intent)


def _unauthenticated_flood(source_ip: str | None) -> IntakeResult | None:
    limit = settings.WEBHOOK_UNAUTHENTICATED_PER_MINUTE
    hit = rate_hit(f"anon:{source_ip}", limit)
    if hit.allowed:
        return None
    log.warning(
        "too many unauthenticated webhook requests from %s; not stored", source_ip
    )
    body = {
        "success": False,
        "code": "rate-limited",
        "detail": f"More than {limit} requests a minute without a valid key "
        "from this address.",
        "timestamp": timezone.now().isoformat(),
    }
    return IntakeResult(429, body, Signal(), {"Retry-After": str(hit.retry_after)})


def _admit(
    signal: Signal, broker: str, token: str | None, raw_body: bytes | None
) -> Intent:
    if broker not in settings.BROKER_ADAPTERS:
        raise _IntakeError(
            "unknown-broker", f"This server has no {broker[:20]!r} connection.", 404
        )
    if raw_body is None or len(raw_body) > settings.WEBHOOK_MAX_BODY_BYTES:
        raise _IntakeError("body-too-large", "The body is larger than 64 KB.", 413)
    if not token:
        raise _IntakeError(
            "missing-key",
            "No API key: send it as 'Authorization: Bearer <key>' or in the URL path.",
            401,
        )
    api_key = _authenticate(token)
    signal.api_key, signal.workspace_id = api_key, api_key.workspace_id
    signal.account = account = api_key.account
    limit = rate_hit(f"key:{api_key.pk}", settings.WEBHOOK_RATE_LIMIT_PER_MINUTE)
    if not limit.allowed:
        raise _IntakeError(
            "rate-limited",
            f"More than {settings.WEBHOOK_RATE_LIMIT_PER_MINUTE} alerts a minute "
            "for this key.",
            429,
            {"Retry-After": str(limit.retry_after)},
        )
    if account.venue != broker:
        raise _IntakeError(
            "broker-mismatch",
            f"This key belongs to a {account.venue} account: "
            f"post to /api/unify/v1/webhook/{account.venue}.",
            400,
        )
    if not account.enabled:
        raise _IntakeError(
            "account-disabled", f"The account {account.name!r} is disabled.", 403
        )
    try:
        intent = intent_from_payload(parse_json(raw_body), broker)
    except ParseError as exc:
        raise _IntakeError(exc.code, exc.message, exc.http_status) from None
    traded = _apply_overrides(intent.symbol, account.symbol_overrides)
    signal.payload = {**intent.as_payload(), "contract": _contract(traded)}
    billing = billing_status(account.workspace_id)
    if not billing.can_trade:
        raise _IntakeError("trial-expired", billing.reason, 402)
    return intent


def _apply_overrides(symbol: str, overrides: dict[str, str]) -> str:
    """The account's root mapping (alert on NQ, trade MNQ), if any applies."""
    if not overrides:
        return symbol
    try:
        return apply_root_override(symbol, overrides)
    except SymbolError as exc:
        raise _IntakeError("invalid-override", str(exc), 422) from None


def _contract(symbol: str) -> str:
    """What the alert's symbol means today: a contract month, a pair, a stock."""
    try:
        resolved = resolve(symbol)
    except ExpiredContract as exc:
        raise _IntakeError("expired-contract", str(exc), 422) from None
    except SymbolError as exc:
        raise _IntakeError("unknown-symbol", str(exc), 422) from None
    return resolved.contract or resolved.root


def _authenticate(token: str) -> ApiKey:
    if key_looks_valid(token):
        api_key = (
            ApiKey.objects.select_related("account")
            .filter(key_hash=key_hash(token), revoked_at__isnull=True)
            .first()
        )
        if api_key is not None:
            return api_key
    raise _IntakeError(
        "invalid-key", "The API key is not valid or has been revoked.", 401
    )


def _rejected(signal: Signal, reject: _IntakeError) -> IntakeResult:
    signal.status, signal.http_status = Signal.Status.REJECTED, reject.http_status
    signal.error_code, signal.error_message = reject.code, reject.message[:500]
    signal.save()
    log.info("signal %s rejected: %s %s", signal.pk, reject.code, reject.message)
    body = {
        "success": False,
        "code": reject.code,
        "detail": reject.message,
        "signal_id": signal.pk,
        "timestamp": signal.received_at.isoformat(),
    }
    return IntakeResult(reject.http_status, body, signal, reject.headers)


def _queue(signal: Signal, intent: Intent) -> IntakeResult:
    if intent.sender_id:
        signal.dedupe_key = f"{signal.api_key_id}:{intent.sender_id}"
    signal.status, signal.http_status = Signal.Status.QUEUED, 202
    signal.queued_at = timezone.now()
    try:
        with transaction.atomic():
            signal.save()
            transaction.on_commit(lambda: _enqueue(signal.pk))
    except IntegrityError:
        return _duplicate(signal)
    body = {
        "success": True,
        "signal_id": signal.pk,
        "order_id": signal.client_order_id,
        "status": signal.status,
        "message": f"{intent.order_type.title()} {intent.side} {intent.quantity} "
        f"{intent.symbol} queued.",
    }
    return IntakeResult(202, body, signal)


def _duplicate(signal: Signal) -> IntakeResult:
    first = Signal.objects.filter(dedupe_key=signal.dedupe_key).first()
    signal.pk, signal.dedupe_key = None, None
    signal.status, signal.http_status = Signal.Status.DUPLICATE, 200
    signal.error_code = "duplicate"
    signal.error_message = f"Already received as signal {first.pk if first else '?'}."
    signal.save()
    body = {
        "success": True,
        "code": "duplicate",
        "detail": signal.error_message,
        "signal_id": first.pk if first else None,
        "status": "duplicate",
    }
    return IntakeResult(200, body, signal)


def _enqueue(signal_id: int) -> None:
    from webhooks.tasks import signal_execute_task

    try:
        signal_execute_task.delay(signal_id)
    except Exception:
        # The row is committed as queued: the sweeper will enqueue it again.
        log.exception("could not enqueue signal %s; the sweeper will retry", signal_id)


# --- Execution -------------------------------------------------------------------


def signal_execute(*, signal_id: int) -> Signal | None:
    """Execute a queued signal on its account, at most once.

    The claim is a guarded status update; the order's client id is derived from the
    signal, so a retry after a crash finds the venue's order instead of placing again.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.SIGNAL_STUCK_SECONDS)
    claimed = Signal.objects.filter(pk=signal_id, status=Signal.Status.QUEUED).update(
        status=Signal.Status.EXECUTING, started_at=now
    ) or Signal.objects.filter(
        pk=signal_id, status=Signal.Status.EXECUTING, started_at__lt=stale
    ).update(started_at=now)
    if not claimed:
        return None
    signal = Signal.objects.select_related("account").get(pk=signal_id)
    if signal.account is None or signal.payload is None:
        return _finish(
            signal, Signal.Status.FAILED, "account-gone", "The account was deleted."
        )
    # Off the request path on purpose: the intake does one read for the key.
    if signal.api_key_id is not None:
        ApiKey.objects.filter(pk=signal.api_key_id).update(
            last_used_at=signal.received_at
        )
    request = _order_request(signal)
    # A retry after a crash finds its order recorded: it passed the check and may be
    # at the venue already (its fill then counts against the limits), so it is sent
    # again, which the venue answers with the first order, instead of judged anew.
    order = Order.objects.filter(
        account_id=signal.account.pk, client_order_id=request.client_order_id
    ).first() or _judge_and_record(signal, request)
    if order is None:
        return signal
    signal.sent_at = timezone.now()
    order = order_send(order=order, request=request)
    signal.acknowledged_at = timezone.now()
    return _finish_from_order(signal, order)


def _judge_and_record(signal: Signal, request: OrderRequest) -> Order | None:
    """Risk-check under the account lock and record the order, or fail the signal."""
    assert signal.account is not None
    with transaction.atomic():
        account = BrokerAccount.objects.select_for_update().get(pk=signal.account.pk)
        if not account.enabled:  # switched off after the alert was queued
            _finish(signal, Signal.Status.FAILED, "account-disabled", "Disabled.")
            return None
        decision = risk_check(
            account=account,
            symbol=request.symbol,
            side=request.side,
            quantity=request.quantity,
        )
        signal.risk_checked_at = timezone.now()
        if not decision.allowed:
            _finish(signal, Signal.Status.FAILED, decision.code, decision.detail)
            return None
        order = order_record_intent(account=account, request=request)
        signal.order = order
        signal.save(update_fields=["risk_checked_at", "order"])
    return order


def _order_request(signal: Signal) -> OrderRequest:
    payload = signal.payload or {}
    price = payload.get("price")
    return OrderRequest(
        client_order_id=signal.client_order_id,
        symbol=payload.get("contract") or payload["symbol"],
        side=payload["side"],
        order_type=payload["order_type"],
        quantity=Decimal(payload["quantity"]),
        reference_price=None if price is None else Decimal(price),
    )


def _finish_from_order(signal: Signal, order: Order) -> Signal:
    if order.status == Order.Status.FILLED:
        billing_record_trade(workspace_id=order.workspace_id)
        signal.filled_at = order.filled_at
        return _finish(signal, Signal.Status.FILLED)
    if order.status == Order.Status.REJECTED:
        code, _, message = order.reject_reason.partition(": ")
        return _finish(signal, Signal.Status.FAILED, f"venue:{code}", message or code)
    return _finish(signal, Signal.Status.WORKING)


def _finish(signal: Signal, status: str, code: str = "", message: str = "") -> Signal:
    signal.status, signal.error_code, signal.error_message = status, code, message[:500]
    signal.save()
    if signal.workspace_id:
        broadcast(
            signal.workspace_id,
            {
                "type": "signal.update",
                "signal_id": signal.pk,
                "status": status,
                "error_code": code,
            },
        )
    return signal


def signals_sweep(*, older_than: timedelta | None = None) -> list[int]:
    """Ids of signals stuck queued or executing, for the sweeper to enqueue again."""
    cutoff = timezone.now() - (
        older_than or timedelta(seconds=settings.SIGNAL_STUCK_SECONDS)
    )
    queued = Signal.objects.filter(status=Signal.Status.QUEUED, queued_at__lt=cutoff)
    executing = Signal.objects.filter(
        status=Signal.Status.EXECUTING, started_at__lt=cutoff
    )
    return list(queued.values_list("pk", flat=True)) + list(
        executing.values_list("pk", flat=True)
    )
