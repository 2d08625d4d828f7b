"""What an alert's symbol trades on an account, and the account's symbol maps:
the checks a map must pass, and the lookup on the paper broker and on Tradovate
(its fake), through every way it can stop short."""

from __future__ import annotations

import pytest

from brokers.adapters.base import VenueError
from brokers.instruments.resolve import apply_root_override
from brokers.symbols import (
    LOOKUPS_PER_MINUTE,
    SymbolMapError,
    account_symbols_update,
    symbol_lookup,
    symbol_overrides_checked,
    venue_symbols_checked,
)
from brokers.venues.tradovate.tests import conftest as tradovate

# The Tradovate fake and an account connected to it (the frozen clock: Tuesday
# 2026-11-24, so MNQ1! is the December 2026 contract).
connected = tradovate.connected
fake = tradovate.fake

pytestmark = pytest.mark.django_db


# --- The maps -------------------------------------------------------------------------


def test_overrides_are_upper_cased_and_aliases_become_catalogue_symbols():
    checked = symbol_overrides_checked({" nq ": "mnq", "us100": "US30", "ES": "ES"})
    assert checked == {"NQ": "MNQ", "NAS100": "US30"}  # ES=ES changes nothing


@pytest.mark.parametrize(
    ("mapping", "says"),
    [
        ({"NQ": "NOPE"}, "TradeFlow does not know 'NOPE'"),
        ({"NQ1!": "MNQ"}, "a root, not NQ1!"),
        ({"NQ": "EURUSD"}, "NQ (future) cannot be traded as EURUSD (forex)"),
        ({"XAUUSD": "GC"}, "a future maps to a future"),
        ({f"K{n}": "MNQ" for n in range(51)}, "at most 50 entries"),
    ],
)
def test_an_override_that_cannot_trade_is_refused_with_a_sentence(mapping, says):
    with pytest.raises(SymbolMapError) as refused:
        symbol_overrides_checked(mapping)
    assert says in str(refused.value)


def test_venue_names_keep_the_brokers_spelling_under_our_symbol():
    checked = venue_symbols_checked({"gold": "GOLD", "eurusd": " EURUSD.r "})
    assert checked == {"XAUUSD": "GOLD", "EURUSD": "EURUSD.r"}


@pytest.mark.parametrize(
    ("mapping", "says"),
    [
        ({"XAUUSD": "GOLD SPOT"}, "not a name a broker gives an instrument"),
        ({"XAUUSD": "G" * 33}, "1 to 32 letters"),
        ({"XAUUSD": "<b>"}, "not a name"),
        ({"MNQ": "NQ100"}, "MNQ is a future"),
        ({"WHAT": "GOLD"}, "does not know 'WHAT'"),
    ],
)
def test_a_venue_name_that_is_not_sane_is_refused(mapping, says):
    with pytest.raises(SymbolMapError) as refused:
        venue_symbols_checked(mapping)
    assert says in str(refused.value)


def test_saving_the_maps_checks_both_and_saves_nothing_when_one_fails(world):
    account = world.account
    account_symbols_update(
        account=account,
        symbol_overrides={"nq": "mnq"},
        venue_symbols={"XAUUSD": "GOLD"},
        user=world.owner,
    )
    account.refresh_from_db()
    assert account.symbol_overrides == {"NQ": "MNQ"}
    assert account.venue_symbols == {"XAUUSD": "GOLD"}
    with pytest.raises(SymbolMapError):
        account_symbols_update(
            account=account,
            symbol_overrides={},
            venue_symbols={"XAUUSD": "no spaces"},
            user=world.owner,
        )
    account.refresh_from_db()
    assert account.symbol_overrides == {"NQ": "MNQ"}


def test_a_bare_futures_root_takes_its_override_as_the_front_contract():
    # Seed 003's alerts send "ES"; an override used to refuse it as "not a future".
    assert apply_root_override("NQ", {"NQ": "MNQ"}) == "MNQ"


# --- The lookup on the paper broker ---------------------------------------------------


def test_an_alert_on_nq_trades_the_micro_front_contract_after_the_override(
    world, clock
):
    world.account.symbol_overrides = {"NQ": "MNQ"}
    lookup = symbol_lookup(account=world.account, alert_symbol=" NQ1! ")
    assert lookup.ok, lookup.message
    assert (lookup.alert_symbol, lookup.mapped, lookup.override) == (
        "NQ1!",
        "MNQ1!",
        ("NQ", "MNQ"),
    )
    assert (lookup.symbol, lookup.contract) == ("MNQZ26", "MNQZ26")
    assert lookup.instrument is not None and lookup.instrument.symbol == "MNQ"
    assert lookup.expiry is not None and lookup.expiry.isoformat() == "2026-12-18"
    assert lookup.venue_symbol == "MNQZ26"  # the paper broker names it as we do


