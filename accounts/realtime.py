"""Typed realtime events and the one helper that broadcasts them.

Producers call `broadcast()` inside their transaction; the message leaves only after
commit, so a page never hears of a row it cannot read yet. The channel layer may drop
messages: pages re-render their full state on (re)connect.
"""

from __future__ import annotations

import logging
from typing import Any, Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from accounts.scoping import workspace_group

log = logging.getLogger(__name__)


class PositionEvent(TypedDict):
    type: Literal["position.update"]
    account_id: int
    symbol: str
    quantity: str
    avg_price: str | None


class SignalEvent(TypedDict):
    type: Literal["signal.update"]
    signal_id: int
    status: str
    error_code: str


class ExecutionEvent(TypedDict):
    type: Literal["execution.update"]
    signal_id: int
    account_id: int
    status: str
    error_code: str


class StrategyEvent(TypedDict):
    """A strategy's alerts stopped arriving (heartbeat missed)."""

    type: Literal["strategy.heartbeat"]
    strategy_id: int
    name: str
    last_signal_at: str | None


class AccountEvent(TypedDict):
    type: Literal["account.update"]
    account_id: int
    balance: str | None


class PaperAccountEvent(TypedDict):
    """Seed 003: balance and position changes of a paper account."""

    type: Literal["paper_account_update"]
    data: dict[str, Any]


class PaperOrderEvent(TypedDict):
    type: Literal["paper_order_update"]
    data: dict[str, Any]


class PaperFillEvent(TypedDict):
    type: Literal["paper_fill_update"]
    data: dict[str, Any]


Event = (
    PositionEvent
    | SignalEvent
    | ExecutionEvent
    | StrategyEvent
    | AccountEvent
    | PaperAccountEvent
    | PaperOrderEvent
    | PaperFillEvent
)


def broadcast_many(events: list[tuple[int, Event]]) -> None:
    """`broadcast` for many (workspace, event) pairs in one trip into the event
    loop (the monitor's sweep), once the transaction commits. The sends go one
    after the other on one connection: the channel layer's pool is small."""
    if not events:
        return

    async def send_all() -> int:
        layer = get_channel_layer()
        if layer is None:
            return 0
        ts = timezone.now().isoformat()
        failed = 0
        for workspace_id, event in events:
            message = {**event, "workspace_id": workspace_id, "ts": ts}
            try:
                await layer.group_send(
                    workspace_group(workspace_id),
                    {"type": "event.forward", "event": message},
                )
            except Exception:
                failed += 1
        return failed

    def send() -> None:
        try:
            failed = async_to_sync(send_all)()
        except Exception:
            log.exception("broadcast of %s events failed", len(events))
            return
        if failed:
            log.warning("%s of %s broadcasts failed", failed, len(events))

    transaction.on_commit(send)


def broadcast(workspace_id: int, event: Event) -> None:
    """Send `event` to the workspace's watchers once the transaction commits."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        message = {
            **event,
            "workspace_id": workspace_id,
            "ts": timezone.now().isoformat(),
        }
        try:
            async_to_sync(layer.group_send)(
                workspace_group(workspace_id),
                {"type": "event.forward", "event": message},
            )
        except Exception:
            # Realtime is best effort: pages re-sync on reconnect. Never fail a trade.
            log.exception("broadcast to workspace %s failed", workspace_id)

    transaction.on_commit(send)
