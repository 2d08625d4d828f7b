"""Typed realtime events, the channel groups, and the one helper that sends them.

Producers call `announce()` (or `broadcast()`) inside their transaction; the message
leaves only after commit, so a page never hears of a row it cannot read yet. Work
that makes many events (an execution, a sweep) opens `announcing()` and they leave
together in one channel-layer trip. The channel layer may drop messages: pages
re-render their full state on (re)connect.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

log = logging.getLogger(__name__)


def workspace_group(workspace_id: int) -> str:
    """The channel group of everyone watching a workspace."""
    return f"workspace.{workspace_id}"


def user_group(user_id: int) -> str:
    """The channel group of one user's personal notices."""
    return f"user.{user_id}"


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


class StrategyStatusEvent(TypedDict):
    """A strategy (seed 004's bot) was activated, paused or stopped."""

    type: Literal["strategy.status"]
    strategy_id: int
    status: str


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
    | StrategyStatusEvent
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


_batch: ContextVar[list[tuple[int, Event]] | None] = ContextVar(
    "announcements", default=None
)


def announce(workspace_id: int, event: Event) -> None:
    """`broadcast`, or kept for the batch `announcing` holds open in this context."""
    batch = _batch.get()
    if batch is None:
        broadcast(workspace_id, event)
        return
    # Kept only once its transaction commits, as `broadcast` would send it.
    transaction.on_commit(lambda: batch.append((workspace_id, event)))


@contextmanager
def announcing() -> Iterator[None]:
    """Send every `announce` of the block in one channel-layer round trip at its
    end (an execution makes about six: one trip each cost milliseconds of CPU).
    Inside another such block, the outer one sends them."""
    if _batch.get() is not None:
        yield
        return
    batch: list[tuple[int, Event]] = []
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
        # After the kept events' own commit hooks, in the order they were made.
        transaction.on_commit(lambda: broadcast_many(batch))
