"""Start and stop the real stack for a bench, and make its data.

PostgreSQL database `tradeflow_bench` (made and migrated when missing, reused after),
Redis db 11 (emptied at each start), a web server and a Celery worker as subprocesses
in their own process groups, logs under var/bench/. The web server is one of
daphne (one process), uvicorn (`--workers N`) or gunicorn with uvicorn workers
(`-w N`), written `uvicorn:2`. The floor app (bench/floor_app.py) runs under uvicorn
on `tradeflow_bench_floor` and Redis db 12.

    .venv/bin/python bench/stack.py [--server uvicorn:2] [--concurrency 2]

starts the stack and keeps it up until Ctrl-C, printing its URL and a webhook key.
The other benches import it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from testkit.processes import (  # noqa: E402
    free_port,
    process,
    wait_until,
    worker_argv,
    worker_ready,
)

if TYPE_CHECKING:
    from brokers.models import BrokerAccount
    from webhooks.models import Strategy

BIN = Path(sys.executable).parent
VAR = ROOT / "var" / "bench"
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradeflow_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
FLOOR_DATABASE_URL = os.environ.get(
    "FLOOR_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradeflow_bench_floor"
)
FLOOR_REDIS_URL = os.environ.get("FLOOR_REDIS_URL", "redis://127.0.0.1:6379/12")
DEFAULT_SERVER = "uvicorn:2"
QUEUES = ("orders", "celery")  # the Celery queues a backlog can wait in
WEBHOOK_PATH = "/api/unify/v1/webhook/paper"
SYMBOL = "BTCUSDT"  # crypto trades around the clock: the bench runs any day
PRICE = Decimal("95000")
BENCH_EMAIL = "bench@tradeflow.local"


def exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the context managers stop the processes."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def bench_env() -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "tradeflow.settings",
        "SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdefghij",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "FIELD_ENCRYPTION_KEYS": "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdDA=",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        # The app's default: a pool (BENCH_DATABASE_POOL=0 compares without one,
        # connecting per request).
        "DATABASE_POOL": os.environ.get("BENCH_DATABASE_POOL", "1"),
        "DATABASE_CONN_MAX_AGE": "0",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        # The load comes from one address with a few keys: lift the per-key limit.
        "WEBHOOK_RATE_LIMIT_PER_MINUTE": "100000000",
        # The bench database outlives runs: keep its workspace out of the trial.
        "TRIAL_DAYS": "36500",
        "TRIAL_TRADES": "1000000000",
        "TRADEFLOW_VAR_DIR": str(VAR),
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        "PYTHONUNBUFFERED": "1",
        "FLOOR_DATABASE_URL": FLOOR_DATABASE_URL,
        "FLOOR_REDIS_URL": FLOOR_REDIS_URL,
    }


@dataclass(frozen=True)
class WebServer:
    """A web server and its process count, written `uvicorn:2`."""

    kind: str
    workers: int = 1

    @classmethod
    def parse(cls, text: str) -> WebServer:
        kind, _, workers = text.partition(":")
        if kind not in ("daphne", "uvicorn", "gunicorn"):
            raise ValueError(f"unknown web server {kind!r}")
        server = cls(kind, int(workers or 1))
        if kind == "daphne" and server.workers != 1:
            raise ValueError("daphne runs one process")
        return server

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.workers}"

    def version(self) -> str:
        from importlib.metadata import version

        return f"{self.kind} {version(self.kind)}"

    def argv(self, app: str, port: int) -> list[str]:
        """The command, without access logs (none of the three then writes one
        line per request) and, for Django, without the lifespan protocol."""
        if self.kind == "daphne":
            return [
                str(BIN / "daphne"),
                *("-b", "127.0.0.1", "-p", str(port), "-v", "0", app),
            ]
        if self.kind == "uvicorn":
            lifespan = "on" if app.startswith("bench.") else "off"
            return [
                *(
                    str(BIN / "uvicorn"),
                    app,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ),
                *("--workers", str(self.workers), "--no-access-log"),
                *("--log-level", "warning", "--lifespan", lifespan),
            ]
        return [
            *(str(BIN / "gunicorn"), app, "-k", "uvicorn.workers.UvicornWorker"),
            *("-w", str(self.workers), "-b", f"127.0.0.1:{port}"),
            *("--log-level", "warning"),
        ]


# --- Databases -----------------------------------------------------------------------


def database_create(url: str) -> bool:
    """Create the database if missing; True when it was made now."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    if "bench" not in name and "profile" not in name:  # benches empty tables
        sys.exit(f"The bench database must be a bench one, not {name!r}.")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute(
            "select 1 from pg_database where datname = %s", [name]
        ).fetchone():
            return False
        conn.execute(f'create database "{name}"')
        return True


