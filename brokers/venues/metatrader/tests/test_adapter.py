"""The venue contract every adapter passes, for MetaTrader with the fake EA
attending: MetaTrader answers through its EA, so after each call the EA takes
its turn (a few ticks of its timer: heartbeat, poll, execute, acknowledge), as a
running terminal does within a second, and the call reads back what happened."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from brokers.adapters.base import OrderReport, OrderRequest
from brokers.adapters.contract import AdapterContract, ContractVenue
from brokers.venues.metatrader.adapter import MetaTraderAdapter
from brokers.venues.metatrader.tests.conftest import metatrader_account
from brokers.venues.metatrader.tests.test_with_fake_ea import Rig, rig_for


class Attended(MetaTraderAdapter):
    """The adapter, with the EA taking its turn after each call."""

    rig: Rig

    def _turn(self) -> None:
        self.rig.run()

    def _after(self, report: OrderReport) -> OrderReport:
        self._turn()
        found = self.find_order(report.client_order_id)
        assert found is not None
        return found

    def place_order(self, request: OrderRequest) -> OrderReport:
        return self._after(super().place_order(request))

    def cancel_order(self, venue_order_id: str) -> OrderReport:
        return self._after(super().cancel_order(venue_order_id))

    def flatten(self) -> list[OrderReport]:
        return [self._after(report) for report in super().flatten()]


class TestMetaTraderVenue(AdapterContract):
    @pytest.fixture
    def venue(self, world, tmp_path, clock) -> Iterator[ContractVenue]:
        mt = metatrader_account(world.workspace)
        rig = rig_for(mt, tmp_path)
        adapter = Attended(mt.account)
        adapter.rig = rig

        def set_price(price: Decimal) -> None:
            rig.terminal.set_price("EURUSD.r", price, price + Decimal("0.00012"))
            adapter._turn()

        yield ContractVenue(
            adapter=adapter,
            symbol="EURUSD",
            quantity=Decimal("0.1"),
            price=Decimal("1.08700"),
            set_price=set_price,
        )
        rig.ea.close()
