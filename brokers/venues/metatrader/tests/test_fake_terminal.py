"""The simulated MetaTrader terminal: volumes, FIFO partial closes, hedging and
netting, stops, pending orders, the knobs, and MT4's error numbers. No database,
no HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from brokers.venues.metatrader.fake_terminal import (
    Deal,
    FakeTerminal,
    Order,
    Position,
    retcode_text,
)

NOW = 1796400000
D = Decimal


def terminal(**options) -> FakeTerminal:
    return FakeTerminal(clock=lambda: NOW, **options)


def test_volume_is_rounded_down_to_the_step_and_refused_outside_the_limits():
    t = terminal()
    result = t.open("EURUSD", "buy", D("0.129"))
    assert (result.ok, result.retcode, result.retcode_text) == (
        True,
        10009,
        "TRADE_RETCODE_DONE",
    )
    assert result.volume == D("0.12")
    assert str(t.positions[0].volume) == "0.12"
    assert t.open("US30", "buy", D("0.25")).volume == D("0.2")  # step 0.1

    for volume in ("0.005", "0", "100.01"):
        refused = t.open("EURUSD", "buy", D(volume))
        assert (refused.ok, refused.retcode) == (False, 10014)
        assert refused.retcode_text == "TRADE_RETCODE_INVALID_VOLUME"
    assert t.open("US30", "buy", D("0.09")).retcode == 10014  # under US30's 0.1
    assert len(t.positions) == 2


def test_a_close_takes_the_oldest_positions_first_and_the_last_one_partly():
    t = terminal()
    tickets = [t.open("EURUSD", "buy", D(v)).ticket for v in ("0.10", "0.20", "0.30")]
    t.open("EURUSD", "sell", D("0.40"))  # the other side is not touched
    t.set_price("EURUSD", D("1.08812"), D("1.08824"))  # buys +0.00100 at the bid

    result = t.close("EURUSD", "buy", D("0.25"))

    assert result.ok and not result.partial
    assert (result.volume, result.price, result.position) == (
        D("0.25"),
        D("1.08812"),
        tickets[0],  # the first position it closed
    )
    left = {p.ticket: p.volume for p in t.positions if p.side == "buy"}
    assert left == {tickets[1]: D("0.05"), tickets[2]: D("0.30")}
    outs = [d for d in t.deals if d.entry == "out"]
    assert [(d.position, d.volume, d.profit) for d in outs] == [
        (tickets[0], D("0.10"), D("10.00")),
        (tickets[1], D("0.15"), D("15.00")),
    ]
    assert t.balance == D("10025.00")


def test_closing_more_than_is_open_closes_all_of_it_and_says_partial():
    t = terminal()
    t.open("EURUSD", "buy", D("0.10"))
    t.open("EURUSD", "buy", D("0.10"))
    result = t.close("EURUSD", "buy", D("0.50"))
    assert result.ok and result.partial and result.volume == D("0.20")
    assert t.positions == []
    nothing = t.close("EURUSD", "buy", D("0.10"))
    assert (nothing.ok, nothing.retcode_text) == (
        False,
        "TRADE_RETCODE_POSITION_CLOSED",
    )


def test_hedging_keeps_every_fill_netting_one_position_per_symbol():
    hedging = terminal()
    hedging.open("EURUSD", "buy", D("0.10"))
    hedging.open("EURUSD", "sell", D("0.10"))
    assert [p.side for p in hedging.positions] == ["buy", "sell"]

    netting = terminal(hedging=False)
    first = netting.open("EURUSD", "buy", D("0.10"))
    netting.set_price("EURUSD", D("1.08800"), D("1.08812"))
    netting.open("EURUSD", "buy", D("0.10"))
    (position,) = netting.positions
    assert (position.ticket, position.volume) == (first.ticket, D("0.20"))
    assert position.price == D("1.08762")  # the average of 1.08712 and 1.08812

    netting.open("EURUSD", "sell", D("0.05"))  # reduces, at the bid 1.08800
    assert netting.positions[0].volume == D("0.15")
    assert netting.balance == D("10001.90")

    netting.open("EURUSD", "sell", D("0.25"))  # reverses
    (position,) = netting.positions
    assert (position.side, position.volume, position.price) == (
        "sell",
        D("0.10"),
        D("1.08800"),
    )
    assert position.ticket == first.ticket
    assert netting.balance == D("10007.60")

    netting.open("EURUSD", "buy", D("0.10"))
    assert netting.positions == []


def test_profit_equity_and_margin_follow_the_contract_size():
    t = terminal()
    t.open("XAUUSD", "buy", D("1"))  # at 2000.30, contract 100
    t.open("US30", "sell", D("2"))  # at 40000.0, contract 1
    t.set_price("XAUUSD", D("2010.30"), D("2010.60"))
    t.set_price("US30", D("39890.0"), D("39900.0"))
    gold, dow = t.positions
    assert t.profit(gold) == gold.profit == D("1000.00")
    assert dow.profit == D("200.00")
    assert t.equity == D("11200.00")
    assert t.margin == D("560.06")  # 200030 / 500 + 80000 / 500
    assert t.free_margin == t.equity - t.margin


def test_stop_loss_and_take_profit_close_at_the_market():
    t = terminal()
    buy = t.open("XAUUSD", "buy", D("1"), sl=D("1990.00"), tp=D("2020.00"))
    sell = t.open("XAUUSD", "sell", D("1"), sl=D("2010.00"), tp=D("1980.00"))
    assert t.set_price("XAUUSD", D("2005.00"), D("2005.30")) == []

    (deal,) = t.set_price("XAUUSD", D("2009.80"), D("2010.10"))
    assert (deal.position, deal.price, deal.comment) == (
        sell.ticket,
        D("2010.10"),
        "[sl 2010.00]",
    )
    assert deal.profit == D("-1010.00")
    (deal,) = t.set_price("XAUUSD", D("2020.50"), D("2020.80"))
    assert (deal.position, deal.price, deal.comment) == (
        buy.ticket,
        D("2020.50"),
        "[tp 2020.00]",
    )
    assert deal.profit == D("2020.00")
    assert t.positions == []
    assert t.balance == D("11010.00")


def test_stops_on_the_wrong_side_are_refused():
    t = terminal()
    for side, sl, tp in (
        ("buy", "1.08800", "0"),  # a buy's stop above the bid
        ("buy", "0", "1.08600"),
        ("sell", "1.08600", "0"),  # a sell's stop below the ask
        ("sell", "0", "1.08800"),
    ):
        result = t.open("EURUSD", side, D("0.10"), sl=D(sl), tp=D(tp))
        assert (result.retcode, result.retcode_text) == (
            10016,
            "TRADE_RETCODE_INVALID_STOPS",
        )
    assert t.positions == []


def test_pending_orders_fill_when_the_price_crosses_them():
    t = terminal()
    limit = t.open(
        "EURUSD",
        "buy",
        D("0.10"),
        type="limit",
        price=D("1.08500"),
        sl=D("1.08000"),
        comment="tf-1",
    )
    stop = t.open("EURUSD", "buy", D("0.20"), type="stop", price=D("1.09000"))
    sell_limit = t.open("EURUSD", "sell", D("0.30"), type="limit", price=D("1.09500"))
    assert (limit.retcode, limit.retcode_text, limit.placed) == (
        10008,
        "TRADE_RETCODE_PLACED",
        True,
    )
    assert limit.price == D("1.08500") and limit.volume == D("0.10")
    above = t.open("EURUSD", "buy", D("0.1"), type="limit", price=D("1.09000"))
    assert above.retcode_text == "TRADE_RETCODE_INVALID_PRICE"  # above the ask
    assert len(t.orders) == 3 and t.positions == []

    t.set_price("EURUSD", D("1.08600"), D("1.08612"))
    assert len(t.orders) == 3
    t.set_price("EURUSD", D("1.08480"), D("1.08492"))  # the ask crosses 1.08500
    (position,) = t.positions
    assert (position.ticket, position.price, position.sl, position.comment) == (
        limit.ticket,
        D("1.08500"),
        D("1.08000"),
        "tf-1",
    )
    assert t.history[limit.ticket].state == "filled"

    t.set_price("EURUSD", D("1.09050"), D("1.09062"))  # a stop fills at the market
    assert t.history[stop.ticket].fill_price == D("1.09062")
    t.set_price("EURUSD", D("1.09600"), D("1.09612"))
    assert t.history[sell_limit.ticket].fill_price == D("1.09500")
    assert t.orders == []
    assert [p.ticket for p in t.positions] == [
        limit.ticket,
        stop.ticket,
        sell_limit.ticket,
    ]


def test_delete_and_flatten():
    t = terminal()
    order = t.open("EURUSD", "buy", D("0.10"), type="limit", price=D("1.08000"))
    deleted = t.delete_order(order.ticket)
    assert (deleted.ok, deleted.retcode, deleted.volume) == (True, 10009, D("0.10"))
    assert t.history[order.ticket].state == "cancelled"
    assert t.delete_order(order.ticket).retcode == 10013

    t.open("EURUSD", "buy", D("0.10"))
    t.open("EURUSD", "sell", D("0.20"))
    t.open("EURUSD", "buy", D("0.10"), type="limit", price=D("1.08000"))
    t.open("XAUUSD", "buy", D("1"))
    flat = t.flatten("EURUSD")
    assert flat.ok and flat.volume == D("0.30")
    assert [p.symbol for p in t.positions] == ["XAUUSD"] and t.orders == []
    assert t.flatten().volume == D("1.00")
    assert t.positions == []
    assert t.flatten().ok  # already flat


def test_the_knobs_refuse_requests():
    t = terminal()
    t.market_closed = True
    assert t.open("EURUSD", "buy", D("0.1")).retcode_text == (
        "TRADE_RETCODE_MARKET_CLOSED"
    )
    t.market_closed, t.trade_allowed = False, False
    assert t.open("EURUSD", "buy", D("0.1")).retcode == 10027
    assert t.flatten().retcode_text == "TRADE_RETCODE_CLIENT_DISABLES_AT"
    t.trade_allowed = True
    t.reject_next(10006)
    refused = t.open("EURUSD", "buy", D("0.1"))
    assert (refused.ok, refused.retcode_text) == (False, "TRADE_RETCODE_REJECT")
    assert t.open("EURUSD", "buy", D("0.1")).ok  # only the next one
    no_money = t.open("XAUUSD", "buy", D("30"))  # 30 x 100 x 2000.30 / 500
    assert (no_money.retcode, no_money.retcode_text) == (
        10019,
        "TRADE_RETCODE_NO_MONEY",
    )
    assert len(t.positions) == 1
    t.symbols["XAUUSD"].trade_enabled = False  # the symbol's trade mode
    assert t.open("XAUUSD", "buy", D("1")).retcode_text == (
        "TRADE_RETCODE_TRADE_DISABLED"
    )
    t.connected = False
    assert t.open("EURUSD", "buy", D("0.1")).retcode == 10031


def test_mt4_speaks_its_error_numbers_and_reticket_a_partial_close():
    with pytest.raises(ValueError):
        terminal(platform="MT4", hedging=False)
    t = terminal(platform="MT4")
    assert t.build == 1420
    done = t.open("EURUSD", "buy", D("0.30"), comment="tf-9")
    placed = t.open("EURUSD", "buy", D("0.1"), type="limit", price=D("1.08"))
    assert (done.retcode, done.retcode_text, done.ok) == (0, "ERR_NO_ERROR", True)
    assert (placed.retcode, placed.placed) == (0, True)
    assert (
        t.open("EURUSD", "buy", D("0.001")).retcode_text == "ERR_INVALID_TRADE_VOLUME"
    )
    assert t.open("EURUSD", "buy", D("0.1"), sl=D("1.09")).retcode == 130
    assert t.open("XAUUSD", "buy", D("30")).retcode_text == "ERR_NOT_ENOUGH_MONEY"
    t.market_closed = True
    assert t.open("EURUSD", "buy", D("0.1")).retcode_text == "ERR_MARKET_CLOSED"
    t.market_closed, t.trade_allowed = False, False
    assert t.open("EURUSD", "buy", D("0.1")).retcode == 4109
    t.trade_allowed = True

    closed = t.close("EURUSD", "buy", D("0.10"))
    assert closed.ok and closed.position == done.ticket
    (rest,) = t.positions
    assert rest.volume == D("0.20") and rest.ticket != done.ticket
    assert rest.comment == f"from #{done.ticket}"
    assert retcode_text("MT4", 4108) == "ERR_INVALID_TICKET"
    assert retcode_text("MT4", 4242) == "ERR_4242"
    assert retcode_text("MT5", 4242) == "TRADE_RETCODE_4242"


def test_find_by_comment_sees_positions_orders_and_entry_deals():
    t = terminal()
    long = "tf-" + "x" * 40
    filled = t.open("EURUSD", "buy", D("0.1"), comment=long)
    working = t.open(
        "EURUSD", "sell", D("0.1"), type="limit", price=D("1.09"), comment="tf-2"
    )
    assert t.positions[0].comment == long[:31]
    position = t.find_by_comment("EURUSD", long)
    assert isinstance(position, Position) and position.ticket == filled.ticket
    order = t.find_by_comment("EURUSD", "tf-2")
    assert isinstance(order, Order) and order.ticket == working.ticket
    assert t.find_by_comment("XAUUSD", "tf-2") is None

    t.close_position(filled.ticket)  # gone, but its entry deal is in the history
    deal = t.find_by_comment("EURUSD", long)
    assert isinstance(deal, Deal) and deal.position == filled.ticket
    assert (deal.entry, deal.volume, deal.price) == ("in", D("0.10"), D("1.08712"))
    assert t.find_by_comment("EURUSD", "tf-3") is None


def test_a_netting_fill_reports_its_position():
    t = terminal(hedging=False)
    first = t.open("EURUSD", "buy", D("0.10"))
    second = t.open("EURUSD", "buy", D("0.10"))
    assert first.position == second.position == first.ticket != second.ticket
    order = t.open("EURUSD", "buy", D("0.1"), type="limit", price=D("1.08500"))
    t.set_price("EURUSD", D("1.08480"), D("1.08492"))
    assert t.history[order.ticket].position == first.ticket
    assert t.positions[0].volume == D("0.30")