def database_prepare(url: str, env: dict[str, str]) -> None:
    """Make and migrate a bench database (`env` points Django at it) once; later
    runs reuse it."""
    fresh = database_create(url)
    manage = [sys.executable, "manage.py", "migrate"]
    if not fresh:
        check = subprocess.run(
            [*manage, "--check", "-v0"], cwd=ROOT, env=env, capture_output=True
        )
        if check.returncode == 0:
            return
    subprocess.run([*manage, "-v0"], cwd=ROOT, env=env, check=True)


def ensure_database() -> None:
    database_prepare(DATABASE_URL, bench_env())


def configure() -> None:
    """This process on the bench database and Redis, Django ready to use."""
    (VAR / "static").mkdir(parents=True, exist_ok=True)  # whitenoise wants it
    os.environ.update(bench_env())
    ensure_database()
    import django

    django.setup()


def redis_client(url: str | None = None) -> redis.Redis:
    return redis.Redis.from_url(url or REDIS_URL, socket_timeout=5)


def queue_length() -> int:
    """Celery messages waiting in the bench Redis (the worker's backlog)."""
    client = redis_client()
    return sum(int(client.llen(queue)) for queue in QUEUES)


def queue_purge() -> int:
    """Drop the backlog a load left, so it does not slow the next step down."""
    client = redis_client()
    left = sum(int(client.llen(queue)) for queue in QUEUES)
    client.delete(*QUEUES)
    return left


# --- Processes -----------------------------------------------------------------------


def _log(name: str) -> Path:
    VAR.mkdir(parents=True, exist_ok=True)
    return VAR / f"{name}.log"


def _answering(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


@dataclass(frozen=True)
class Running:
    base: str  # the web server's URL
    web_pid: int  # its process group

    def web_cpu_seconds(self) -> float:
        """CPU time the web server's processes (all workers) have used so far."""
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[2]) == self.web_pid:  # pgrp
                total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / os.sysconf("SC_CLK_TCK")


@contextmanager
def tradeflow(
    server: WebServer, concurrency: int = 2, worker: bool = True, split: bool = False
) -> Iterator[Running]:
    """TradeFlow on `server` with a Celery worker, until the block ends. `split`
    runs the queues as production does: `concurrency` processes for orders and a
    housekeeping worker of its own (syncs, the risk monitor, sweeps)."""
    redis_client().flushdb()
    env = bench_env()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web_log, worker_log = _log(f"web-{server.kind}-{server.workers}"), _log("worker")
    with ExitStack() as stack:
        web = stack.enter_context(
            process(server.argv("tradeflow.asgi:application", port), env, web_log)
        )
        workers = []
        if worker and split:
            workers = [
                (worker_argv(concurrency, "orders", "orders"), worker_log),
                (worker_argv(1, "housekeeping", "celery"), _log("housekeeping")),
            ]
        elif worker:
            workers = [(worker_argv(concurrency), worker_log)]
        # As `make run` starts it: a pool with room for the fan-out threads.
        worker_env = {**env, "DATABASE_POOL_SIZE": "24"}
        for argv, log in workers:
            stack.enter_context(process(argv, worker_env, log))
        wait_until(lambda: _answering(base + "/healthz"), 60, f"{server.label} up")
        for _, log in workers:
            worker_ready(log, 60)
        yield Running(base, web.pid)


@contextmanager
def floor(workers: int) -> Iterator[str]:
    """The floor app under uvicorn with `workers` processes; yields its base URL."""
    from bench.floor_app import table_create

    os.environ.update(FLOOR_DATABASE_URL=FLOOR_DATABASE_URL)
    table_create()
    redis_client(FLOOR_REDIS_URL).flushdb()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = WebServer("uvicorn", workers).argv("bench.floor_app:app", port)
    with process(argv, bench_env(), _log("floor")):
        wait_until(lambda: _answering(base + "/"), 60, "the floor app up")
        yield base


