"""Alert -> fill through the ProjectX fake, beside paper's, and a fan-out to 20
ProjectX accounts (issue 13).

Starts the fake ProjectX (REST on loopback, in this process's thread, with
`--latency` seconds before each answer) and the real stack pointed at it
(PROJECTX_API_URLS), connects `--accounts` + 1 ProjectX accounts in a workspace of
their own, then in the same run:

1. `--alerts` alerts (buy, sell, ... 1 MNQ1!) to one ProjectX account and the same
   to one paper account (1 BTCUSDT), at `--rate` a second (one a second: each
   fill ends before the next alert, no queue behind the account's lock):
   alert -> fill p50/p99.
2. `--runs` alerts to a strategy the `--accounts` ProjectX accounts follow: the
   time to the last fill, and its ratio to one account's fill (1.0 would be every
   venue call in parallel; `--accounts` would be one after another).

The venue's own rate limit is lifted (the fake's and the client's): this measures
TradeFlow's path, not ProjectX's allowance. MNQ must be trading (not in the CME
break or a weekend); the script says so and stops otherwise.

    .venv/bin/python bench/projectx.py [--alerts 40] [--rate 1] [--accounts 20]
        [--runs 6] [--latency 0.05] [--write bench/results.json]

--write merges the figures into results.json as `projectx` (keeping its other
keys) and rewrites bench/RESULTS.md from it: `make bench-projectx` does both, and
the public results page shows them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import loadgen, stack  # noqa: E402
from bench.alert_to_fill import latencies, wait_finished  # noqa: E402
from bench.fanout import one_alert  # noqa: E402
from bench.loadgen import percentile  # noqa: E402
from bench.run_all import RESULTS_MD, markdown, projectx_summary  # noqa: E402
from bench.servers import merge_into  # noqa: E402

USER, API_KEY = "bench-trader", "bench-projectx-key"
EMAIL = "bench-projectx@tradeflow.local"


def connect(fake: Any, count: int) -> list[Any]:
    """`count` ProjectX accounts at the fake, connected in a workspace of their own."""
    from accounts.models import User
    from accounts.services import user_ensure_workspace
    from brokers.models import BrokerAccount
    from brokers.venues.projectx.adapter import ProjectXAdapter
    from webhooks.intake.keys import api_key_issue

    user, _ = User.objects.get_or_create(email=EMAIL)
    workspace = user_ensure_workspace(user=user)
    BrokerAccount.objects.filter(workspace=workspace).delete()  # last run's fake ids
    made = []
    for n in range(count):
        venue_account = fake.account(USER, f"50KTC-{n}", balance=Decimal(1_000_000))
        account = BrokerAccount.objects.create(
            workspace=workspace, venue="projectx", name=f"Bench ProjectX {n}"
        )
        options = {
            "user_name": USER,
            "api_key": API_KEY,
            "account_id": venue_account.id,
        }
        ProjectXAdapter.provision(account, options)
        _, key = api_key_issue(account=account, created_by=None, name="Bench")
        made.append((account, key))
    return made


def bodies(symbol: str) -> list[str]:
    return [
        json.dumps(
            {"ticker": symbol, "action": side, "quantity": 1, "id": "{run}-{seq}"}
        )
        for side in ("buy", "sell")
    ]


def fills(
    url: str, account: Any, key: str, symbol: str, args: argparse.Namespace
) -> list[float]:
    from django.utils import timezone

    since = timezone.now()
    load = loadgen.run(
        url,
        rate=args.rate,
        duration=args.alerts / args.rate,
        bodies=bodies(symbol),
        auths=[key],
        warmup=0,
    )
    wait_finished(account.pk, since, load["ok"], timeout=120)
    phases = latencies(account.pk, since)
    medians = ", ".join(
        f"{name} {percentile(values, 50):.0f} ms"
        for name in ("queue", "risk", "venue")
        if (values := phases[name])
    )
    print(f"  {account.name}: median {medians}", flush=True)
    return phases["fill"]


def spread(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 50), 1),
        "p99_ms": round(percentile(values, 99), 1),
        "max_ms": round(max(values), 1),
    }


def main() -> int:
    stack.exit_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--alerts", type=int, default=40)
    # One a second: each alert's fill ends before the next arrives, so "one
    # account's fill" is not the queue behind the last one (the account's lock).
    parser.add_argument("--rate", type=float, default=1)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds")
    parser.add_argument(
        "--server", default=stack.DEFAULT_SERVER, type=stack.WebServer.parse
    )
    parser.add_argument("--write", type=Path, help="merge into this results.json")
    args = parser.parse_args()
    os.environ["PROJECTX_CALLS_PER_MINUTE"] = "1000000"
    stack.configure()
    from django.conf import settings
    from django.utils import timezone

    from brokers.instruments.resolve import resolve
    from brokers.instruments.sessions import is_open
    from brokers.venues.projectx.fake import FakeProjectX

    resolved = resolve("MNQ1!")
    if not is_open(resolved.instrument, timezone.now()):
        print("MNQ is not trading now (CME break or weekend): run it later.")
        return 2
    with FakeProjectX.running() as fake:
        fake.knobs.rate_limit = 10**9
        fake.user(USER, API_KEY)
        os.environ["PROJECTX_API_URLS"] = f"topstepx={fake.url}"
        settings.PROJECTX_API_URLS = {"topstepx": fake.url}
        fake.price(fake.contract_for(resolved.contract or "").id, Decimal(21000))
        made = connect(fake, args.accounts + 1)
        (single, single_key), followers = made[0], [a for a, _ in made[1:]]
        _, strategy_key = stack.strategy_for("Bench ProjectX fan-out", followers)
        [(paper, paper_key)] = stack.paper_accounts("Bench fill", 1)
        fake.knobs.latency = args.latency
        with stack.tradeflow(args.server, concurrency=2, split=True) as running:
            venue_url = f"{running.base}/api/unify/v1/webhook/projectx"
            projectx = fills(venue_url, single, single_key, "MNQ1!", args)
            paper_url = running.base + stack.WEBHOOK_PATH
            paper_fills = fills(paper_url, paper, paper_key, stack.SYMBOL, args)
            lasts = [
                one_alert(
                    running.base,
                    strategy_key,
                    ("buy", "sell")[n % 2],
                    args.accounts,
                    symbol="MNQ1!",
                )[1]
                for n in range(args.runs)
            ]
    figures = {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "web_server": args.server.label,
        "alerts": args.alerts,
        "rate": args.rate,
        "venue_latency_ms": round(args.latency * 1000),
        "alert_to_fill": {"projectx": spread(projectx), "paper": spread(paper_fills)},
        "fanout": {
            "accounts": args.accounts,
            "runs": args.runs,
            "last_fill_p50_ms": round(percentile(lasts, 50), 1),
            "last_fill_max_ms": round(max(lasts), 1),
            "one_fill_p50_ms": round(percentile(projectx, 50), 1),
            "ratio": round(percentile(lasts, 50) / percentile(projectx, 50), 2),
        },
    }
    print(projectx_summary(figures))
    if args.write:
        merge_into(args.write, "projectx", figures)
        results = json.loads(args.write.read_text())
        if "machine" in results:  # a full `make bench` ran: the page has a frame
            RESULTS_MD.write_text(markdown(results))
        print(f"written: {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
