"""A flatten at ProjectX (the kill switch's, the risk monitor's, terminate's)
is recorded in our books as Fill rows, once: its round trip is in every
figure."""

from __future__ import annotations

from decimal import Decimal

from brokers.tests.flattening import flatten_recorded, open_long


def test_a_flatten_at_projectx_is_one_fill_row_and_closes_the_round_trip(connected):
    open_long(connected.account, connected.symbol, Decimal(2), Decimal(21000))
    connected.price(Decimal(21010))
    trip = flatten_recorded(connected.account, connected.symbol)
    assert (trip.symbol, trip.size) == (connected.symbol, Decimal(2))
    assert trip.gross_pnl > 0  # MNQ up ten points: $2 a point a contract
