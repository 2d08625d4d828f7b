"""The published benchmark results (issue 6): bench/results.json as a public page.

`make bench` writes the file; this module only reads it. A missing, unreadable or
malformed file, or a missing section, renders as "not measured yet", never a 500:
the page is the product's published proof and must not break when a run did not.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

DEFAULT_PATH = Path(settings.BASE_DIR) / "bench" / "results.json"
FLOOR = (
    "a minimal ASGI handler doing one INSERT and one Redis LPUSH on the same "
    "machine, in the same run"
)
VERSION_LABELS = {
    "python": "Python",
    "django": "Django",
    "postgresql": "PostgreSQL",
    "redis": "Redis",
    "web_server": "Web server",
    "celery": "Celery",
}

# bench/venues.py's venue codes, in the order the page shows them.
VENUE_NAMES = {
    "paper": "Paper",
    "projectx": "ProjectX (fake)",
    "tradovate": "Tradovate (fake)",
    "tradelocker": "TradeLocker (fake)",
}

Json = dict[str, Any]


@dataclass(frozen=True)
class Machine:
    cores: int | None
    memory_gib: float | None
    cpu: str
    os: str


@dataclass(frozen=True)
class Setup:
    web_server: str
    web_workers: int | None
    celery_concurrency: int | None
    duration_s: float | None


@dataclass(frozen=True)
class LoadStep:
    """One constant-rate step of webhook acknowledgement load, for one side."""

    rate: float
    duration_s: float | None
    sent: int | None
    ok: int | None
    errors: int | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    achieved_rps: float | None


@dataclass(frozen=True)
class AckRow:
    """TradeFlow and the floor at one rate, side by side."""

    rate: float
    tradeflow: LoadStep | None
    floor: LoadStep | None
    p50_ratio: float | None
    p99_ratio: float | None


@dataclass(frozen=True)
class RateStep:
    rate: float
    p99_ms: float | None
    errors: int | None


@dataclass(frozen=True)
class MaxRate:
    rate: float | None
    p99_ms: float | None
    steps: list[RateStep]


@dataclass(frozen=True)
class StepRow:
    rate: float
    tradeflow: RateStep | None
    floor: RateStep | None


@dataclass(frozen=True)
class MaxRates:
    tradeflow: MaxRate | None
    floor: MaxRate | None
    ratio: float | None
    steps: list[StepRow]


@dataclass(frozen=True)
class Latency:
    count: int | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None


@dataclass(frozen=True)
class Fanout:
    accounts: int | None
    runs: int | None
    first_fill_p50_ms: float | None
    last_fill_p50_ms: float | None
    last_fill_p95_ms: float | None
    last_fill_max_ms: float | None


@dataclass(frozen=True)
class VenueFigures:
    """ProjectX through its fake (bench/projectx.py), beside paper in the same run."""

    measured_at: datetime | None
    alerts: int | None
    rate: float | None
    venue_latency_ms: float | None
    projectx: Latency | None
    paper: Latency | None
    fanout_accounts: int | None
    fanout_last_fill_p50_ms: float | None
    fanout_last_fill_max_ms: float | None
    one_fill_p50_ms: float | None
    fanout_ratio: float | None

    @property
    def rows(self) -> list[tuple[str, Latency]]:
        named = [("ProjectX (fake)", self.projectx), ("Paper", self.paper)]
        return [(name, row) for name, row in named if row is not None]


@dataclass(frozen=True)
class VenueRow:
    """One venue's alerts in bench/venues.py's run: counts, alert -> fill, and how
    many orders the venue held per client order id of ours ({1: 40}: once each)."""

    label: str
    sent: int | None
    filled: int | None
    failed: int | None
    fill: Latency | None
    placements: dict[int, int]

    @property
    def exactly_once(self) -> bool:
        return set(self.placements) == {1}

    @property
    def placements_text(self) -> str:
        """'1 each', or '38 x 1, 1 x 2' with a multiplication sign: how many
        orders of ours the venue held once, twice, not at all."""
        if self.exactly_once:
            return "1 each"
        times = "\N{MULTIPLICATION SIGN}"
        return ", ".join(f"{n} {times} {k}" for k, n in self.placements.items())


@dataclass(frozen=True)
class Venues:
    """Every venue through its fake beside paper, in one run (bench/venues.py)."""

    measured_at: datetime | None
    alerts: int | None
    rate: float | None
    venue_latency_ms: float | None
    rows: list[VenueRow]


@dataclass(frozen=True)
class MetaTraderFigures:
    """The Expert Advisor's long poll (bench/ea.py): alert -> fill through the
    fake EA, and what a thousand idle EAs cost the web server."""

    measured_at: datetime | None
    alerts: int | None
    rate: float | None
    poll_wait_s: float | None
    web_server: str
    sent: int | None
    filled: int | None
    failed: int | None
    fill: Latency | None
    pickup: Latency | None
    executed_once: bool
    idle_eas: int | None
    idle_server: str
    web_cpu_pct: float | None
    web_ms_per_ea_min: float | None
    postgres_ms_per_ea_min: float | None
    web_rss_mib: float | None
    polls_per_s: float | None
    idle_errors: int | None


@dataclass(frozen=True)
class ServerRow:
    server: str
    workers: int | None
    rate: float | None
    p50_ms: float | None
    p99_ms: float | None
    max_rate: float | None
    websocket: bool | None


@dataclass(frozen=True)
class Ratios:
    """TradeFlow / floor: above 1 is slower (latency) or faster (max rate)."""

    ack_p50_at_50: float | None = None
    ack_p99_at_50: float | None = None
    ack_p99_at_200: float | None = None
    max_rate: float | None = None

    @property
    def measured(self) -> bool:
        return any(value is not None for value in vars(self).values())


@dataclass(frozen=True)
class Results:
    generated_at: datetime | None
    command: str
    machine: Machine | None
    versions: list[tuple[str, str]]
    setup: Setup | None
    ack_rows: list[AckRow]
    max_rate: MaxRates | None
    alert_to_fill: Latency | None
    fanout: Fanout | None
    ratios: Ratios
    servers: list[ServerRow]
    projectx: VenueFigures | None = None
    venues: Venues | None = None
    metatrader: MetaTraderFigures | None = None


def _num(data: Json, key: str) -> float | None:
    value = data.get(key)
    # JSON booleans are ints to Python, and its parser accepts NaN and Infinity.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _int(data: Json, key: str) -> int | None:
    value = _num(data, key)
    return None if value is None else int(value)


def _str(data: Json, key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _dict(data: Json, key: str) -> Json | None:
    value = data.get(key)
    return value if isinstance(value, dict) else None


def _dicts(value: object) -> list[Json]:
    return [d for d in value if isinstance(d, dict)] if isinstance(value, list) else []


def _ratio(tradeflow: float | None, floor: float | None) -> float | None:
    if tradeflow is None or not floor:
        return None
    return tradeflow / floor


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _machine(data: Json | None) -> Machine | None:
    if data is None:
        return None
    return Machine(
        _int(data, "cores"),
        _num(data, "memory_gib"),
        _str(data, "cpu"),
        _str(data, "os"),
    )


def _setup(data: Json | None) -> Setup | None:
    if data is None:
        return None
    return Setup(
        web_server=_str(data, "web_server"),
        web_workers=_int(data, "web_workers"),
        celery_concurrency=_int(data, "celery_concurrency"),
        duration_s=_num(data, "duration_s"),
    )


def _versions(data: Json | None) -> list[tuple[str, str]]:
    """Known components first, in a fixed order, then any others by name."""
    given = {
        k: str(v) for k, v in (data or {}).items() if isinstance(v, str | int | float)
    }
    known = [(label, given[k]) for k, label in VERSION_LABELS.items() if k in given]
    extra = [
        (k.replace("_", " ").capitalize(), given[k])
        for k in sorted(given.keys() - VERSION_LABELS.keys())
    ]
    return known + extra


def _load_step(data: Json) -> LoadStep | None:
    rate = _num(data, "rate")
    if rate is None:
        return None
    return LoadStep(
        rate=rate,
        duration_s=_num(data, "duration_s"),
        sent=_int(data, "sent"),
        ok=_int(data, "ok"),
        errors=_int(data, "errors"),
        p50_ms=_num(data, "p50_ms"),
        p95_ms=_num(data, "p95_ms"),
        p99_ms=_num(data, "p99_ms"),
        max_ms=_num(data, "max_ms"),
        achieved_rps=_num(data, "achieved_rps"),
    )


def _by_rate(rows: object) -> dict[float, LoadStep]:
    steps = (_load_step(d) for d in _dicts(rows))
    return {step.rate: step for step in steps if step is not None}


def _ack_rows(data: Json | None) -> list[AckRow]:
    if data is None:
        return []
    ours, floor = _by_rate(data.get("tradeflow")), _by_rate(data.get("floor"))
    rows = []
    for rate in sorted(ours.keys() | floor.keys()):
        a, b = ours.get(rate), floor.get(rate)
        p50 = _ratio(a.p50_ms, b.p50_ms) if a and b else None
        p99 = _ratio(a.p99_ms, b.p99_ms) if a and b else None
        rows.append(AckRow(rate, a, b, p50, p99))
    return rows


def _max_rate_side(data: Json | None) -> MaxRate | None:
    if data is None:
        return None
    steps = [
        RateStep(rate, _num(d, "p99_ms"), _int(d, "errors"))
        for d in _dicts(data.get("steps"))
        if (rate := _num(d, "rate")) is not None
    ]
    return MaxRate(_num(data, "rate"), _num(data, "p99_ms"), steps)


def _max_rates(data: Json | None) -> MaxRates | None:
    if data is None:
        return None
    ours = _max_rate_side(_dict(data, "tradeflow"))
    floor = _max_rate_side(_dict(data, "floor"))
    if ours is None and floor is None:
        return None
    a = {s.rate: s for s in ours.steps} if ours else {}
    b = {s.rate: s for s in floor.steps} if floor else {}
    steps = [StepRow(r, a.get(r), b.get(r)) for r in sorted(a.keys() | b.keys())]
    ratio = _ratio(ours.rate, floor.rate) if ours and floor else None
    return MaxRates(ours, floor, ratio, steps)


def _latency(data: Json | None) -> Latency | None:
    if data is None:
        return None
    return Latency(
        count=_int(data, "count"),
        p50_ms=_num(data, "p50_ms"),
        p95_ms=_num(data, "p95_ms"),
        p99_ms=_num(data, "p99_ms"),
        max_ms=_num(data, "max_ms"),
    )


def _fanout(data: Json | None) -> Fanout | None:
    if data is None:
        return None
    return Fanout(
        accounts=_int(data, "accounts"),
        runs=_int(data, "runs"),
        first_fill_p50_ms=_num(data, "first_fill_p50_ms"),
        last_fill_p50_ms=_num(data, "last_fill_p50_ms"),
        last_fill_p95_ms=_num(data, "last_fill_p95_ms"),
        last_fill_max_ms=_num(data, "last_fill_max_ms"),
    )


def _venue(data: Json | None) -> VenueFigures | None:
    if data is None:
        return None
    fills, fan = _dict(data, "alert_to_fill") or {}, _dict(data, "fanout") or {}
    return VenueFigures(
        measured_at=_when(data.get("measured_at")),
        alerts=_int(data, "alerts"),
        rate=_num(data, "rate"),
        venue_latency_ms=_num(data, "venue_latency_ms"),
        projectx=_latency(_dict(fills, "projectx")),
        paper=_latency(_dict(fills, "paper")),
        fanout_accounts=_int(fan, "accounts"),
        fanout_last_fill_p50_ms=_num(fan, "last_fill_p50_ms"),
        fanout_last_fill_max_ms=_num(fan, "last_fill_max_ms"),
        one_fill_p50_ms=_num(fan, "one_fill_p50_ms"),
        fanout_ratio=_num(fan, "ratio"),
    )


def _placements(data: Json | None) -> dict[int, int]:
    """{"1": 40} as {1: 40}; a key that is not a count, or a value not a number,
    is left out."""
    given = data or {}
    counts = {
        int(key): n
        for key in given
        if key.isdigit() and (n := _int(given, key)) is not None
    }
    return dict(sorted(counts.items()))


def _venues(data: Json | None) -> Venues | None:
    """The venues in the page's order (paper first), each one the file has."""
    if data is None:
        return None
    fills = _dict(data, "alert_to_fill") or {}
    rows = [
        VenueRow(
            label=label,
            sent=_int(row, "sent"),
            filled=_int(row, "filled"),
            failed=_int(row, "failed"),
            fill=_latency(row),
            placements=_placements(_dict(row, "orders_per_client_id")),
        )
        for code, label in VENUE_NAMES.items()
        if (row := _dict(fills, code)) is not None
    ]
    return Venues(
        measured_at=_when(data.get("measured_at")),
        alerts=_int(data, "alerts"),
        rate=_num(data, "rate"),
        venue_latency_ms=_num(data, "venue_latency_ms"),
        rows=rows,
    )


