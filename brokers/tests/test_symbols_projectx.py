"""The lookup at ProjectX (its fake): the contract id its orders name."""

from __future__ import annotations

import pytest

from brokers.symbols import symbol_lookup
from brokers.venues.projectx.tests import conftest as projectx

# The ProjectX fake and a 50K Combine connected to it, on the frozen clock.
connected = projectx.connected
fake = projectx.fake

pytestmark = pytest.mark.django_db


def test_mnq_trades_projectxs_contract_id(connected):
    lookup = symbol_lookup(account=connected.account, alert_symbol="CME_MINI:MNQ1!")
    assert lookup.ok, lookup.message
    assert (lookup.symbol, lookup.venue_symbol) == ("MNQZ26", "CON.F.US.MNQ.Z26")


def test_a_pair_on_projectx_is_refused_as_not_a_future(connected):
    lookup = symbol_lookup(account=connected.account, alert_symbol="EURUSD")
    assert lookup.code == "not-a-future"
