"""The instrument catalogue, contract expiry and roll, sessions, and symbol
resolution, on fixed dates. No database: these are pure functions."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brokers.instruments import (
    AssetClass,
    ExpiredContract,
    ForexSpec,
    FutureSpec,
    NoSessionError,
    SymbolError,
    UnknownSymbol,
    apply_root_override,
    catalogue,
    futures_roots,
    get_instrument,
    is_open,
    next_open,
    resolve,
    session_close,
    trading_day,
)
from brokers.instruments.calendars import calendar_names
from brokers.instruments.contracts import Contract, expiry_date, front_contract
from brokers.instruments.specs import ExpiryRule

# Names dates: runs on the frozen clock (testkit.clock), whatever today is.
pytestmark = pytest.mark.usefixtures("clock")

CHICAGO = ZoneInfo("America/Chicago")
NEW_YORK = ZoneInfo("America/New_York")
DEC_10 = date(2025, 12, 10)

EQUITY_INDEX = ["ES", "MES", "NQ", "MNQ", "YM", "MYM", "RTY", "M2K"]
ENERGY_AND_METALS = ["CL", "MCL", "NG", "GC", "MGC", "SI", "SIL", "HG"]
RATES_AND_FX = ["ZB", "ZN", "ZF", "6E", "6J", "6B"]
FUTURES = EQUITY_INDEX + ENERGY_AND_METALS + RATES_AND_FX
MICROS = {"MES": "ES", "MNQ": "NQ", "MYM": "YM", "M2K": "RTY", "MCL": "CL"}
MICROS |= {"MGC": "GC", "SIL": "SI"}


def spec(symbol: str) -> FutureSpec:
    instrument = get_instrument(symbol)
    assert isinstance(instrument, FutureSpec)
    return instrument


# --- catalogue ---------------------------------------------------------------


def test_every_futures_root_we_promised_is_in_the_catalogue():
    assert set(FUTURES) <= set(futures_roots())
    for root in FUTURES:
        assert spec(root).exchange in {"CME", "CBOT", "NYMEX", "COMEX"}


@pytest.mark.parametrize("symbol", sorted(catalogue()))
def test_point_value_is_tick_value_over_tick_size(symbol):
    instrument = catalogue()[symbol]
    assert isinstance(instrument.tick_size, Decimal)
    assert instrument.point_value == instrument.tick_value / instrument.tick_size


def test_well_known_contract_sizes_are_right():
    assert spec("ES").point_value == 50
    assert spec("MNQ").tick_value == Decimal("0.50")
    assert spec("ZN").tick_size == Decimal("0.015625")
    assert spec("6J").point_value == 12_500_000


def test_micro_contracts_name_their_full_size_root_and_share_its_cycle():
    for micro, full in MICROS.items():
        assert spec(micro).micro_of == full
        assert spec(micro).months == spec(full).months
        assert spec(micro).tick_size == spec(full).tick_size
    assert not spec("ES").is_micro


def test_month_cycles_follow_each_market():
    assert spec("ES").months == "HMUZ"
    assert spec("CL").months == spec("NG").months == "FGHJKMNQUVXZ"
    assert spec("GC").months == spec("MGC").months == "GJMQVZ"
    assert spec("SI").months == spec("HG").months == "HKNUZ"


def test_margins_are_configuration_with_a_source_and_a_date():
    for root in FUTURES:
        margin = spec(root).margin
        assert margin.source
        assert margin.as_of.year >= 2025
        assert 0 < margin.intraday < margin.overnight
    assert Decimal(10_000) <= spec("ES").margin.overnight <= Decimal(30_000)
    assert spec("MES").margin.overnight * 10 == spec("ES").margin.overnight


def test_a_forex_pip_per_standard_lot_is_worth_pip_size_times_lot_size():
    eurusd, usdjpy = get_instrument("EURUSD"), get_instrument("USDJPY")
    assert isinstance(eurusd, ForexSpec) and isinstance(usdjpy, ForexSpec)
    assert (eurusd.pip_value, eurusd.currency) == (Decimal(10), "USD")
    assert (usdjpy.pip_value, usdjpy.currency) == (Decimal(1000), "JPY")
    assert eurusd.tick_size < eurusd.pip_size


def test_every_library_calendar_named_in_the_catalogue_exists():
    known = calendar_names()
    for instrument in catalogue().values():
        if instrument.asset_class in (AssetClass.FUTURE, AssetClass.STOCK):
            assert instrument.calendar in known, instrument.symbol


def test_importing_the_package_does_not_load_pandas():
    code = "import sys, brokers.instruments; print('pandas' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# --- expiry and roll ---------------------------------------------------------


@pytest.mark.parametrize(
    ("contract", "expiry"),
    [
        (Contract("ES", 2025, 12), date(2025, 12, 19)),  # 3rd Friday
        (Contract("MNQ", 2026, 3), date(2026, 3, 20)),
        (Contract("6E", 2025, 12), date(2025, 12, 15)),  # Monday before 3rd Wed
        (Contract("CL", 2025, 12), date(2025, 11, 20)),
        (Contract("CL", 2026, 1), date(2025, 12, 19)),  # the 25th is Christmas
        (Contract("MCL", 2026, 1), date(2025, 12, 18)),  # a day before CL
        (Contract("NG", 2025, 12), date(2025, 11, 25)),  # Thanksgiving skipped
        (Contract("NG", 2026, 1), date(2025, 12, 29)),
        (Contract("GC", 2025, 12), date(2025, 12, 29)),  # third-last business day
        (Contract("SIL", 2026, 3), date(2026, 3, 27)),
        (Contract("ZN", 2025, 12), date(2025, 12, 19)),
        (Contract("ZB", 2026, 3), date(2026, 3, 20)),
        (Contract("ZF", 2025, 12), date(2025, 12, 31)),  # 5-year: last business day
    ],
)
def test_expiry_follows_the_exchange_rule(contract, expiry):
    assert contract.expiry == expiry


def test_equity_expiry_moves_off_a_good_friday():
    # Good Friday 2008 was the third Friday of March.
    assert expiry_date(ExpiryRule.THIRD_FRIDAY, 2008, 3) == date(2008, 3, 20)


def test_every_root_rolls_before_its_contract_expires():
    for root in FUTURES:
        contract = Contract(root, 2024, 1)
        for _ in range(30):
            contract = front_contract(root, contract.roll_date)
            assert contract.roll_date < contract.expiry, contract.code


def test_equity_index_rolls_on_the_thursday_eight_days_before_expiry():
    contract = Contract("ES", 2025, 12)
    assert contract.roll_date == date(2025, 12, 11)
    assert contract.roll_date.strftime("%A") == "Thursday"


def test_metals_and_treasuries_roll_at_the_end_of_the_month_before():
    assert Contract("GC", 2026, 2).roll_date == date(2026, 1, 30)
    assert Contract("ZN", 2026, 3).roll_date == date(2026, 2, 27)


# --- resolve: futures --------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "contract"),
    [
        ("MNQ1!", "MNQZ25"),
        ("MNQ2!", "MNQH26"),
        ("CME_MINI:MNQZ2025", "MNQZ25"),
        ("CME_MINI:MNQ1!", "MNQZ25"),
        ("MNQZ2025", "MNQZ25"),
        ("MNQZ25", "MNQZ25"),
        ("MNQZ5", "MNQZ25"),
        ("mnqz5", "MNQZ25"),
        ("cme_mini:mnq1!", "MNQZ25"),
        (" MNQ1! ", "MNQZ25"),
        ("MNQH6", "MNQH26"),
    ],
)
def test_every_form_tradingview_users_send_resolves_to_one_contract(symbol, contract):
    assert resolve(symbol, DEC_10).contract == contract


def test_a_resolved_future_carries_its_spec_month_year_and_expiry():
    resolved = resolve("CME_MINI:MNQZ2025", DEC_10)
    assert resolved.instrument is get_instrument("MNQ")
    assert (resolved.root, resolved.month, resolved.year) == ("MNQ", 12, 2025)
    assert resolved.expiry == date(2025, 12, 19)
    assert resolved.symbol == "MNQZ25"


def test_the_continuous_symbol_moves_to_the_next_contract_on_the_roll_date():
    assert resolve("MNQ1!", date(2025, 12, 10)).contract == "MNQZ25"
    assert resolve("MNQ1!", date(2025, 12, 11)).contract == "MNQH26"
    assert resolve("MNQ1!", date(2025, 12, 12)).contract == "MNQH26"
    assert resolve("MNQ2!", date(2025, 12, 12)).contract == "MNQM26"


def test_crude_rolls_a_week_before_its_last_trading_day():
    assert resolve("CL1!", date(2025, 12, 11)).contract == "CLF26"
    assert resolve("CL1!", date(2025, 12, 12)).contract == "CLG26"
    assert resolve("NYMEX:CL2!", date(2025, 12, 11)).contract == "CLG26"


def test_gold_rolls_to_the_next_active_month_before_first_notice():
    assert resolve("GC1!", date(2026, 1, 29)).contract == "GCG26"
    assert resolve("GC1!", date(2026, 1, 30)).contract == "GCJ26"


@pytest.mark.parametrize(
    ("symbol", "root"),
    [
        ("MNQ1!", "MNQ"),
        ("NQ1!", "NQ"),
        ("MESZ25", "MES"),
        ("ESZ25", "ES"),
        ("SILH26", "SIL"),
        ("SIH26", "SI"),
        ("M2K1!", "M2K"),
        ("MYMZ5", "MYM"),
        ("MCL1!", "MCL"),
        ("MGC1!", "MGC"),
        ("6E1!", "6E"),
    ],
)
def test_the_longest_matching_root_wins(symbol, root):
    assert resolve(symbol, DEC_10).root == root


def test_a_single_digit_year_is_never_more_than_a_year_in_the_past():
    assert resolve("ESH0", date(2029, 12, 1)).year == 2030
    assert resolve("ESZ9", date(2029, 12, 1)).year == 2029
    with pytest.raises(ExpiredContract):
        resolve("ESZ4", DEC_10)  # 2024, not 2034


def test_a_contract_still_trades_on_its_last_trading_day():
    assert resolve("ESZ25", date(2025, 12, 19)).contract == "ESZ25"


def test_an_expired_contract_is_refused_with_the_front_contract_named():
    with pytest.raises(ExpiredContract) as raised:
        resolve("CME_MINI:MNQZ2024", DEC_10)
    message = str(raised.value)
    assert "MNQZ24" in message
    assert "2024-12-20" in message
    assert "MNQZ25" in message
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    "symbol",
    ["XYZ1!", "", "ESF26", "ES0!", "BINANCE:DOGEUSDT", "MNQZ202", "M1!"],
)
def test_unknown_symbols_raise_a_readable_error(symbol):
    with pytest.raises(UnknownSymbol) as raised:
        resolve(symbol, DEC_10)
    assert isinstance(raised.value, ValueError)
    assert repr(symbol) in str(raised.value)


def test_without_a_date_the_current_trade_date_is_used():
    resolved = resolve("ES1!")
    assert resolved.expiry is not None
    assert resolved.expiry >= datetime.now(UTC).date() - timedelta(days=1)


# --- resolve: forex, stocks, crypto ------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "root"),
    [
        ("EURUSD", "EURUSD"),
        ("FX:EURUSD", "EURUSD"),
        ("OANDA:EURUSD", "EURUSD"),
        ("EUR/USD", "EURUSD"),
        ("eurusd", "EURUSD"),
        ("BTCUSDT", "BTCUSDT"),
        ("BINANCE:BTCUSDT", "BTCUSDT"),
        ("COINBASE:BTCUSD", "BTCUSD"),
        ("NASDAQ:AAPL", "AAPL"),
        ("AAPL", "AAPL"),
        ("AMEX:SPY", "SPY"),
    ],
)
def test_spot_symbols_resolve_whatever_feed_prefix_they_carry(symbol, root):
    resolved = resolve(symbol, DEC_10)
    assert resolved.root == resolved.symbol == root
    assert resolved.contract is None and resolved.expiry is None


def test_stocks_and_crypto_have_a_multiplier_of_one():
    for symbol in ("SPY", "QQQ", "AAPL", "MSFT", "NVDA", "TSLA", "BTCUSDT"):
        instrument = get_instrument(symbol)
        assert instrument is not None
        assert instrument.point_value == 1
        assert instrument.tick_size == Decimal("0.01")


# --- root overrides ----------------------------------------------------------


def test_an_override_trades_the_micro_when_the_alert_names_the_mini():
    overrides = {"NQ": "MNQ", "es": "mes"}
    assert apply_root_override("NQ1!", overrides) == "MNQ1!"
    assert apply_root_override("CME_MINI:NQZ2025", overrides) == "MNQZ2025"
    assert apply_root_override("esz5", overrides) == "MESZ5"
    assert resolve(apply_root_override("NQ1!", overrides), DEC_10).root == "MNQ"


def test_a_symbol_without_an_override_comes_back_unchanged():
    assert apply_root_override("CME_MINI:MNQ1!", {"NQ": "MNQ"}) == "CME_MINI:MNQ1!"
    assert apply_root_override("EURUSD", {}) == "EURUSD"
    assert apply_root_override("XYZ1!", {"NQ": "MNQ"}) == "XYZ1!"


def test_an_override_to_an_unknown_or_different_kind_of_instrument_is_refused():
    with pytest.raises(UnknownSymbol):
        apply_root_override("NQ1!", {"NQ": "NOPE"})
    with pytest.raises(SymbolError, match="a stock"):
        apply_root_override("NQ1!", {"NQ": "AAPL"})


# --- sessions ----------------------------------------------------------------


def test_es_is_open_on_a_tuesday_morning_in_chicago():
    assert is_open(spec("ES"), datetime(2025, 12, 9, 10, tzinfo=CHICAGO))


def test_es_is_closed_on_saturday_and_on_christmas_day():
    assert not is_open(spec("ES"), datetime(2025, 12, 13, 10, tzinfo=CHICAGO))
    assert not is_open(spec("ES"), datetime(2025, 12, 25, 10, tzinfo=CHICAGO))


def test_es_is_closed_in_the_daily_maintenance_hour():
    assert not is_open(spec("ES"), datetime(2025, 12, 9, 16, 30, tzinfo=CHICAGO))
    assert is_open(spec("ES"), datetime(2025, 12, 9, 17, 0, tzinfo=CHICAGO))


def test_a_cme_sunday_evening_belongs_to_mondays_trading_day():
    sunday_evening = datetime(2025, 12, 7, 18, tzinfo=CHICAGO)
    assert is_open(spec("ES"), sunday_evening)
    assert trading_day(spec("ES"), sunday_evening) == date(2025, 12, 8)
    assert trading_day(spec("CL"), sunday_evening) == date(2025, 12, 8)


def test_on_a_holiday_the_trading_day_is_the_next_session():
    christmas = datetime(2025, 12, 25, 10, tzinfo=CHICAGO)
    assert trading_day(spec("ES"), christmas) == date(2025, 12, 26)
    expected = datetime(2025, 12, 25, 17, tzinfo=CHICAGO)
    assert next_open(spec("ES"), christmas) == expected


def test_sessions_close_early_on_christmas_eve_and_not_at_all_on_christmas():
    christmas_eve = session_close(spec("ES"), date(2025, 12, 24))
    assert christmas_eve == datetime(2025, 12, 24, 12, tzinfo=CHICAGO)
    assert session_close(spec("ES"), date(2025, 12, 23)) == datetime(
        2025, 12, 23, 16, tzinfo=CHICAGO
    )
    with pytest.raises(NoSessionError):
        session_close(spec("ES"), date(2025, 12, 25))


def test_session_times_are_plain_utc_datetimes():
    opens = next_open(spec("ES"), datetime(2025, 12, 13, tzinfo=UTC))
    assert type(opens) is datetime
    assert opens.tzinfo is UTC
    assert opens == datetime(2025, 12, 14, 17, tzinfo=CHICAGO)


def test_forex_is_closed_on_saturday_and_opens_sunday_at_five_in_new_york():
    eurusd = get_instrument("EURUSD")
    assert eurusd is not None
    assert not is_open(eurusd, datetime(2025, 12, 13, 12, tzinfo=UTC))
    assert not is_open(eurusd, datetime(2025, 12, 14, 16, 59, tzinfo=NEW_YORK))
    assert is_open(eurusd, datetime(2025, 12, 14, 17, tzinfo=NEW_YORK))
    assert is_open(eurusd, datetime(2025, 12, 17, 3, tzinfo=NEW_YORK))
    assert not is_open(eurusd, datetime(2025, 12, 19, 17, tzinfo=NEW_YORK))
    opens = next_open(eurusd, datetime(2025, 12, 13, 12, tzinfo=UTC))
    assert opens == datetime(2025, 12, 14, 17, tzinfo=NEW_YORK)
    sunday_evening = datetime(2025, 12, 14, 18, tzinfo=NEW_YORK)
    assert trading_day(eurusd, sunday_evening) == date(2025, 12, 15)


def test_crypto_is_open_on_sunday_night_and_never_reopens():
    btc = get_instrument("BTCUSDT")
    assert btc is not None
    sunday = datetime(2025, 12, 14, 3, tzinfo=UTC)
    assert is_open(btc, sunday)
    assert next_open(btc, sunday) is None
    assert trading_day(btc, sunday) == date(2025, 12, 14)


def test_stocks_trade_regular_new_york_hours_only():
    aapl = get_instrument("AAPL")
    assert aapl is not None
    assert is_open(aapl, datetime(2025, 12, 9, 10, tzinfo=NEW_YORK))
    assert not is_open(aapl, datetime(2025, 12, 9, 17, tzinfo=NEW_YORK))
    assert not is_open(aapl, datetime(2025, 11, 27, 11, tzinfo=NEW_YORK))


def test_resolve_wants_a_trade_date_not_a_timestamp():
    with pytest.raises(TypeError):
        resolve("ES1!", datetime(2025, 12, 10, tzinfo=UTC))


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="naive"):
        is_open(spec("ES"), datetime(2025, 12, 9, 10))


# --- properties --------------------------------------------------------------

days = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))
# The first example loads the CME holiday calendar (pandas), the rest take
# microseconds: a per-example deadline would only measure that import.
calendar_loading = settings(deadline=None)


@calendar_loading
@given(days)
def test_es_front_contract_is_live_and_the_second_is_the_next_quarter(day):
    front, second = resolve("ES1!", day), resolve("ES2!", day)
    assert front.expiry is not None and front.roll_date is not None
    assert front.month is not None and front.year is not None
    assert front.expiry >= day
    assert front.roll_date > day
    expected = (front.year + (front.month == 12), front.month % 12 + 3)
    assert (second.year, second.month) == expected


@calendar_loading
@given(days, st.sampled_from(FUTURES))
def test_every_roots_front_contract_has_not_rolled_yet(day, root):
    front = front_contract(root, day)
    assert front.roll_date > day
    assert front.expiry > day


def test_a_bare_futures_root_means_the_front_contract_as_seed_003_sends_it():
    assert resolve("ES", DEC_10).contract == resolve("ES1!", DEC_10).contract == "ESZ25"
