"""The venues' fakes for a bench, and alert -> fill through them beside paper:
what bench/projectx.py and bench/venues.py share.

Each fake runs in this process (REST on loopback, in a thread); its context
manager points this process's settings at it (to connect accounts) and the
environment, so the stack started afterwards (bench/stack.py) trades it too.
The venue's own rate limit is lifted at the fake: a bench measures TradeFlow's
path, not the venue's allowance. A `Leg` is one account the bench sends alerts
to; `leg_fills` sends them and reads back alert -> fill and, per order of ours,
how many orders the venue holds for its client order id (one each, or a
placement was lost or doubled).

    with fakes.tradovate() as venue:
        [(account, key)] = venue.connect(1)
        venue.fake.knobs.latency = 0.05
        with stack.tradeflow(...) as running:
            result = fakes.leg_fills(running.base, venue.leg(account, key), 40, 1)
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import loadgen, stack
from bench.alert_to_fill import latencies, wait_finished
from bench.loadgen import percentile

if TYPE_CHECKING:
    from brokers.models import BrokerAccount

Placed = Callable[["BrokerAccount", str], int]
Made = list[tuple["BrokerAccount", str]]
FUTURE = "MNQ1!"  # ProjectX and Tradovate trade it
FOREX = "EURUSD"  # TradeLocker trades it
PASSWORD = "bench-password-0123"  # noqa: S105 (a login at a fake)


@dataclass(frozen=True)
class Leg:
    """One account a bench sends alerts to, and how to count its orders at the
    venue by our client order id."""

    venue: str  # BrokerAccount.venue, and the webhook's path: /webhook/<venue>
    account: BrokerAccount
    key: str
    symbol: str
    quantity: float
    placed: Placed
    fake: Any = None  # its calls are counted (paper has none)


@dataclass
class Venue:
    """A venue's fake, running, and how a bench connects and trades it."""

    code: str
    fake: Any
    symbol: str
    quantity: float
    # Makes the n-th account at the fake; the options that connect it.
    login: Callable[[int], dict[str, Any]]
    placed: Placed

    def connect(self, count: int) -> Made:
        """`count` accounts at the fake, connected in a workspace of this venue's
        own (last run's accounts there are deleted: they name a fake now gone)."""
        from accounts.models import User
        from accounts.services import user_ensure_workspace
        from brokers.adapters.registry import adapter_class
        from brokers.models import BrokerAccount
        from webhooks.intake.keys import api_key_issue

        user, _ = User.objects.get_or_create(email=f"bench-{self.code}@tradeflow.local")
        workspace = user_ensure_workspace(user=user)
        BrokerAccount.objects.filter(workspace=workspace).delete()
        made = []
        for n in range(count):
            account = BrokerAccount.objects.create(
                workspace=workspace, venue=self.code, name=f"Bench {self.code} {n}"
            )
            adapter_class(self.code).provision(account, self.login(n))
            _, key = api_key_issue(account=account, created_by=None, name="Bench")
            made.append((account, key))
        return made

    def leg(self, account: BrokerAccount, key: str) -> Leg:
        return Leg(
            self.code, account, key, self.symbol, self.quantity, self.placed, self.fake
        )


def _point(setting: str, urls: dict[str, str]) -> None:
    """This process's settings and the stack's environment at the fake."""
    from django.conf import settings

    setattr(settings, setting, {**getattr(settings, setting), **urls})
    os.environ[setting] = ",".join(f"{name}={url}" for name, url in urls.items())


def _front_contract() -> str:
    from brokers.instruments.resolve import resolve

    return resolve(FUTURE).contract or ""


