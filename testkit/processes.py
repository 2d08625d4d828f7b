"""Helpers for tests that start real processes (daphne, Celery) on loopback."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except (httpx.HTTPError, OSError, redis.RedisError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")


@contextmanager
def process(
    argv: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` in its own process group; stop the whole group on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, 9)
                    proc.wait()


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process and its children (a Celery pool): a crash, no cleanup."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def subprocess_env(var_dir: Path, redis_url: str | None = None) -> dict[str, str]:
    """The environment for daphne and Celery on the test database (and `redis_url`,
    else the test's Redis)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DATABASE_CONN_MAX_AGE": "0",
        "PYTHONUNBUFFERED": "1",
        "TRADEFLOW_VAR_DIR": str(var_dir),
        # The browser journeys sign up with no inbox to read; the mandatory
        # verification of production is tested in accounts/tests/test_signup.py.
        "ACCOUNT_EMAIL_VERIFICATION": "optional",
    }
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    return env


@dataclass
class RedisServer:
    """A throwaway redis-server without persistence: a restart loses everything."""

    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2)

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed"
        argv = [binary, "--bind", "127.0.0.1", "--port", str(self.port)]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.log.parent)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until(lambda: self.client().ping(), 10, "redis-server answering")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            kill_group(self.proc)

    def restart(self) -> None:
        """Crash and come back empty, on the same port."""
        self.stop()
        self.start()


@contextmanager
def redis_server(log: Path) -> Iterator[RedisServer]:
    server = RedisServer(free_port(), log)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def daphne_argv(port: int) -> list[str]:
    return [
        str(BIN / "daphne"),
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "tradeflow.asgi:application",
    ]


def worker_argv(
    concurrency: int = 1, name: str = "celery", queues: str = "orders,celery"
) -> list[str]:
    """A Celery worker; by default one that takes both queues (orders and
    housekeeping), as a test or a bench needs."""
    return [
        str(BIN / "celery"),
        "-A",
        "tradeflow",
        "worker",
        "-l",
        "info",
        "--concurrency",
        str(concurrency),
        "--without-mingle",
        "--without-gossip",
        "-Q",
        queues,
        "-n",
        f"{name}@%h",
    ]


def uvicorn_argv(port: int, workers: int = 1) -> list[str]:
    """The web server as `make run`, docker-compose and the Dockerfile run it."""
    return [
        str(BIN / "uvicorn"),
        "tradeflow.asgi:application",
        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        *("--lifespan", "off", "--no-proxy-headers"),
    ]


# Process starts include loading every exchange calendar (a few seconds).
START_TIMEOUT = 90


def worker_ready(log: Path, timeout: float = START_TIMEOUT) -> None:
    wait_until(
        lambda: "ready" in log.read_text(), timeout, "the Celery worker starting"
    )


def travelling(argv: list[str]) -> list[str]:
    """`argv` (a Python script, or this interpreter and one) run on the shifted
    clock of the environment's CLOCK_OFFSET_ENV."""
    script = argv[1:] if argv[0] == sys.executable else argv
    return [sys.executable, "-m", "testkit.travelling", *script]


def manage_argv(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), *args]


@dataclass
class PrivateStack:
    """daphne on a throwaway Redis: only the workers started here consume its
    queue, so they may be killed and restarted without touching the session's
    stack. With a clock offset (`testkit.clock.shifted`) every process runs on it."""

    redis: RedisServer
    env: dict[str, str]
    base_url: str
    logs: Path

    def alert(self, venue: str, key: str, text: str) -> int:
        """Post a text alert to this stack's webhook for `venue`: its signal id
        (the answer must be 202)."""
        response = httpx.post(
            f"{self.base_url}/api/unify/v1/webhook/{venue}/{key}",
            content=text,
            headers={"Content-Type": "text/plain"},
        )
        assert response.status_code == 202, response.text
        return int(response.json()["signal_id"])

    @contextmanager
    def worker(
        self, role: str, env: dict[str, str] | None = None
    ) -> Iterator[subprocess.Popen[bytes]]:
        name = f"{role}-{os.urandom(3).hex()}"
        with self.process(name, worker_argv(name=name), env) as proc:
            worker_ready(self.logs / f"{name}.log")
            yield proc

    @contextmanager
    def process(
        self, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> Iterator[subprocess.Popen[bytes]]:
        """Any process on this stack (its Redis, its clock), logged to NAME.log."""
        log = self.logs / f"{name}.log"
        with process(self._argv(argv), {**self.env, **(env or {})}, log) as proc:
            yield proc

    def sweep(self) -> list[int]:
        """What the beat's `signals_sweep_task` does, with no age limit, into this
        stack's queue: a killed worker's unacknowledged message waits out the
        visibility timeout, the sweep brings its signal back. Returns the signal
        ids it enqueued."""
        from datetime import timedelta

        from celery import Celery

        from webhooks.execution.supervision import signals_sweep
        from webhooks.tasks import execution_run_task, signal_execute_task

        signal_ids, execution_ids = signals_sweep(older_than=timedelta(0))
        app = Celery("sweeper", broker=self.redis.url, set_as_current=False)
        try:
            for pk in signal_ids:
                app.send_task(signal_execute_task.name, args=[pk])
            for pk in execution_ids:
                app.send_task(execution_run_task.name, args=[pk])
        finally:
            app.close()
        return signal_ids

    def _argv(self, argv: list[str]) -> list[str]:
        from testkit.clock import CLOCK_OFFSET_ENV

        return travelling(argv) if CLOCK_OFFSET_ENV in self.env else argv


def collectstatic(env: dict[str, str]) -> None:
    """As in production: DEBUG off, static files collected (into the environment's
    TRADEFLOW_VAR_DIR) and served by WhiteNoise."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        env=env,
        check=True,
        cwd=ROOT,
    )


@contextmanager
def private_stack(
    logs: Path, clock_offset: float | None = None
) -> Iterator[PrivateStack]:
    """Start a PrivateStack's Redis and daphne (workers are the test's to start)."""
    from testkit.clock import CLOCK_OFFSET_ENV

    with redis_server(logs / "redis.log") as server:
        env = subprocess_env(logs, server.url)
        if clock_offset is not None:
            env[CLOCK_OFFSET_ENV] = repr(clock_offset)
        collectstatic(env)
        port = free_port()
        stack = PrivateStack(server, env, f"http://127.0.0.1:{port}", logs)
        with process(stack._argv(daphne_argv(port)), env, logs / "web.log"):
            wait_until(
                lambda: httpx.get(stack.base_url + "/healthz").status_code == 200,
                START_TIMEOUT,
                "daphne answering",
            )
            yield stack