def test_a_pair_from_a_feed_resolves_with_no_override(world, clock):
    lookup = symbol_lookup(account=world.account, alert_symbol="OANDA:EURUSD")
    assert lookup.ok
    assert (lookup.mapped, lookup.override, lookup.symbol) == (
        "OANDA:EURUSD",
        None,
        "EURUSD",
    )
    assert lookup.contract is None and lookup.venue_symbol == "EURUSD"
    assert lookup.as_dict()["instrument"]["asset_class"] == "forex"


@pytest.mark.parametrize(
    ("symbol", "code", "says"),
    [
        ("NOPE1!", "unknown-symbol", "Unknown symbol 'NOPE1!'"),
        ("", "unknown-symbol", "Type the symbol an alert sends"),
        ("X" * 65, "unknown-symbol", "up to 64 characters"),
        ("MNQZ2025", "expired-contract", "expired on 2025-12-19"),
    ],
)
def test_a_symbol_the_catalogue_refuses_says_why(world, clock, symbol, code, says):
    lookup = symbol_lookup(account=world.account, alert_symbol=symbol)
    assert (lookup.ok, lookup.code) == (False, code)
    assert says in lookup.message and lookup.venue_symbol == ""


def test_an_override_saved_before_the_checks_is_reported_not_raised(world, clock):
    world.account.symbol_overrides = {"NQ": "EURUSD"}  # written around the form
    lookup = symbol_lookup(account=world.account, alert_symbol="NQ1!")
    assert lookup.code == "invalid-override"
    assert "NQ cannot be traded as EURUSD" in lookup.message


def test_past_the_lookups_a_minute_the_venue_is_not_asked(world, clock):
    for _ in range(LOOKUPS_PER_MINUTE):
        assert symbol_lookup(account=world.account, alert_symbol="ES1!").ok
    lookup = symbol_lookup(account=world.account, alert_symbol="ES1!")
    assert lookup.code == "too-many-lookups" and lookup.symbol == "ESZ26"


def test_an_adapter_that_fails_oddly_becomes_a_sentence_not_an_error(
    world, clock, monkeypatch
):
    from paperbroker.adapter import PaperAdapter

    def broken(self, symbol):
        raise KeyError("contractId")

    monkeypatch.setattr(PaperAdapter, "venue_symbol", broken)
    lookup = symbol_lookup(account=world.account, alert_symbol="ES1!")
    assert lookup.code == "venue-unavailable"
    assert "could not ask Paper what it calls ESZ26" in lookup.message


# --- The lookup at Tradovate (its fake) -----------------------------------------------


def test_nq_trades_tradovates_mnqz6_after_the_override(connected):
    account = connected.account
    account.symbol_overrides = {"NQ": "MNQ"}
    lookup = symbol_lookup(account=account, alert_symbol="NQ1!")
    assert lookup.ok, lookup.message
    assert (lookup.mapped, lookup.symbol, lookup.venue_symbol) == (
        "MNQ1!",
        "MNQZ26",
        "MNQZ6",
    )
    assert lookup.venue_name == "Tradovate"
    assert any(call == "contract/find" for call in connected.fake.calls)


def test_a_pair_on_tradovate_is_refused_as_not_a_future(connected):
    lookup = symbol_lookup(account=connected.account, alert_symbol="XAUUSD")
    assert lookup.code == "not-a-future"
    assert lookup.symbol == "XAUUSD" and "Tradovate trades futures" in lookup.message


def test_tradovate_down_is_said_as_could_not_ask(connected):
    connected.fake.knobs.fail = [503] * 5
    lookup = symbol_lookup(account=connected.account, alert_symbol="MES1!")
    assert lookup.code == "venue-unavailable"
    assert lookup.message.startswith("TradeFlow could not ask Tradovate")
    assert lookup.symbol == "MESZ26"  # what TradeFlow would trade is still said


def test_an_account_without_credentials_says_so(connected):
    account = connected.account
    account.credentials = ""
    lookup = symbol_lookup(account=account, alert_symbol="MNQ1!")
    assert lookup.code == "credentials-missing"


def test_a_venue_error_from_the_adapter_keeps_its_code(connected, monkeypatch):
    from brokers.venues.tradovate.adapter import TradovateAdapter

    def refused(self, symbol):
        raise VenueError("contract-not-found", "Tradovate lists no contract MNQZ6.")

    monkeypatch.setattr(TradovateAdapter, "venue_symbol", refused)
    lookup = symbol_lookup(account=connected.account, alert_symbol="MNQ1!")
    assert (lookup.code, lookup.message) == (
        "contract-not-found",
        "Tradovate lists no contract MNQZ6.",
    )
