"""Intake: authenticate, parse, validate, dedupe and log a webhook request as a
Signal, then queue it. Fast and without broker I/O: execution is a Celery task."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from billing.services import entry_allowance
from brokers.instruments.resolve import (
    ExpiredContract,
    SymbolError,
    apply_root_override,
    resolve,
)
from brokers.models import BrokerAccount, Order, Position, Venue, venues_named
from common.ratelimit import StoreUnavailable, first_within, note_within, rate_hit
from paperbroker.selectors import price_known
from webhooks.execution.enqueue import signal_enqueue
from webhooks.intake.body import body_key, parse_body
from webhooks.intake.intents import Intent, ParseError
from webhooks.intake.keyformat import (
    REDACTED,
    key_hash,
    key_looks_valid,
    keys_redacted,
)
from webhooks.intake.parsing import intent_from_payload, target_names
from webhooks.models import AccountGroup, ApiKey, Signal, Strategy

log = logging.getLogger(__name__)


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
    {
        "unknown-broker",
        "body-too-large",
        "missing-key",
        "invalid-key",
        "invalid-signature",
    }
)
UNAUTHENTICATED_BODY_CHARS = 2048


@dataclass
class _Admitted:
    intent: Intent
    scope: str  # who sent it, for dedupe: "key:<id>", "strategy:<id>", "group:<id>"


def signal_receive(
    *,
    raw_body: bytes | None,
    token: str | None = None,
    broker: str | None = None,
    signature: str | None = None,
    content_type: str = "",
    source_ip: str | None = None,
) -> IntakeResult:
    """Authenticate, parse and log one webhook request; queue it if it is good.

    The key may come in the path, as a Bearer header or as a body field; without
    one, an `X-TradingView-Signature` HMAC of the body by the named strategy's or
    group's secret. Every request becomes a Signal row, accepted or not, except a
    flood from one address without a valid key. `raw_body=None` means too large to
    read. No broker I/O happens here: execution is a Celery task enqueued on commit.
    """
    body = raw_body or b""
    # Refused requests are kept too: store nothing a text column cannot hold.
    stored = body[: settings.WEBHOOK_MAX_BODY_BYTES].decode("utf-8", "replace")
    # Whatever the body turns out to be, no key in it is kept (the one in the URL
    # path never reaches the row).
    stored = keys_redacted(stored)
    signal = Signal(
        broker=(broker or "")[:16].replace("\x00", "\ufffd"),
        source_ip=source_ip,
        content_type=content_type[:100].replace("\x00", "\ufffd"),
        raw_body=stored.replace("\x00", "\ufffd"),
        received_at=timezone.now(),
    )
    try:
        admitted = _admit(signal, broker, token, signature, raw_body)
    except _IntakeError as reject:
        if reject.code == "rate-limited":  # counted by the limiter, not stored
            return _over_limit(reject)
        if reject.code in UNAUTHENTICATED:
            signal.raw_body = signal.raw_body[:UNAUTHENTICATED_BODY_CHARS]
            flood = _unauthenticated_flood(source_ip)
            if flood is not None:
                return flood
        result = _rejected(signal, reject)
    else:
        result = _queue(signal, admitted, body)
    if signal.strategy_id:  # any alert proves the strategy's alerts still arrive
        Strategy.objects.filter(pk=signal.strategy_id).update(
            last_signal_at=signal.received_at, heartbeat_missed_at=None
        )
    return result


def _over_limit(reject: _IntakeError) -> IntakeResult:
    """A key past its rate: answered, not kept (a leaked key must not be able to
    fill the signal log); the limiter has counted it."""
    body = {
        "success": False,
        "code": reject.code,
        "detail": reject.message,
        "timestamp": timezone.now().isoformat(),
    }
    return IntakeResult(429, body, Signal(), reject.headers)


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
    signal: Signal,
    broker: str | None,
    token: str | None,
    signature: str | None,
    raw_body: bytes | None,
) -> _Admitted:
    if broker is not None and not any(
        venue in settings.BROKER_ADAPTERS for venue in venues_named(broker)
    ):
        raise _IntakeError(
            "unknown-broker", f"This server has no {broker[:20]!r} connection.", 404
        )
    if raw_body is None or len(raw_body) > settings.WEBHOOK_MAX_BODY_BYTES:
        raise _IntakeError("body-too-large", "The body is larger than 64 KB.", 413)
    data: dict[str, Any] | None = None
    parse_error: ParseError | None = None
    try:
        data = parse_body(raw_body)
    except ParseError as exc:
        parse_error = exc
    token = token or (body_key(data) if data else None)
    scope = _authenticated_scope(signal, token, signature, data, raw_body)
    _check_rate_and_address(signal, scope)
    if parse_error is not None:
        raise _IntakeError(parse_error.code, parse_error.message, 400)
    assert data is not None
    try:
        intent = intent_from_payload(data, broker)
    except ParseError as exc:
        raise _IntakeError(exc.code, exc.message, exc.http_status) from None
    signal.payload = intent.as_payload()
    _check_target(signal, broker, intent)
    _check_fresh(intent, data)
    assert signal.workspace_id is not None
    _check_entries_allowed(signal.workspace_id, intent)
    if signal.payload.get("contract"):
        _check_price_known(signal, intent, signal.payload["contract"])
    return _Admitted(intent, scope)


EXITS = frozenset({"exit", "flatten", "cancel"})


def _check_entries_allowed(workspace_id: int, intent: Intent) -> None:
    """Refuse at the door an alert that could only open a position the plan no
    longer allows (402). When the workspace may hold something, the alert may be
    an exit: it goes on, and the execution (which asks the venue) refuses its
    entries only."""
    if intent.action in EXITS or intent.sentiment == "flat":
        return
    denial = entry_allowance(workspace_id=workspace_id)
    if denial is not None and _surely_flat(workspace_id):
        raise _IntakeError(denial.code, denial.message, 402)


def _surely_flat(workspace_id: int) -> bool:
    """Nothing open in our books, and our books are the venue's: paper accounts
    (ours), or live ones synced within two sync intervals (a position opened by
    hand at the broker since would not be in them)."""
    if Position.objects.filter(workspace_id=workspace_id).exclude(quantity=0).exists():
        return False
    working = Order.objects.filter(workspace_id=workspace_id).exclude(
        status__in=Order.FINAL
    )
    if working.exists():
        return False
    fresh = timezone.now() - timedelta(seconds=2 * settings.ACCOUNT_SYNC_SECONDS)
    unsure = BrokerAccount.objects.filter(workspace_id=workspace_id).exclude(
        Q(venue=Venue.PAPER) | Q(last_sync_at__gte=fresh)
    )
    return not unsure.exists()


def _authenticated_scope(
    signal: Signal,
    token: str | None,
    signature: str | None,
    data: dict[str, Any] | None,
    raw_body: bytes,
) -> str:
    """Who sent the request: a key's target, or a strategy/group that signed it."""
    if token:
        api_key = _authenticate(token)
        signal.raw_body = signal.raw_body.replace(token, REDACTED)  # any spelling
        signal.api_key, signal.workspace_id = api_key, api_key.workspace_id
        signal.account, signal.strategy = api_key.account, api_key.strategy
        signal.group = api_key.group
        return f"key:{api_key.pk}"
    if signature:
        target = _signed_target(signature, data or {}, raw_body)
        signal.workspace_id = target.workspace_id
        if isinstance(target, Strategy):
            signal.strategy = target
            return f"strategy:{target.pk}"
        signal.group = target
        return f"group:{target.pk}"
    raise _IntakeError(
        "missing-key",
        'No API key: put it in the URL path, in the body as "key", or send '
        "'Authorization: Bearer <key>'.",
        401,
    )


