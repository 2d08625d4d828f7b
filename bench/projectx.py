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

import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import fakes, stack  # noqa: E402
from bench.fanout import one_alert  # noqa: E402
from bench.loadgen import percentile  # noqa: E402
from bench.run_all import projectx_summary, results_merge  # noqa: E402


def main() -> int:
    stack.exit_on_sigterm()
    parser = fakes.parser(__doc__)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--runs", type=int, default=6)
    args = parser.parse_args()
    stack.configure()
    if fakes.closed_markets([fakes.FUTURE]):
        print("MNQ is not trading now (CME break or weekend): run it later.")
        return 2
    with fakes.projectx() as venue:
        made = venue.connect(args.accounts + 1)
        single, followers = venue.leg(*made[0]), [a for a, _ in made[1:]]
        _, strategy_key = stack.strategy_for("Bench ProjectX fan-out", followers)
        paper = fakes.paper_leg("Bench fill")
        venue.fake.knobs.latency = args.latency
        with stack.tradeflow(args.server, concurrency=2, split=True) as running:
            projectx = fakes.leg_fills(running.base, single, args.alerts, args.rate)
            paper_fills = fakes.leg_fills(running.base, paper, args.alerts, args.rate)
            lasts = [
                one_alert(
                    running.base,
                    strategy_key,
                    ("buy", "sell")[n % 2],
                    args.accounts,
                    symbol=fakes.FUTURE,
                )[1]
                for n in range(args.runs)
            ]
    one_fill = percentile(projectx["fills"], 50)
    figures = {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "web_server": args.server.label,
        "alerts": args.alerts,
        "rate": args.rate,
        "venue_latency_ms": round(args.latency * 1000),
        "alert_to_fill": {
            "projectx": fakes.spread(projectx["fills"]),
            "paper": fakes.spread(paper_fills["fills"]),
        },
        "fanout": {
            "accounts": args.accounts,
            "runs": args.runs,
            "last_fill_p50_ms": round(percentile(lasts, 50), 1),
            "last_fill_max_ms": round(max(lasts), 1),
            "one_fill_p50_ms": round(one_fill, 1),
            "ratio": round(percentile(lasts, 50) / one_fill, 2),
        },
    }
    print(projectx_summary(figures))
    if args.write:
        results_merge(args.write, "projectx", figures)
        print(f"written: {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
