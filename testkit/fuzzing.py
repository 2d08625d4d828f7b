"""Alert bodies and webhook routes for fuzzing the intake, as Hypothesis strategies:
what a trader would send, what a careless or hostile client might, and the mix.
The suite's fuzz (webhooks/tests/test_fuzz.py) and bench/security.py draw from them.
`KEY` in a body stands for the real webhook key, put in when posting."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.utils import timezone
from hypothesis import strategies as st

from webhooks.intake.parsing import ACTIONS, ORDER_TYPES, QUANTITY_TYPES, SENTIMENTS

KEY = "<the world's key>"  # replaced by the real key when posting
FIELDS = (
    "action",
    "symbol",
    "ticker",
    "qty",
    "quantity",
    "quantity_type",
    "order_type",
    "price",
    "stop_loss",
    "take_profit",
    "trailing_stop",
    "sentiment",
    "market_position_size",
    "time",
    "timenow",
    "id",
    "botname",
    "account_group",
    "key",
)
# Crypto twice: it trades every day, so its orders fill whenever the suite runs.
SYMBOLS = ["BTCUSDT", "ETHUSDT"] * 2 + ["MNQ1!", "ES1!", "ESZ2026", "AAPL", "EURUSD"]
ROUTES = [
    "/api/unify/v1/webhook/paper/{key}",
    "/api/unify/v1/webhook/paper",  # the key as Bearer
    "/webhook/tradingview/{key}",
    "/webhook/tradingview",  # the key in the body, a signature, or nothing
]


def text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(max_size=max_size)


def now_iso() -> str:
    return timezone.now().isoformat()


# --- Values ------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | text(20)
    | st.decimals(allow_nan=False).map(str)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(text(8), inner, max_size=3)
    ),
    max_leaves=8,
)
numbers = (
    st.integers(-3, 30_000)
    | st.decimals(-1, 30_000, places=4).map(str)
    | st.sampled_from(["0", "-0", "1e-9", "1e6", "1e30", "NaN", "Infinity", "1,5"])
)
offsets = (
    numbers
    | st.sampled_from(["20t", "5pts", "1%", "$100", "0t", "20 ticks", "$5t", "1e3t"])
    | st.fixed_dictionaries(
        {
            "type": st.sampled_from(["ticks", "price", "percent", "dollars", "x"]),
            "value": numbers,
        }
    )
)
times = (
    st.builds(now_iso)
    | st.builds(lambda: int(timezone.now().timestamp() * 1000))
    | st.integers()
    | st.sampled_from(["2026-13-40T00:00:00Z", "1e400", "yesterday", "{{timenow}}"])
)
plausible: dict[str, st.SearchStrategy[Any]] = {
    "action": st.sampled_from([*ACTIONS, "BUY", " Sell ", "hold", ""]),
    "symbol": st.sampled_from([*SYMBOLS, "ZZZ9!", "mnq1!", "BTC USDT"]),
    "quantity": numbers,
    "quantity_type": st.sampled_from([*QUANTITY_TYPES, "contracts"]),
    "order_type": st.sampled_from([*ORDER_TYPES, "iceberg", "stop-limit"]),
    "price": numbers,
    "stop_loss": offsets,
    "take_profit": offsets,
    "trailing_stop": offsets,
    "sentiment": st.sampled_from([*SENTIMENTS, "up"]),
    "market_position_size": numbers,
    "time": times,
    "timenow": times,
    "id": text(8) | st.integers(),
    "key": st.sampled_from([KEY, "tfk_" + "x" * 43, ""]),
}
plausible |= {
    "ticker": plausible["symbol"],
    "qty": plausible["quantity"],
    "botname": text(8),
    "account_group": text(8),
}

# --- Bodies ------------------------------------------------------------------------

# Alerts the intake should accept: the fields a trader would send, values in range.
trades = st.fixed_dictionaries(
    {
        "action": st.sampled_from(["buy", "sell", "exit", "reverse", "add", "flat"]),
        "symbol": st.sampled_from(SYMBOLS),
        "qty": st.integers(1, 3) | st.sampled_from(["0.5", "0.00001", "2.5"]),
    },
    optional={"price": st.decimals(1, 200, places=2).map(str)},
)
detailed = st.fixed_dictionaries(
    {
        "action": st.sampled_from(list(ACTIONS)),
        "symbol": st.sampled_from(SYMBOLS),
        "qty": st.integers(1, 5)
        | st.sampled_from(["0.5", "0.00001", "1e-7", "999999", "3.14159"]),
    },
    optional={
        "price": st.decimals(1, 30_000, places=2).map(str)
        | st.sampled_from(["0.0001", "1e12", "4750.13", "99999999999"]),
        "order_type": st.sampled_from(list(ORDER_TYPES)),
        "quantity_type": st.sampled_from(sorted(QUANTITY_TYPES)),
        "stop_loss": st.sampled_from(["20t", "5pts", "1%", "$100", "1", "1e9"]),
        "take_profit": st.sampled_from(["40t", "10pts", "2%", "$200", "1e9"]),
        "trailing_stop": st.sampled_from(["8t", "2pts", "0.5%", "$50"]),
        "sentiment": st.sampled_from(list(SENTIMENTS)),
        "market_position_size": st.integers(-3, 3),
        "time_in_force": st.sampled_from(["day", "gtc", "ioc", "fok"]),
        "cancel_orders": st.booleans(),
        "timenow": st.builds(now_iso),
    },
)
acceptable = trades | detailed
# Any known field with a plausible or an arbitrary JSON value, plus unknown fields.
json_objects = st.builds(
    lambda known, extra: {**extra, **known},
    st.fixed_dictionaries(
        {}, optional={name: plausible[name] | json_values for name in FIELDS}
    ),
    st.dictionaries(text(8), json_values, max_size=2),
)
text_alerts = st.lists(
    st.sampled_from(
        [*ACTIONS, *SYMBOLS, "2", "0.5", "-1", "sl=20t", "tp=40t", "type=limit"]
    )
    | st.sampled_from(["price=4750", "id=abc", "qty=x", "'open", '"a b"', "=", "a=b=c"])
    | text(8),
    max_size=6,
).map(" ".join)
bodies = st.one_of(
    st.binary(max_size=200).map(lambda raw: raw.replace(b"\x00", b" ")),
    text(200),
    json_values,
    text_alerts,
    json_objects,
    st.builds(lambda intent: {"version": "unify.v1", "intent": intent}, json_objects),
    acceptable,
    st.builds(lambda good, bad: {**good, **bad}, acceptable, json_objects),
)


@st.composite
def routes(draw: st.DrawFn) -> str:
    """A real route, or an arbitrary venue and key in the path."""
    route = draw(st.sampled_from([*ROUTES, "random"]))
    if route != "random":
        return route
    venue = draw(text(12).filter(bool))
    key = draw(st.just("{key}") | text(50).filter(bool).map(quote))
    return f"/api/unify/v1/webhook/{quote(venue, safe='')}/{key}"