def _authenticate(token: str) -> ApiKey:
    """The live key and its target, in one query on the unique `key_hash` index."""
    if key_looks_valid(token):
        try:
            # get() drops the model's ordering: no sort of a one-row result.
            return ApiKey.objects.select_related("account", "strategy", "group").get(
                key_hash=key_hash(token), revoked_at__isnull=True
            )
        except ApiKey.DoesNotExist:
            pass
    raise _IntakeError(
        "invalid-key", "The API key is not valid or has been revoked.", 401
    )


def _signed_target(
    signature: str, data: dict[str, Any], raw_body: bytes
) -> Strategy | AccountGroup:
    """The strategy or group named in the body whose secret signed it."""
    strategy_name, group_name = target_names(data)
    candidates: list[Strategy | AccountGroup] = []
    if strategy_name:
        candidates += Strategy.objects.filter(name=strategy_name)[:20]
    if group_name:
        candidates += AccountGroup.objects.filter(name=group_name)[:20]
    given = signature.strip().lower().removeprefix("sha256=")
    for target in candidates:
        if target.signing_secret and hmac.compare_digest(
            given, signature_of(raw_body, target.signing_secret)
        ):
            return target
    raise _IntakeError(
        "invalid-signature",
        "X-TradingView-Signature does not match the body for the named botname or "
        "account_group.",
        401,
    )


