from __future__ import annotations

import random
from decimal import Decimal

from paperbroker.feed import feed_step, next_price
from paperbroker.models import PaperAccount, PaperOrder, Quote
from paperbroker.services import quote_record
from paperbroker.tests.test_venue import order


def test_the_walk_moves_in_whole_ticks_and_never_below_one_tick():
    rng = random.Random(7)
    price = Decimal("1.00")
    for _ in range(1000):
        price = next_price(price, Decimal("0.25"), 3, rng)
        assert price >= Decimal("0.25") and (price / Decimal("0.25")) % 1 == 0


def test_the_feed_moves_symbols_with_working_orders_and_can_fill_them(world):
    paper = PaperAccount.objects.get(broker_account=world.account)
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    limit = order(paper, kind="limit", limit_price="99.50", time_in_force="GTC")
    rng = random.Random(1)
    steps = 0
    while limit.status == PaperOrder.Status.WORKING and steps < 500:
        assert feed_step(rng=rng) == 1
        limit.refresh_from_db()
        steps += 1
    assert limit.status == PaperOrder.Status.FILLED
    assert Quote.objects.get(symbol="BTCUSDT").source == "synthetic"


def test_fills_made_by_the_feed_are_announced_on_the_workspace_group(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        "common.realtime.broadcast",
        lambda ws, event: sent.append((ws, event["type"])),
    )
    paper = PaperAccount.objects.get(broker_account=world.account)
    quote_record(symbol="BTCUSDT", last=Decimal(100), source="manual")
    limit = order(paper, kind="limit", limit_price="99.00", time_in_force="GTC")
    rng = random.Random(3)
    while limit.status == PaperOrder.Status.WORKING:
        feed_step(rng=rng)
        limit.refresh_from_db()
    kinds = {kind for _, kind in sent}
    assert {"paper_order_update", "paper_fill_update", "paper_account_update"} <= kinds
    assert {ws for ws, _ in sent} == {world.workspace.pk}
