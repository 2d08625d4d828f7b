"""The `make run` entrypoint: migrate, demo data, then web + workers + beat together.

Quiet by default (warnings and errors only; `LOG_LEVEL=INFO` for every request
and task). "Up" is printed once the web server answers, with the essentials last
(login, webhook URL, a curl to try); press Enter to see them again. Stops every
process cleanly on Ctrl-C (or SIGTERM); if one dies, the others stop too.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def redis_reachable(url: str) -> str | None:
    """None when Redis answers, else the reason it did not."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return str(exc)
    return None


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, check=True)


# The orders worker's fan-out threads each hold a database connection
# (EXECUTION_FANOUT_THREADS): its pool is sized for them unless set.
ORDERS_POOL = {"DATABASE_POOL_SIZE": os.environ.get("DATABASE_POOL_SIZE", "24")}


def start(
    name: str, argv: list[str], env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    print(f"[run] starting {name}", flush=True)
    return subprocess.Popen(
        argv, cwd=ROOT, start_new_session=True, env={**os.environ, **(env or {})}
    )


def worker(bin_dir: Path, queue: str, concurrency: int, level: str) -> list[str]:
    return [
        str(bin_dir / "celery"),
        *("-A", "tradeflow", "worker", "-l", level, "-Q", queue),
        *("--concurrency", str(concurrency), "-n", f"{queue}@%h"),
    ]


def stop_all(processes: dict[str, subprocess.Popen[bytes]], grace: float = 10) -> None:
    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for name, process in processes.items():
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            print(f"[run] {name} did not stop in {grace:.0f} s; killing it", flush=True)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def essentials(base: str, demo: Path | None) -> str:
    """The few lines a newcomer needs, printed last."""
    lines = [f"[run] TradeFlow is up at {base}/ (Ctrl-C stops everything)."]
    if demo is not None and demo.exists():
        data = json.loads(demo.read_text())
        lines += [
            f"      Log in:  {data['email']} / {data['password']}",
            f"      TradingView webhook URL:  {base}/webhook/tradingview/"
            f"{data['api_key']}",
            f"      Try it:  {data['curl']}",
            "      TradingView itself needs a public https:// address (README, "
            "'Try it').",
        ]
    if sys.stdin.isatty():
        lines.append("      Press Enter to show this again.")
    return "\n".join(lines)


def on_enter(text: str) -> None:
    """Print `text` again whenever Enter is pressed (a terminal only)."""
    if not sys.stdin.isatty():
        return

    def loop() -> None:
        for _ in sys.stdin:
            print(text, flush=True)

    threading.Thread(target=loop, daemon=True).start()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument(
        "--workers", type=int, default=2, help="Celery processes for the orders queue"
    )
    parser.add_argument(
        "--web-workers",
        type=int,
        default=int(os.environ.get("WEB_WORKERS", "2")),
        help="uvicorn processes (bench/servers.py: two beat daphne's one on 2 cores)",
    )
    parser.add_argument("--no-demo", action="store_true", help="skip the demo data")
    parser.add_argument("--demo-json", help="also write the demo credentials here")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradeflow.settings")
    os.environ.setdefault("SITE_URL", f"http://{args.host}:{args.port}")
    level = os.environ.setdefault("LOG_LEVEL", "WARNING")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    problem = redis_reachable(redis_url)
    if problem:
        print(
            f"TradeFlow needs Redis at {redis_url}, which did not answer ({problem}).\n"
            "Start it with `redis-server --daemonize yes` (Debian: apt-get install "
            "redis-server), or `docker run -d -p 127.0.0.1:6379:6379 redis:7-alpine`, "
            "or point REDIS_URL at a running Redis.",
            file=sys.stderr,
        )
        return 2

    bin_dir = Path(PYTHON).parent
    var = Path(os.environ.get("TRADEFLOW_VAR_DIR", ROOT / "var"))
    var.mkdir(parents=True, exist_ok=True)
    manage("migrate", "--noinput", "-v", "0")
    demo = None if args.no_demo else Path(args.demo_json or var / "run-demo.json")
    if demo is not None:
        manage(
            "demo_data", "--base-url", os.environ["SITE_URL"], "--json-file", str(demo)
        )

    celery_level = level.lower()
    processes = {
        "web": start(
            "web",
            [
                str(bin_dir / "uvicorn"),
                "tradeflow.asgi:application",
                *("--host", args.host, "--port", str(args.port)),
                *("--workers", str(args.web_workers)),
                # Django has no lifespan; client addresses are the app's business
                # (TRUSTED_PROXY_COUNT), not the server's.
                *("--lifespan", "off", "--no-proxy-headers"),
            ],
        ),
        # Orders on workers of their own; housekeeping (syncs, the risk monitor,
        # sweeps, mails) on another, so it never waits in front of an alert.
        "worker": start(
            "worker", worker(bin_dir, "orders", args.workers, celery_level), ORDERS_POOL
        ),
        "housekeeping": start(
            "housekeeping", worker(bin_dir, "celery", 1, celery_level)
        ),
        # Realtime venue connections (ProjectX hubs): a process of their own,
        # never a Celery task.
        "streams": start(
            "streams",
            [sys.executable, "manage.py", "venue_streams", "-v", "0"],
        ),
        "beat": start(
            "beat",
            [
                str(bin_dir / "celery"),
                *("-A", "tradeflow", "beat", "-l", celery_level),
                *("--schedule", str(var / "celerybeat-schedule")),
            ],
        ),
    }

    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    base = os.environ["SITE_URL"].rstrip("/")
    health = f"http://{args.host}:{args.port}/healthz"
    announced = False
    exit_code = 0
    while not stopping:
        dead = [
            name for name, process in processes.items() if process.poll() is not None
        ]
        if dead:
            print(
                f"[run] {', '.join(dead)} stopped unexpectedly; stopping the rest",
                file=sys.stderr,
            )
            exit_code = 1
            break
        if not announced and answers(health):
            text = essentials(base, demo)
            print(text, flush=True)
            on_enter(text)
            announced = True
        time.sleep(0.5)
    print("[run] stopping web, workers and beat…", flush=True)
    stop_all(processes)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
