"""Seed 004's `/ws/{user_id}`: the workspace's events, plus `bot_update` for the
bots (strategies) the client subscribed to, and a `ping` to keep it alive.

    → {"type": "subscribe", "bot_id": "12"}
    ← {"type": "subscribed", "bot_id": "12"}
    ← {"type": "bot_update", "bot_id": "12", "data": {...event...}, "timestamp": "…"}
    → {"type": "unsubscribe", "bot_id": "12"}
    ← {"type": "unsubscribed", "bot_id": "12"}
    ← {"type": "ping"}  (every WS_PING_SECONDS)

A bot the user cannot see is an `error` with code `not-found`, as an outsider's
id is a 404 over HTTP. An event concerns a bot when it names the bot, or one of
the accounts that follow it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from accounts.consumers import CLOSE_UNAUTHENTICATED, EventsConsumer
from brokers.models import BrokerAccount
from common.http import parse_id
from webhooks.models import Strategy

BOT_EVENTS = {"strategy.heartbeat", "strategy.status"}
ACCOUNT_EVENTS = {"execution.update", "position.update", "account.update"}


@database_sync_to_async
def _bot_accounts(user: Any, bot_id: object) -> set[int] | None:
    """The ids of the accounts following a bot the user may see, else None."""
    pk = parse_id(bot_id)
    if pk is None:
        return None
    strategy = Strategy.objects.for_user(user).filter(pk=pk).first()
    if strategy is None:
        return None
    return set(strategy.accounts.values_list("pk", flat=True))


def concerns(event: dict[str, Any], bot_id: int, accounts: set[int]) -> bool:
    if event.get("type") in BOT_EVENTS:
        return event.get("strategy_id") == bot_id
    if event.get("type") in ACCOUNT_EVENTS:
        return event.get("account_id") in accounts
    return False


class BotEventsConsumer(EventsConsumer):
    bots: dict[int, set[int]]
    pinger: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.bots = {}
        await super().connect()
        if getattr(self, "groups_joined", None):
            self.pinger = asyncio.create_task(self._ping())

    async def disconnect(self, code: int) -> None:
        if self.pinger is not None:
            self.pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.pinger
        await super().disconnect(code)

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(settings.WS_PING_SECONDS)
            await self.send_json({"type": "ping"})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind not in ("subscribe", "unsubscribe"):
            if kind in ("ping", "pong"):
                await super().receive_json(content, **kwargs)
            else:
                await self._error(
                    "unknown-type", "Send subscribe, unsubscribe or ping."
                )
            return
        bot_id = content.get("bot_id")
        accounts = await _bot_accounts(self.scope["user"], bot_id)
        if accounts is None:
            await self._error("not-found", "No bot of yours has this id.", bot_id)
            return
        pk = int(str(bot_id))
        if kind == "subscribe":
            self.bots[pk] = accounts
        else:
            self.bots.pop(pk, None)
        await self.send_json({"type": f"{kind}d", "bot_id": str(pk)})

    async def _error(self, code: str, detail: str, bot_id: object = None) -> None:
        message: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
        if bot_id is not None:
            message["bot_id"] = str(bot_id)[:40]
        await self.send_json(message)

    async def event_forward(self, message: dict[str, Any]) -> None:
        event = message["event"]
        await self.send_json(event)
        for bot_id, accounts in self.bots.items():
            if concerns(event, bot_id, accounts):
                await self.send_json(
                    {
                        "type": "bot_update",
                        "bot_id": str(bot_id),
                        "data": event,
                        "timestamp": event.get("ts") or timezone.now().isoformat(),
                    }
                )


@database_sync_to_async
def _account_visible(user: Any, account_id: str) -> bool:
    pk = parse_id(account_id)
    return (
        pk is not None and BrokerAccount.objects.for_user(user).filter(pk=pk).exists()
    )


CLOSE_NOT_FOUND = 4404


class AccountUpdatesConsumer(EventsConsumer):
    """Seed 000's `/ws/accounts/{id}/updates`: one account's events only (its
    positions, balance, executions, risk). Someone else's account closes the
    socket before it opens, as a 404 would."""

    async def connect(self) -> None:
        account_id = self.scope["url_route"]["kwargs"]["account_id"]
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await _account_visible(user, account_id):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.account_id = int(account_id)
        await super().connect()

    async def event_forward(self, message: dict[str, Any]) -> None:
        event = message["event"]
        if event.get("account_id") == self.account_id:
            await self.send_json(event)
