"""Alert-to-page latency: from a webhook POST to the position on an open dashboard.

Starts the real stack (PostgreSQL, Redis, daphne, a Celery worker), logs a real
Chromium into the dashboard, then sends alerts *from inside the page* (fetch) so the
start and the end are read from the same clock (performance.now()); a MutationObserver
records the moment the positions table shows the new quantity.

    .venv/bin/python bench/alert_to_page.py [--iterations 50]

Prints p50 / p95 / p99 / max for the webhook acknowledgement and for alert-to-page,
plus the server-side phases read back from the Signal rows.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.loadgen import percentile  # noqa: E402

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradeflow_bench"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")

SEND_AND_WAIT = """
async ([url, key, qty, symbol]) => {
  const table = document.getElementById("positions");
  const shown = () => {
    const row = document.querySelector(`tr[data-position$="-${symbol}"] td.qty`);
    return row && row.textContent.trim() === String(qty);
  };
  const t0 = performance.now();
  const appeared = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if (shown()) { observer.disconnect(); resolve(performance.now()); }
    });
    const options = { childList: true, subtree: true, characterData: true };
    observer.observe(document.body, options);
  });
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "text/plain", "Authorization": "Bearer " + key },
    body: JSON.stringify(
      // A unique id per alert, as a strategy's {{strategy.order.id}}-{{timenow}}.
      { ticker: symbol, action: "buy", quantity: 1, price: "10.25",
        id: `bench-${qty}-${Date.now()}` }
    ),
  });
  const ack = performance.now() - t0;
  const body = await response.json();
  if (response.status !== 202) {
    throw new Error(`${response.status} ${JSON.stringify(body)}`);
  }
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`${symbol} ${qty} never shown`)), 15000));
  const t1 = await Promise.race([appeared, timeout]);
  return { ack, page: t1 - t0, status: response.status, signal: body.signal_id };
}
"""


def summary(name: str, values: list[float]) -> str:
    return (
        f"{name:<30} p50 {statistics.median(values):7.1f} ms"
        f"   p95 {percentile(values, 95):7.1f} ms"
        f"   p99 {percentile(values, 99):7.1f} ms"
        f"   max {max(values):7.1f} ms   (n={len(values)})"
    )


def ensure_database(env: dict[str, str]) -> None:
    from bench.stack import database_prepare

    database_prepare(env["DATABASE_URL"], env)


def main() -> int:
    # Stop cleanly on SIGTERM too (timeout, CI): the process context managers then
    # stop daphne and the worker instead of leaving them holding connections.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=50)
    args = parser.parse_args()

    from testkit.processes import (
        daphne_argv,
        free_port,
        process,
        wait_until,
        worker_argv,
    )

    var = Path(tempfile.mkdtemp(prefix="tf-bench-"))
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdefghij",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "FIELD_ENCRYPTION_KEYS": "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdDA=",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "WEBHOOK_RATE_LIMIT_PER_MINUTE": "100000",
        # The bench database outlives runs: keep its demo workspace out of the trial.
        "TRIAL_DAYS": "36500",
        "TRIAL_TRADES": "1000000000",
        "TRADEFLOW_VAR_DIR": str(var),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    ensure_database(env)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    demo_file = var / "demo.json"
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "demo_data",
            "--base-url",
            base,
            "--json-file",
            str(demo_file),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    demo = json.loads(demo_file.read_text())

    import httpx
    from playwright.sync_api import sync_playwright

    with (
        process(daphne_argv(port), env, var / "web.log"),
        process(worker_argv(2), env, var / "worker.log"),
    ):
        wait_until(
            lambda: httpx.get(base + "/healthz").status_code == 200,
            60,
            "daphne answering",
        )
        wait_until(
            lambda: "ready" in (var / "worker.log").read_text(),
            60,
            "the worker starting",
        )
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                ],
            )
            page = browser.new_page(base_url=base)
            page.goto("/auth/login/")
            page.fill("input[name=login]", demo["email"])
            page.fill("input[name=password]", demo["password"])
            page.click("main form button[type=submit]")
            page.wait_for_selector("#live.on")
            symbol = "ETHUSDT"  # open 24/7, so the bench runs any day
            held = page.evaluate(
                "s => document.querySelector(`tr[data-position$='-${s}'] td.qty`)"
                "?.textContent.trim() || '0'",
                symbol,
            )
            results = []
            for i in range(1, args.iterations + 1 + 3):
                result = page.evaluate(
                    SEND_AND_WAIT,
                    [demo["webhook_url"], demo["api_key"], int(held) + i, symbol],
                )
                if i > 3:  # the first few warm caches and connections
                    results.append(result)
            page.screenshot(path=str(var / "dashboard.png"), full_page=True)
            browser.close()

    acks = [r["ack"] for r in results]
    pages = [r["page"] for r in results]
    print(
        f"\nTradeFlow alert-to-page: {len(results)} alerts one at a time; "
        "PostgreSQL, Redis, daphne, one Celery worker with 2 processes"
    )
    print(summary("webhook acknowledgement", acks))
    print(summary("alert -> position on page", pages))
    phases(env, [r["signal"] for r in results])
    print(f"screenshot: {var / 'dashboard.png'}")
    return 0


def phases(env: dict[str, str], signal_ids: list[int]) -> None:
    import django

    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradeflow.settings")
    django.setup()
    from webhooks.models import Execution

    rows = list(
        Execution.objects.filter(signal_id__in=signal_ids).select_related("signal")
    )

    def ms(a: str, b: str) -> list[float]:
        def at(row: Execution, name: str) -> Any:
            owner = row.signal if name.startswith("signal.") else row
            return getattr(owner, name.removeprefix("signal."))

        return [
            (at(row, b) - at(row, a)).total_seconds() * 1000
            for row in rows
            if at(row, a) and at(row, b)
        ]

    print(
        summary("alert -> fill (server clock)", ms("signal.received_at", "filled_at"))
    )
    print(
        summary(
            "  received -> queued (commit)",
            ms("signal.received_at", "signal.queued_at"),
        )
    )
    print(
        summary("  queued -> worker start", ms("signal.queued_at", "signal.started_at"))
    )
    print(
        summary(
            "  worker start -> risk-checked", ms("signal.started_at", "risk_checked_at")
        )
    )
    print(summary("  risk-checked -> sent", ms("risk_checked_at", "sent_at")))
    print(summary("  sent -> acknowledged (venue)", ms("sent_at", "acknowledged_at")))


if __name__ == "__main__":
    sys.exit(main())
