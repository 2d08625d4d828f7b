"""Orders from the API (seed 003's paper alerts, seed 004's group trades) through
the pipeline every alert takes: a Signal row, risk checks, exactly-once client
order ids, billing. The request queues the signal and waits for the worker's
outcome; it never executes anything itself."""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from brokers.models import BrokerAccount
from common.numbers import plain
from webhooks.execution.enqueue import signal_enqueue
from webhooks.intake.intents import ParseError
from webhooks.intake.parsing import intent_from_payload
from webhooks.intake.services import resolve_symbol
from webhooks.models import AccountGroup, Signal, Strategy

log = logging.getLogger(__name__)


def signal_submit(
    *,
    user: User,
    data: dict[str, Any],
    strategy: Strategy | None = None,
    group: AccountGroup | None = None,
    account: BrokerAccount | None = None,
    source_ip: str | None = None,
    wait: float | None = None,
) -> Signal:
    """Queue an order for one target and wait up to `wait` seconds (default
    API_ORDER_WAIT_SECONDS) for the worker to finish it; the signal as it stands
    then (still queued or executing when the workers are slow).

    Raises ParseError for a body that is not an order, as intake would; that
    request is logged as a rejected signal too.
    """
    target = strategy or group or account
    assert target is not None
    now = timezone.now()
    signal = Signal(
        workspace_id=target.workspace_id,
        strategy=strategy,
        group=group,
        account=account,
        broker="api",
        source_ip=source_ip,
        content_type="application/json",
        raw_body=json.dumps(data, default=str)[: settings.WEBHOOK_MAX_BODY_BYTES],
        received_at=now,
    )
    try:
        intent = intent_from_payload(data)
        signal.payload = intent.as_payload()
        if intent.symbol is not None:
            overrides = account.symbol_overrides if account is not None else None
            signal.payload["contract"] = resolve_symbol(intent.symbol, overrides)
    except ParseError as exc:
        # Logged like a refused alert, so the trader sees it in the signal log.
        signal.status, signal.http_status = Signal.Status.REJECTED, exc.http_status
        signal.error_code, signal.error_message = exc.code, exc.message[:500]
        signal.save()
        raise
    signal.status, signal.http_status = Signal.Status.QUEUED, 202
    signal.queued_at = now
    signal.save()
    log.info("signal %s submitted by user %s", signal.pk, user.pk)
    signal_enqueue(signal.pk)
    return signal_await(
        signal_id=signal.pk,
        seconds=settings.API_ORDER_WAIT_SECONDS if wait is None else wait,
    )


def position_close(
    *,
    user: User,
    account: BrokerAccount,
    symbol: str,
    quantity: Decimal | None = None,
    order_type: str | None = None,
    limit_price: Decimal | None = None,
    source_ip: str | None = None,
) -> Signal:
    """Close `quantity` of the account's position in `symbol` (all of it when
    None) as an `exit` signal: logged with who asked, planned from the venue's
    own position, risk-checked like any exit, never refused by billing (only
    entries are). At market unless `order_type` says otherwise (a limit close
    at `limit_price`). Nothing to close ends the execution DONE with no order.
    The one close of a position from the API (seed 002's and seed 004's).
    Raises ParseError for a symbol, quantity or price intake would refuse."""
    data: dict[str, Any] = {
        "action": "exit",
        "symbol": symbol,
        "comment": f"Closed from the API by {user.email}"[:255],
    }
    if quantity is not None:
        data["quantity"] = plain(quantity)
    if order_type is not None:
        data["order_type"] = order_type
    if limit_price is not None:
        data["limit_price"] = plain(limit_price)
    return signal_submit(user=user, data=data, account=account, source_ip=source_ip)


def signal_await(*, signal_id: int, seconds: float) -> Signal:
    """The signal once it is final (or working at the venue), or after `seconds`.

    Inside a transaction nothing is waited for: no worker can see the signal
    before it commits (only an eager run, in this thread, has done the work).
    """
    settled = (*Signal.FINAL, Signal.Status.WORKING, Signal.Status.AWAITING)
    deadline = time.monotonic() + seconds
    delay = 0.005
    while True:
        signal = Signal.objects.get(pk=signal_id)
        stop = transaction.get_connection().in_atomic_block
        if signal.status in settled or stop or time.monotonic() >= deadline:
            return signal
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
