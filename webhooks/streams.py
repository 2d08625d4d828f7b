"""The venue-streams process: realtime connections to the venues, outside Celery.

Per ProjectX login (firm + user name) a user-hub connection, every enabled
account of the login subscribed, and while they hold positions or working
orders a market-hub one for those contracts' quotes. Per Tradovate login
(environment + user name) one user-data WebSocket, `user/syncrequest` for every
enabled account of the login: one connection whatever the number of accounts,
far inside Tradovate's 50 per user. An event for an account
is recorded through the functions the worker and the beat use
(`executions_refresh` for its working orders, `account_sync` for balance,
equity and positions), so a fill at the venue shows in our Order / Fill /
Position rows and on the live pages within a second, and a duplicated or
repeated event changes nothing twice. Bursts (a fill is four events) are
recorded once. A lost stream changes nothing else: the beat's polling stays the
fallback, and each account's stream state (`live`, `reconnecting`, `displaced`)
is in the cache for the pages; an account no stream holds is polled only.

    .venv/bin/python manage.py venue_streams
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections

from brokers.adapters.base import VenueError
from brokers.models import BrokerAccount, Order, Position
from brokers.services import account_sync
from brokers.streaming import stream_state_set
from brokers.venues.projectx.adapter import (
    Credentials,
    ProjectXAdapter,
    client_for,
    quote_store,
)
from brokers.venues.projectx.firms import firm_of, market_hub_url, user_hub_url
from brokers.venues.projectx.stream import Displaced, MarketStream, UserStream
from brokers.venues.tradovate.adapter import TradovateAdapter
from brokers.venues.tradovate.client import TradovateClient
from brokers.venues.tradovate.stream import UserSync, socket_url, tokens_of
from paperbroker.services import price_update
from webhooks.execution.supervision import executions_refresh

log = logging.getLogger(__name__)
T = TypeVar("T")
COALESCE_SECONDS = 0.05  # events of one fill arrive together: record them once
PAPER_PRICE_SECONDS = 1.0  # a contract's paper price is updated at most this often
StreamRun = Callable[[asyncio.Event], Awaitable[None]]  # one stream, until halted


@dataclass
class _Login:
    firm: str
    user_name: str
    api_key: str
    accounts: dict[int, int] = field(default_factory=dict)  # venue id -> our pk
    contracts: dict[str, str] = field(default_factory=dict)  # contract id -> our code


def logins() -> dict[tuple[str, str], _Login]:
    """The enabled ProjectX accounts, by login."""
    found: dict[tuple[str, str], _Login] = {}
    for account in BrokerAccount.objects.filter(venue="projectx", enabled=True):
        try:
            credentials = Credentials.of(account)
            venue_id = int(account.external_id)
        except Exception:
            log.warning("projectx account %s has no usable credentials", account.pk)
            continue
        key = (credentials.firm, credentials.user_name)
        login = found.setdefault(
            key, _Login(credentials.firm, credentials.user_name, credentials.api_key)
        )
        login.accounts[venue_id] = account.pk
        # Quotes of what it holds, and of what rests there: when a resting order
        # fills, its position is marked from the first tick, not the next reload.
        held = Position.objects.filter(account=account).exclude(quantity=0)
        resting = Order.objects.filter(account=account).exclude(status__in=Order.FINAL)
        symbols = {*held.values_list("symbol", flat=True)}
        symbols |= {*resting.values_list("symbol", flat=True)}
        if not symbols:
            continue
        adapter = ProjectXAdapter(account)  # one client for the account's contracts
        try:
            for symbol in sorted(symbols):
                try:
                    login.contracts[adapter.contract_id(symbol)] = symbol
                except VenueError as exc:
                    log.warning(
                        "projectx %s: no contract for %s: %s", account.pk, symbol, exc
                    )
        finally:
            adapter.client.close()
    return found


@dataclass
class _TradovateLogin:
    key: str  # the client's login key: environment URL + user name
    first: int  # our pk of one of its accounts: its adapter makes the client
    accounts: dict[int, int] = field(default_factory=dict)  # venue id -> our pk


def tradovate_logins() -> dict[str, _TradovateLogin]:
    """The enabled Tradovate accounts, by login: one socket serves them all."""
    found: dict[str, _TradovateLogin] = {}
    for account in BrokerAccount.objects.filter(venue="tradovate", enabled=True):
        try:
            adapter = TradovateAdapter(account)
        except (VenueError, KeyError):  # no credentials, or an unknown environment
            log.warning("tradovate account %s has no usable credentials", account.pk)
            continue
        key = adapter.client.login.key
        adapter.client.close()
        login = found.setdefault(key, _TradovateLogin(key, account.pk))
        login.accounts[adapter.account_id] = account.pk
    return found


def tradovate_client(account_id: int) -> TradovateClient:
    """The REST client of an account's login (its session shared by the socket)."""
    return TradovateAdapter(BrokerAccount.objects.get(pk=account_id)).client