@contextmanager
def projectx(user: str = "bench-trader") -> Iterator[Venue]:
    """The fake ProjectX (TopstepX), its rate limit and the client's lifted, MNQ
    at 21,000."""
    from brokers.venues.projectx.fake import FakeProjectX

    api_key = "bench-projectx-key"
    with FakeProjectX.running() as fake:
        fake.knobs.rate_limit = 10**9
        # Read when the stack's processes start; this process's client is not the
        # bench's measure.
        os.environ["PROJECTX_CALLS_PER_MINUTE"] = "1000000"
        fake.user(user, api_key)
        _point("PROJECTX_API_URLS", {"topstepx": fake.url})
        fake.price(fake.contract_for(_front_contract()).id, Decimal(21000))

        def login(n: int) -> dict[str, Any]:
            made = fake.account(user, f"50KTC-{n}", balance=Decimal(1_000_000))
            return {"user_name": user, "api_key": api_key, "account_id": made.id}

        def placed(account: BrokerAccount, client_order_id: str) -> int:
            orders = list(fake.orders.values())
            return sum(o.custom_tag == client_order_id for o in orders)

        yield Venue("projectx", fake, FUTURE, 1, login, placed)


@contextmanager
def tradovate() -> Iterator[Venue]:
    """The fake Tradovate (demo and live), its rate limit lifted, MNQ at 21,000."""
    from brokers.venues.tradovate.fake import FakeTradovate

    user, cid, sec = "bench-trader", 7, "bench-tradovate-secret"
    with FakeTradovate.running() as fake:
        fake.knobs.rate_limit = 10**9
        fake.user(user, PASSWORD, cid=cid, sec=sec)
        _point("TRADOVATE_API_URLS", {"demo": fake.url, "live": fake.url})
        fake.price(fake.contract_for(_front_contract()).id, Decimal(21000))

        def login(n: int) -> dict[str, Any]:
            made = fake.account(user, f"DEMO{n}", balance=Decimal(1_000_000))
            options = {"user_name": user, "password": PASSWORD, "cid": cid}
            return {**options, "sec": sec, "account_id": made.id}

        def placed(account: BrokerAccount, client_order_id: str) -> int:
            orders = list(fake.orders.values())
            return sum(o.cl_ord_id == client_order_id for o in orders)

        yield Venue("tradovate", fake, FUTURE, 1, login, placed)


@contextmanager
def tradelocker() -> Iterator[Venue]:
    """The fake TradeLocker (demo), its rate limits not enforced (they are per
    access token: two placements a second), EURUSD at 1.10000 / 1.10010."""
    from brokers.venues.tradelocker.fake import FakeTradeLocker

    server = "OSP-DEMO"
    with FakeTradeLocker.running() as fake:
        fake.knobs.rate_limits_enforced = False
        _point("TRADELOCKER_API_URLS", {"demo": fake.url})
        fake.price(FOREX, Decimal("1.10000"), Decimal("1.10010"))

        def login(n: int) -> dict[str, Any]:
            # One account a login: connecting picks a login's only account.
            email = f"bench-{n}@tradeflow.local"
            fake.user(email, PASSWORD, server)
            fake.account(email, f"OSP#{n}", balance=Decimal(1_000_000))
            return {"email": email, "password": PASSWORD, "server": server}

        yield Venue("tradelocker", fake, FOREX, 0.1, login, _tradelocker_placed(fake))


def _tradelocker_placed(fake: Any) -> Placed:
    """An order of ours at TradeLocker is an opening order carrying its
    strategyId, or the closing orders of the positions it closed by id
    (written down as PositionClose rows before they are sent)."""
    from brokers.models import PositionClose
    from brokers.venues.tradelocker.adapter import strategy_id

    def placed(account: BrokerAccount, client_order_id: str) -> int:
        closed = set(
            PositionClose.objects.filter(
                account=account, client_order_id=client_order_id
            ).values_list("position_id", flat=True)
        )
        tag = strategy_id(client_order_id)
        return sum(
            str(o.position_id) in closed if o.closing else o.strategy_id == tag
            for o in list(fake.orders.values())
        )

    return placed