def _metatrader(data: Json | None) -> MetaTraderFigures | None:
    if data is None:
        return None
    fill = _dict(data, "alert_to_fill") or {}
    idle = _dict(data, "idle") or {}
    executed = _dict(fill, "executed_per_command") or {}
    errors = _dict(idle, "errors")
    return MetaTraderFigures(
        measured_at=_when(data.get("measured_at")),
        alerts=_int(fill, "alerts"),
        rate=_num(fill, "rate"),
        poll_wait_s=_num(fill, "poll_wait_s"),
        web_server=_str(fill, "web_server"),
        sent=_int(fill, "sent"),
        filled=_int(fill, "filled"),
        failed=_int(fill, "failed"),
        fill=_latency(_dict(fill, "fill")),
        pickup=_latency(_dict(fill, "pickup")),
        executed_once=bool(executed) and set(executed) == {"1"},
        idle_eas=_int(idle, "eas"),
        idle_server=_str(idle, "web_server"),
        web_cpu_pct=_num(idle, "web_cpu_pct"),
        web_ms_per_ea_min=_num(idle, "web_ms_per_ea_min"),
        postgres_ms_per_ea_min=_num(idle, "postgres_ms_per_ea_min"),
        web_rss_mib=_num(idle, "web_rss_mib"),
        polls_per_s=_num(idle, "polls_per_s"),
        idle_errors=None
        if errors is None
        else sum(n for key in errors if (n := _int(errors, key)) is not None),
    )