def record(account_id: int) -> None:
    """What a stream event means for our rows, through the worker's functions."""
    account = BrokerAccount.objects.get(pk=account_id)
    executions_refresh(account_id=account_id)
    account_sync(account=account)


async def in_thread(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """ORM work off the event loop, on a worker thread that then hands its
    database connection back: a long-lived process keeps none idle (nor one a
    database restart left broken), and a test's database can be dropped."""

    def run() -> T:
        try:
            return work(*args, **kwargs)
        finally:
            connections.close_all()

    return await asyncio.to_thread(run)


class VenueStreams:
    """Holds the streams; `run` until `stop` is set."""

    def __init__(self) -> None:
        self.running: dict[
            tuple[Any, ...], tuple[asyncio.Task[None], asyncio.Event, frozenset[Any]]
        ] = {}
        self.pending: dict[int, asyncio.Task[None]] = {}
        self.dirty: set[int] = set()
        self.quotes = 0
        self.markets: dict[tuple[str, str], MarketStream] = {}  # by login
        self.syncs: dict[str, UserSync] = {}  # Tradovate's, by login key
        self.states: dict[int, str] = {}  # our account pk -> its stream's state

    async def run(self, stop: asyncio.Event) -> None:
        reload = settings.VENUE_STREAMS_RELOAD_SECONDS
        try:
            while not stop.is_set():
                wanted = await in_thread(logins)
                tradovate = await in_thread(tradovate_logins)
                await self.reconcile(wanted, tradovate)
                held = [login.accounts for login in wanted.values()]
                held += [login.accounts for login in tradovate.values()]
                self._refresh_states({pk for ids in held for pk in ids.values()})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=reload)
        finally:
            for _task, halt, _ in self.running.values():
                halt.set()
            await asyncio.gather(
                *(task for task, _, _ in self.running.values()), return_exceptions=True
            )
            for pending in self.pending.values():
                pending.cancel()
            await asyncio.gather(*self.pending.values(), return_exceptions=True)

    async def reconcile(
        self,
        wanted: dict[tuple[str, str], _Login],
        tradovate: dict[str, _TradovateLogin] | None = None,
    ) -> None:
        """Start the streams wanted, restart those whose subscriptions changed,
        stop those no longer wanted: per ProjectX login a user stream (its
        accounts) and, while they hold positions, a market stream (those
        contracts); per Tradovate login one socket (its accounts)."""
        streams: dict[tuple[Any, ...], tuple[frozenset[Any], StreamRun]] = {}
        for key, login in wanted.items():
            streams[(key, "user")] = (
                frozenset(login.accounts),
                partial(self._stream, login),
            )
            if login.contracts:
                streams[(key, "market")] = (
                    frozenset(login.contracts),
                    partial(self._market, login),
                )
        for login_key, venue_login in (tradovate or {}).items():
            streams[("tradovate", login_key)] = (
                frozenset(venue_login.accounts),
                partial(self._tradovate, venue_login),
            )
        for key in list(self.running):
            task, halt, signature = self.running[key]
            if key not in streams or streams[key][0] != signature or task.done():
                halt.set()
                await asyncio.gather(task, return_exceptions=True)
                del self.running[key]
        for key, (signature, run) in streams.items():
            if key not in self.running:
                halt = asyncio.Event()
                task = asyncio.ensure_future(run(halt))
                self.running[key] = (task, halt, signature)

    async def _market(self, login: _Login, halt: asyncio.Event) -> None:
        """Quotes of the contracts held: they mark the positions (the adapter
        reads them while fresh) and price the paper broker's same contracts."""
        firm = firm_of(login.firm)
        client = client_for(firm, login.user_name, login.api_key)
        priced: dict[str, float] = {}

        async def token() -> str:
            return await asyncio.to_thread(client.token)

        async def on_quote(target: str, data: dict[str, Any]) -> None:
            contract_id = str(data.get("contractId"))
            last = data.get("lastPrice")
            code = login.contracts.get(contract_id)
            if last is None or code is None:
                return
            price = Decimal(str(last))
            quote_store(contract_id, price)
            self.quotes += 1
            now = time.monotonic()
            if now - priced.get(contract_id, 0.0) >= PAPER_PRICE_SECONDS:
                priced[contract_id] = now
                await in_thread(
                    price_update, symbol=code, last=price, source="projectx"
                )

        stream = MarketStream(
            market_hub_url(firm),
            token,
            login.contracts,
            on_quote,
            stale_after=settings.PROJECTX_QUOTE_STALE_SECONDS,
        )
        self.markets[(login.firm, login.user_name)] = stream
        try:
            await stream.run(halt)
        except Displaced:
            log.warning(
                "projectx market hub: %s@%s displaced", login.user_name, login.firm
            )
        finally:
            client.close()

    async def _stream(self, login: _Login, halt: asyncio.Event) -> None:
        firm = firm_of(login.firm)
        client = client_for(firm, login.user_name, login.api_key)

        async def token() -> str:
            return await asyncio.to_thread(client.token)

        async def on_event(target: str, data: dict[str, Any]) -> None:
            venue_id = (
                data.get("accountId")
                if target != "GatewayUserAccount"
                else data.get("id")
            )
            account_id = login.accounts.get(int(venue_id or 0))
            if account_id is not None:
                self._schedule(account_id)

        stream = UserStream(
            user_hub_url(firm),
            token,
            login.accounts,
            on_event,
            self._on_state(login.accounts, f"projectx {login.user_name}@{login.firm}"),
        )
        try:
            await stream.run(halt)
        except Displaced:
            log.warning(
                "projectx login %s@%s was displaced by another session: polling only",
                login.user_name,
                login.firm,
            )
        finally:
            client.close()

    async def _tradovate(self, login: _TradovateLogin, halt: asyncio.Event) -> None:
        """One login's socket: an event names its account (a fill only its
        order, found from the order events and the sync's orders)."""
        client = await in_thread(tradovate_client, login.first)
        orders: dict[int, int] = {}  # Tradovate order id -> its account id

        def learn(order: dict[str, Any]) -> None:
            if order.get("id") is not None and order.get("accountId") is not None:
                orders[int(order["id"])] = int(order["accountId"])

        async def on_sync(snapshot: dict[str, Any]) -> None:
            for order in snapshot.get("orders") or []:
                learn(order)

        async def on_event(kind: str, event: str, entity: dict[str, Any]) -> None:
            if kind == "order":
                learn(entity)
            venue_id = entity.get("accountId")
            if venue_id is None and entity.get("orderId") is not None:
                venue_id = orders.get(int(entity["orderId"]))
            if venue_id is None:  # whose, we cannot tell: every account's
                mine = list(login.accounts.values())
            else:
                found = login.accounts.get(int(venue_id))
                mine = [] if found is None else [found]
            for account_id in mine:
                self._schedule(account_id)

        stream = UserSync(
            socket_url(client.login.base_url),
            tokens_of(client),
            login.accounts,
            on_event,
            self._on_state(login.accounts, f"tradovate {login.key[:8]}"),
            on_sync=on_sync,
        )
        self.syncs[login.key] = stream
        try:
            await stream.run(halt)
        finally:
            client.close()

    def _on_state(
        self, accounts: dict[int, int], name: str
    ) -> Callable[[str], Awaitable[None]]:
        """A stream's state for its accounts' pages; on (re)connect each account
        is read afresh: what happened while the stream was down."""

        async def on_state(state: str) -> None:
            for account_id in accounts.values():
                self.states[account_id] = state
                stream_state_set(account_id, state)
                if state == "live":
                    self._schedule(account_id)
            log.info("%s stream: %s", name, state)

        return on_state

    def _refresh_states(self, held: set[int]) -> None:
        """Each reload writes the states again: the cache forgets one after
        STATE_SECONDS (a process that died must not leave pages saying "Live");
        an account no stream holds any more is left to expire."""
        for account_id in list(self.states):
            if account_id in held:
                stream_state_set(account_id, self.states[account_id])
            else:
                del self.states[account_id]

    def _schedule(self, account_id: int) -> None:
        """Record the account soon; events meanwhile join that record, and one
        that comes while it runs asks for another after it."""
        self.dirty.add(account_id)
        if account_id in self.pending and not self.pending[account_id].done():
            return
        self.pending[account_id] = asyncio.ensure_future(self._record(account_id))

    async def _record(self, account_id: int) -> None:
        while account_id in self.dirty:
            await asyncio.sleep(COALESCE_SECONDS)
            self.dirty.discard(account_id)
            await self._record_once(account_id)

    async def _record_once(self, account_id: int) -> None:
        try:
            await in_thread(record, account_id)
        except Exception:
            log.exception("venue stream: recording account %s failed", account_id)
