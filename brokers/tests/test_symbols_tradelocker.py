"""The lookup at TradeLocker (its fake): gold under the broker's own name, a
future refused on a forex venue, and TradeLocker down."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokers.symbols import symbol_lookup
from brokers.venues.tradelocker.tests import conftest as tradelocker

# A ticking clock (TradeLocker's per-second limits), its fake and an account.
clock = tradelocker.clock
connected = tradelocker.connected
fake = tradelocker.fake

pytestmark = pytest.mark.django_db


def test_xauusd_trades_the_brokers_gold_once_the_account_names_it(connected):
    connected.fake.instrument("GOLD", lot_size=Decimal(100), tick_size=Decimal("0.01"))
    account = connected.account
    account.venue_symbols = {"XAUUSD": "GOLD"}
    lookup = symbol_lookup(account=account, alert_symbol="OANDA:XAUUSD")
    assert lookup.ok, lookup.message
    assert (lookup.symbol, lookup.venue_symbol) == ("XAUUSD", "GOLD")
    account.venue_symbols = {}
    lookup = symbol_lookup(account=account, alert_symbol="OANDA:XAUUSD")
    assert lookup.venue_symbol == "XAUUSD"  # its own name, without the map


def test_a_name_the_broker_does_not_list_is_refused_with_the_map_named(connected):
    account = connected.account
    account.venue_symbols = {"XAUUSD": "GOLDX"}
    lookup = symbol_lookup(account=account, alert_symbol="XAUUSD")
    assert lookup.code == "unknown-symbol"
    assert "maps XAUUSD to GOLDX" in lookup.message


def test_a_future_on_a_forex_venue_is_refused(connected):
    lookup = symbol_lookup(account=connected.account, alert_symbol="NQ1!")
    assert not lookup.ok and lookup.venue_symbol == ""
    assert lookup.symbol == "NQZ26" and "NQZ26" in lookup.message
    assert lookup.code == "not-tradable-here"  # a future, not a missing name


def test_tradelocker_down_is_said_as_could_not_ask(connected):
    connected.fake.knobs.fail = [503] * 10
    lookup = symbol_lookup(account=connected.account, alert_symbol="EURUSD")
    assert lookup.code == "venue-unavailable", lookup.message
    assert lookup.message.startswith("TradeFlow could not ask TradeLocker")