def paper_leg(label: str) -> Leg:
    """A paper account (reset, a fresh key) trading BTCUSDT, which never closes."""
    from paperbroker.models import PaperOrder

    def placed(account: BrokerAccount, client_order_id: str) -> int:
        orders = PaperOrder.objects.filter(
            account__broker_account=account, client_order_id=client_order_id
        )
        return orders.count()

    [(account, key)] = stack.paper_accounts(label, 1)
    return Leg("paper", account, key, stack.SYMBOL, 1, placed)


def closed_markets(symbols: list[str]) -> list[str]:
    """Those of `symbols` whose market is closed now (a CME break, a weekend)."""
    from django.utils import timezone

    from brokers.instruments.resolve import resolve
    from brokers.instruments.sessions import is_open

    now = timezone.now()
    return [s for s in symbols if not is_open(resolve(s).instrument, now)]


def leg_fills(base: str, leg: Leg, alerts: int, rate: float) -> dict[str, Any]:
    """`alerts` alerts (buy, sell, ...) to the leg's account at `rate` a second;
    alert -> fill of each (ms), and the counts."""
    from django.utils import timezone

    from webhooks.models import Execution

    since = timezone.now()
    called = len(leg.fake.calls) if leg.fake else 0
    load = loadgen.run(
        f"{base}/api/unify/v1/webhook/{leg.venue}",
        rate=rate,
        duration=alerts / rate,
        bodies=stack.alert_bodies(leg.symbol, leg.quantity),
        auths=[leg.key],
        warmup=0,
    )
    wait_finished(leg.account.pk, since, load["ok"], timeout=120)
    phases = latencies(leg.account.pk, since)
    medians = ", ".join(
        f"{name} {percentile(values, 50):.0f} ms"
        for name in ("queue", "risk", "venue")
        if (values := phases[name])
    )
    # Every process's calls (the housekeeping worker's syncs too) while it ran.
    calls = (len(leg.fake.calls) - called) / load["sent"] if leg.fake else None
    if calls is not None:
        medians += f"; {calls:.1f} venue calls an alert"
    print(f"  {leg.account.name}: median {medians}", flush=True)
    executions = Execution.objects.filter(
        account=leg.account, signal__received_at__gte=since
    )
    errors = Counter(
        executions.exclude(status=Execution.Status.FILLED).values_list(
            "error_code", flat=True
        )
    )
    if errors:
        print(f"  not filled: {dict(errors)}", flush=True)
    return {
        "sent": load["sent"],
        "filled": len(phases["fill"]),
        "failed": load["sent"] - len(phases["fill"]),
        "orders_per_client_id": placements(leg, executions),
        "venue_calls_per_alert": None if calls is None else round(calls, 1),
        "fills": phases["fill"],
    }


def placements(leg: Leg, executions: Any) -> dict[str, int]:
    """How many of our orders the venue holds N times, by N: {"1": 40} is each
    exactly once."""
    from brokers.models import Order

    ours = Order.objects.filter(executions__in=executions).values_list(
        "client_order_id", flat=True
    )
    counts = Counter(str(leg.placed(leg.account, coid)) for coid in set(ours))
    return dict(sorted(counts.items()))


def spread(values: list[float]) -> dict[str, float]:
    """Count, p50, p95, p99 and max (nearest rank), in ms."""
    count, values = len(values), values or [0.0]
    return {
        "count": count,
        "p50_ms": round(percentile(values, 50), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "p99_ms": round(percentile(values, 99), 1),
        "max_ms": round(max(values), 1),
    }


def parser(doc: str | None) -> argparse.ArgumentParser:
    """The options every venue bench takes: how many alerts, how fast, the
    fakes' latency, the web server, where to write the figures."""
    made = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    made.add_argument("--alerts", type=int, default=40)
    # One a second: each alert's fill ends before the next arrives, so a fill's
    # time is not the queue behind the last one (the account's lock).
    made.add_argument("--rate", type=float, default=1, help="alerts a second")
    made.add_argument("--latency", type=float, default=0.05, help="seconds")
    made.add_argument(
        "--server", default=stack.DEFAULT_SERVER, type=stack.WebServer.parse
    )
    made.add_argument("--write", type=Path, help="merge into this results.json")
    return made