def signature_of(raw_body: bytes, secret: str) -> str:
    """Hex HMAC-SHA256 of the body: what `X-TradingView-Signature` must carry."""
    return hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def _check_rate_and_address(signal: Signal, scope: str) -> None:
    limit = rate_hit(scope, settings.WEBHOOK_RATE_LIMIT_PER_MINUTE)
    if not limit.allowed:
        raise _IntakeError(
            "rate-limited",
            f"More than {settings.WEBHOOK_RATE_LIMIT_PER_MINUTE} alerts a minute "
            "for this key.",
            429,
            {"Retry-After": str(limit.retry_after)},
        )
    allowed = signal.api_key.allowed_ips if signal.api_key else []
    if allowed and not ip_allowed(signal.source_ip, allowed):
        raise _IntakeError(
            "ip-not-allowed",
            f"This key only accepts alerts from its allow-list; "
            f"{signal.source_ip} is not on it.",
            403,
        )


def ip_allowed(address: str | None, allowed: list[str]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
        return any(ip in ipaddress.ip_network(net, strict=False) for net in allowed)
    except ValueError:
        return False


def _check_target(signal: Signal, broker: str | None, intent: Intent) -> None:
    account, strategy = signal.account, signal.strategy
    if account is not None:
        if broker is not None and account.venue not in venues_named(broker):
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
    if strategy is not None and strategy.status != Strategy.Status.ACTIVE:
        raise _IntakeError(
            "strategy-inactive",
            f"The strategy {strategy.name!r} is {strategy.status}: its alerts are "
            "logged and not executed.",
            409,
        )
    if intent.symbol is not None and signal.payload is not None:
        # Resolved once, here: execution trades this contract unless a
        # follower's own mapping names another symbol.
        overrides = account.symbol_overrides if account is not None else None
        try:
            signal.payload["contract"] = resolve_symbol(intent.symbol, overrides)
        except ParseError as exc:
            raise _IntakeError(exc.code, exc.message, 422) from None


ENTRIES = frozenset({"buy", "sell", "add", "reverse"})


def _check_price_known(signal: Signal, intent: Intent, contract: str) -> None:
    """A paper entry with no price of its own and no price known for the symbol
    would fail in the worker (or, once, fill at an invented one): say so here."""
    if intent.action not in ENTRIES or any(
        (intent.price, intent.limit_price, intent.stop_price)
    ):
        return
    if signal.account is not None:
        if signal.account.venue != Venue.PAPER:
            return
        accounts = [signal.account.pk]
    elif signal.strategy is not None:
        venues = dict(
            signal.strategy.subscriptions.filter(enabled=True).values_list(
                "account_id", "account__venue"
            )
        )
        if not venues or set(venues.values()) != {Venue.PAPER}:
            return
        accounts = list(venues)
    else:
        return
    if not price_known(contract, accounts):
        raise _IntakeError(
            "no-price",
            f"TradeFlow has no price for {contract} yet, and a paper order fills "
            'at one: add "price": {{close}} to the alert.',
            422,
        )


MAX_AGE_LIMIT = 7 * 24 * 3600  # a week: the most an alert may ask to be honoured


def _check_fresh(intent: Intent, data: dict[str, Any]) -> None:
    """Refuse an alert fired too long ago (or from a clock far ahead)."""
    if intent.sent_at is None:
        return
    max_age = settings.WEBHOOK_MAX_SIGNAL_AGE_SECONDS
    override = data.get("max_age")
    if isinstance(override, (int, Decimal)) and not isinstance(override, bool):
        if not 0 <= override <= MAX_AGE_LIMIT:
            raise _IntakeError(
                "invalid-max-age",
                f"max_age is in seconds, from 0 (no limit) to {MAX_AGE_LIMIT}.",
                422,
            )
        max_age = int(override)
    skew = settings.WEBHOOK_CLOCK_SKEW_SECONDS
    age = (timezone.now() - intent.sent_at).total_seconds()
    if max_age and age > max_age + skew:
        raise _IntakeError(
            "stale-signal",
            f"The alert fired {age:.0f} s ago, more than the {max_age} s allowed: "
            "the price it was meant for is gone.",
            422,
        )
    if age < -skew:
        raise _IntakeError(
            "invalid-time",
            f"The alert's time is {-age:.0f} s in the future: send {{{{timenow}}}} "
            "(UTC).",
            422,
        )


def resolve_symbol(symbol: str, overrides: dict[str, str] | None = None) -> str:
    """What the alert's symbol means today (a contract month, a pair, a stock),
    after the account's root mapping (alert on NQ, trade MNQ) when one applies.
    Raises ParseError."""
    try:
        if overrides:
            symbol = apply_root_override(symbol, overrides)
    except SymbolError as exc:
        raise ParseError("invalid-override", str(exc)) from None
    try:
        resolved = resolve(symbol)
    except ExpiredContract as exc:
        raise ParseError("expired-contract", str(exc)) from None
    except SymbolError as exc:
        raise ParseError("unknown-symbol", str(exc)) from None
    return resolved.symbol


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


def _queue(signal: Signal, admitted: _Admitted, raw_body: bytes) -> IntakeResult:
    intent = admitted.intent
    body_mark = None
    if intent.sender_id:
        signal.dedupe_key = f"{admitted.scope}:{intent.sender_id}"[:160]
    else:
        digest = hashlib.sha256(raw_body).hexdigest()
        body_mark = f"{admitted.scope}:{digest}"
        window = settings.WEBHOOK_DEDUPE_SECONDS
        # The database's unique key backs Redis up: identical bodies in one
        # window's bucket are one alert, whatever the cache knows.
        bucket = int(signal.received_at.timestamp()) // window
        signal.dedupe_key = f"{admitted.scope}:b{bucket}:{digest}"
        try:
            first = first_within(body_mark, window)
        except StoreUnavailable:  # no sliding window: the last bucket counts too
            first = _seen_in(f"{admitted.scope}:b{bucket - 1}:{digest}")
        if first is not None:
            return _duplicate(signal, int(first) if first.isdigit() else None)
    signal.status, signal.http_status = Signal.Status.QUEUED, 202
    signal.queued_at = timezone.now()
    try:
        _insert(signal)
    except IntegrityError:
        first_id = (
            Signal.objects.filter(dedupe_key=signal.dedupe_key)
            .values_list("pk", flat=True)
            .first()
        )
        return _duplicate(signal, first_id)
    if body_mark is not None:
        note_within(body_mark, str(signal.pk))
    what = (
        intent.action if intent.side is None else f"{intent.order_type} {intent.side}"
    )
    message = " ".join(
        str(part) for part in (what, intent.quantity, intent.symbol) if part
    )
    body = {
        "success": True,
        "signal_id": signal.pk,
        "status": signal.status,
        "message": f"{message[:1].upper()}{message[1:]} queued.",
        "data": {
            "correlation_id": str(signal.pk),
            "success_count": 0,
            "error_count": 0,
            "results": [],
        },
    }
    return IntakeResult(202, body, signal)


def _seen_in(dedupe_key: str) -> str | None:
    """The id of the signal already kept under `dedupe_key`, as text, if any."""
    pk = Signal.objects.filter(dedupe_key=dedupe_key).values_list("pk", flat=True)
    first = pk.first()
    return None if first is None else str(first)


def _insert(signal: Signal) -> None:
    """Save a queued signal and enqueue its execution once that is committed
    (a broker that does not answer leaves it queued for the sweeper).

    Alone (autocommit), the INSERT is its own transaction: no BEGIN and COMMIT round
    trips. In a caller's transaction, a savepoint keeps that transaction usable
    after a duplicate `dedupe_key` raises IntegrityError.
    """
    if transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            signal.save()
    else:
        signal.save()
    signal_enqueue(signal.pk)


def _duplicate(signal: Signal, first_id: int | None) -> IntakeResult:
    signal.pk, signal.dedupe_key = None, None
    signal.status, signal.http_status = Signal.Status.DUPLICATE, 200
    signal.error_code = "duplicate"
    signal.error_message = f"Already received as signal {first_id or '?'}."
    signal.save()
    body = {
        "success": True,
        "code": "duplicate",
        "detail": signal.error_message,
        "signal_id": first_id,
        "status": "duplicate",
    }
    return IntakeResult(200, body, signal)
