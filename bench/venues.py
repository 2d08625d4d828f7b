"""Alert -> fill through every venue's fake beside paper, in one run (issue 14).

Starts the fakes of ProjectX, Tradovate and TradeLocker (REST on loopback, in
this process's threads, `--latency` seconds before each answer) and the real
stack pointed at them (PROJECTX_API_URLS, TRADOVATE_API_URLS,
TRADELOCKER_API_URLS; web server, an orders worker and a housekeeping worker, as
production splits them), connects one account at each and one paper account,
then sends each in turn `--alerts` alerts at `--rate` a second, buy and sell
alternately so each ends flat: 1 MNQ1! to ProjectX and Tradovate, 0.1 EURUSD to
TradeLocker, 1 BTCUSDT to paper. Per venue it prints alert -> fill p50/p95/p99
and max (Signal.received_at to Execution.filled_at, the server's clock), the
alerts sent, filled and failed, and how many orders the venue holds for each of
our client order ids: exactly one each, or an order was lost or placed twice.

Each venue's own rate limit is lifted at its fake (ProjectX's and Tradovate's
per-minute allowance raised, TradeLocker's `rate_limits_enforced` off; its
limits are per access token, two placements a second): this measures
TradeFlow's path, not the venues' allowances. TradeLocker's client still keeps
to the limits /trade/config advertises, which one alert a second stays under.
MNQ must be trading (not the CME break or a weekend) and forex open; the script
says so and stops otherwise.

    .venv/bin/python bench/venues.py [--alerts 40] [--rate 1] [--latency 0.05]
        [--server uvicorn:2] [--write bench/results.json]

--write merges the figures into results.json as `venues` (keeping its other
keys) and rewrites bench/RESULTS.md beside it: `make bench-venues` does both, and
the public results page shows them.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import fakes, stack  # noqa: E402
from bench.run_all import results_merge, venues_summary  # noqa: E402

FAKES = (fakes.projectx, fakes.tradovate, fakes.tradelocker)


def figures(args: Any, measured: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What results.json keeps under `venues`: per venue, its counts and spread."""
    return {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "web_server": args.server.label,
        "alerts": args.alerts,
        "rate": args.rate,
        "venue_latency_ms": round(args.latency * 1000),
        "alert_to_fill": {
            code: {
                "sent": row["sent"],
                "filled": row["filled"],
                "failed": row["failed"],
                "orders_per_client_id": row["orders_per_client_id"],
                "venue_calls_per_alert": row["venue_calls_per_alert"],
                **fakes.spread(row["fills"]),
            }
            for code, row in measured.items()
        },
    }


def main() -> int:
    stack.exit_on_sigterm()
    args = fakes.parser(__doc__).parse_args()
    stack.configure()
    closed = fakes.closed_markets([fakes.FUTURE, fakes.FOREX])
    if closed:
        print(
            f"Not trading now: {', '.join(closed)} (the CME break, a weekend, or "
            "forex's Friday-to-Sunday close): run it later."
        )
        return 2
    with ExitStack() as running_fakes:
        venues = [running_fakes.enter_context(start()) for start in FAKES]
        legs = [fakes.paper_leg("Bench venues")]
        for venue in venues:
            legs.append(venue.leg(*venue.connect(1)[0]))
            venue.fake.knobs.latency = args.latency
        with stack.tradeflow(args.server, concurrency=2, split=True) as running:
            measured = {
                leg.venue: fakes.leg_fills(running.base, leg, args.alerts, args.rate)
                for leg in legs
            }
    results = figures(args, measured)
    print(venues_summary(results))
    if args.write:
        results_merge(args.write, "venues", results)
        print(f"written: {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