def _servers(rows: object) -> list[ServerRow]:
    return [
        ServerRow(
            server=_str(d, "server"),
            workers=_int(d, "workers"),
            rate=_num(d, "rate"),
            p50_ms=_num(d, "p50_ms"),
            p99_ms=_num(d, "p99_ms"),
            max_rate=_num(d, "max_rate"),
            websocket=d["websocket"] if isinstance(d.get("websocket"), bool) else None,
        )
        for d in _dicts(rows)
    ]


def _ratios(data: Json | None, rows: list[AckRow], max_rate: MaxRates | None) -> Ratios:
    """The file's headline ratios; each one it lacks is computed from the tables."""
    at = {row.rate: row for row in rows}
    computed = Ratios(
        ack_p50_at_50=at[50].p50_ratio if 50 in at else None,
        ack_p99_at_50=at[50].p99_ratio if 50 in at else None,
        ack_p99_at_200=at[200].p99_ratio if 200 in at else None,
        max_rate=max_rate.ratio if max_rate else None,
    )
    given = data or {}
    return Ratios(
        **{
            name: value if (value := _num(given, name)) is not None else fallback
            for name, fallback in vars(computed).items()
        }
    )


def _results(data: Json) -> Results:
    rows = _ack_rows(_dict(data, "ack_load"))
    max_rate = _max_rates(_dict(data, "max_rate"))
    return Results(
        generated_at=_when(data.get("generated_at")),
        command=_str(data, "command") or "make bench",
        machine=_machine(_dict(data, "machine")),
        versions=_versions(_dict(data, "versions")),
        setup=_setup(_dict(data, "setup")),
        ack_rows=rows,
        max_rate=max_rate,
        alert_to_fill=_latency(_dict(data, "alert_to_fill")),
        fanout=_fanout(_dict(data, "fanout")),
        ratios=_ratios(_dict(data, "ratios"), rows, max_rate),
        servers=_servers(data.get("server_comparison")),
        projectx=_venue(_dict(data, "projectx")),
        venues=_venues(_dict(data, "venues")),
        metatrader=_metatrader(_dict(data, "metatrader")),
    )


def benchmark_results(path: Path) -> Results | None:
    """The results at `path`, or None when there are none to show.

    A missing file is the normal state before the first `make bench`; an unreadable
    or malformed one is logged as a warning and shown the same way.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        logger.warning("benchmark results %s unreadable: %s", path, exc)
        return None
    if not isinstance(data, dict):
        logger.warning("benchmark results %s: not a JSON object", path)
        return None
    return _results(data)
