"""Alerts as TradingView sends them, executed as the worker executes them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.test import Client

from webhooks.execution.fanout import signal_execute
from webhooks.execution.run import execution_run
from webhooks.models import Execution, Signal

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

# A market buy every paper account can fill at any hour (crypto never closes).
DEFAULT_ALERT: dict[str, Any] = {
    "action": "buy",
    "symbol": "BTCUSDT",
    "qty": 1,
    "price": "100",
}


def post_alert(key: str, body: dict[str, Any] | str) -> Response:
    """POST `body` to the key's TradingView URL, as TradingView does (text/plain,
    the key in the path). Returns the response; nothing is executed yet."""
    content = body if isinstance(body, str) else json.dumps(body)
    return Client().post(
        f"/webhook/tradingview/{key}", data=content, content_type="text/plain"
    )


def run_signal(signal_id: int) -> Signal:
    """What the worker does with a queued signal: the fan-out, then every pending
    account's execution (each is its own task in production). Idempotent, as the
    worker is: a signal already executed is only read back."""
    signal_execute(signal_id=signal_id)
    pending = Execution.objects.filter(
        signal_id=signal_id, status=Execution.Status.PENDING
    ).values_list("pk", flat=True)
    for execution_id in list(pending):
        execution_run(execution_id=execution_id)
    return Signal.objects.get(pk=signal_id)


def alert(key: str, body: dict[str, Any] | str | None = None, **fields: Any) -> Signal:
    """An alert on `key` that the intake accepts (asserted: 202), executed.

    `fields` go over DEFAULT_ALERT (a market buy of 1 BTCUSDT at 100); a `body`
    (a dict or plain text) is sent as it is instead.
    """
    response = post_alert(key, {**DEFAULT_ALERT, **fields} if body is None else body)
    assert response.status_code == 202, response.content
    return run_signal(json.loads(response.content)["signal_id"])