# --- Data (after configure()) --------------------------------------------------------


def paper_accounts(label: str, count: int) -> list[tuple[BrokerAccount, str]]:
    """`count` paper accounts named `label i` in the bench workspace, each reset
    (flat, initial cash) and with a fresh webhook key (older ones revoked)."""
    from accounts.models import User
    from accounts.services import user_ensure_workspace
    from brokers.models import BrokerAccount
    from paperbroker.models import PaperAccount
    from paperbroker.services import paper_account_reset, quote_record
    from webhooks.intake.keys import account_register, api_key_issue, api_key_revoke
    from webhooks.models import ApiKey

    user, _ = User.objects.get_or_create(email=BENCH_EMAIL)
    workspace = user_ensure_workspace(user=user)
    quote_record(symbol=SYMBOL, last=PRICE, source="manual")
    made = []
    for i in range(count):
        name = f"{label} {i}"
        account = BrokerAccount.objects.filter(workspace=workspace, name=name).first()
        if account is None:
            account, key = account_register(
                workspace=workspace,
                user=user,
                venue="paper",
                name=name,
                options={"initial_balance": Decimal(100_000_000)},
            )
        else:
            for old in ApiKey.objects.filter(account=account, revoked_at__isnull=True):
                api_key_revoke(api_key=old)
            _, key = api_key_issue(account=account, created_by=user, name="Bench")
            paper = PaperAccount.objects.get(broker_account=account)
            paper_account_reset(account=paper)
            # A kill switch an earlier bench pulled (bench/security.py's fuzz may).
            BrokerAccount.objects.filter(pk=account.pk).update(
                status=BrokerAccount.Status.ACTIVE
            )
        made.append((account, key))
    return made


def strategy_for(name: str, accounts: list[BrokerAccount]) -> tuple[Strategy, str]:
    """A strategy these accounts (and no others) follow, with a fresh key."""
    from webhooks.intake.keys import api_key_issue, api_key_revoke
    from webhooks.models import ApiKey, Strategy, Subscription
    from webhooks.strategies.services import strategy_create, subscription_save

    workspace = accounts[0].workspace
    strategy = Strategy.objects.filter(workspace=workspace, name=name).first()
    if strategy is None:
        strategy, key = strategy_create(workspace=workspace, user=None, name=name)
    else:
        for old in ApiKey.objects.filter(strategy=strategy, revoked_at__isnull=True):
            api_key_revoke(api_key=old)
        _, key = api_key_issue(strategy=strategy, created_by=None, name="Bench")
    Subscription.objects.filter(strategy=strategy).exclude(
        account__in=accounts
    ).delete()
    for account in accounts:
        subscription_save(strategy=strategy, account=account)
    return strategy, key


def alert_bodies(symbol: str = SYMBOL, quantity: float = 1) -> list[str]:
    """A buy then a sell of `quantity` (one BTCUSDT), each with its own id (loadgen
    fills in `{run}` and `{seq}`), so the accounts stay flat and no alert is a
    duplicate."""
    return [
        json.dumps(
            {
                "ticker": symbol,
                "action": side,
                "quantity": quantity,
                "id": "{run}-{seq}",
            }
        )
        for side in ("buy", "sell")
    ]


def session_cookie() -> str:
    """A logged-in session of the bench user, as a Cookie header."""
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=BENCH_EMAIL))
    return f"sessionid={client.cookies['sessionid'].value}"


def settle(timeout: float = 30) -> None:
    """Wait (a while) for the worker's backlog to empty."""
    deadline = time.monotonic() + timeout
    while queue_length() and time.monotonic() < deadline:
        time.sleep(0.2)


def main() -> int:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", default=DEFAULT_SERVER, type=WebServer.parse)
    parser.add_argument("--concurrency", type=int, default=2, help="Celery processes")
    args = parser.parse_args()
    configure()
    [(_, key)] = paper_accounts("Bench manual", 1)
    with tradeflow(args.server, args.concurrency) as running:
        base = running.base
        print(f"{args.server.label} at {base} (logs in {VAR}); Ctrl-C stops it")
        print(f"curl -H 'Authorization: Bearer {key}' -d 'buy 1 {SYMBOL}' ", end="")
        print(base + WEBHOOK_PATH)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
