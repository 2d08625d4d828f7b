"""Performance metrics over closed round trips, checked against sums done by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from paperbroker.models import PaperAccount, PaperTrade
from paperbroker.selectors import max_drawdown, metrics

# Names dates: runs on the frozen clock (testkit.clock), whatever today is.
pytestmark = pytest.mark.usefixtures("clock")

START = datetime(2025, 1, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def paper(world) -> PaperAccount:
    return world.account.paper


def book(
    account: PaperAccount, *trades: tuple[str, str] | tuple[str, str, int]
) -> None:
    """Closed trades, one a minute: (net pnl, quantity[, seconds held])."""
    for index, spec in enumerate(trades):
        pnl, quantity = Decimal(spec[0]), Decimal(spec[1])
        held = timedelta(seconds=spec[2] if len(spec) == 3 else 60)
        closed = START + timedelta(minutes=5 * index)
        PaperTrade.objects.create(
            account=account,
            symbol="BTCUSDT",
            direction="long",
            quantity=quantity,
            entry_price=Decimal(100),
            exit_price=Decimal(100),
            gross_pnl=pnl,
            costs=Decimal(0),
            pnl=pnl,
            opened_at=closed - held,
            closed_at=closed,
        )


def test_a_mix_of_wins_losses_and_a_breakeven_matches_the_hand_computation(paper):
    paper.commissions_paid = Decimal("12.34")
    paper.save()
    # Cumulative: 100, 50, -30, 0, 0, 200, 80. The deepest fall is 100 -> -30.
    book(
        paper,
        ("100", "1"),
        ("-50", "2"),
        ("-80", "1"),
        ("30", "1"),
        ("0", "0.5"),
        ("200", "3"),
        ("-120", "1", 180),
    )
    at = START + timedelta(hours=5)
    result = metrics(paper, at=at)
    assert result == {
        "account_id": f"paper_{paper.broker_account_id}",
        "period_start": paper.created_at,
        "period_end": at,
        "total_trades": 7,
        "winning_trades": 3,
        "losing_trades": 3,
        "win_rate": Decimal("42.86"),  # 3 / 7
        "avg_win": Decimal("110.00"),  # 330 / 3
        "avg_loss": Decimal("-83.33"),  # -250 / 3
        "largest_win": Decimal("200.00"),
        "largest_loss": Decimal("-120.00"),
        "total_pnl": Decimal("80.00"),
        "gross_profit": Decimal("330.00"),
        "gross_loss": Decimal("-250.00"),
        "profit_factor": Decimal("1.32"),  # 330 / 250
        "max_drawdown": Decimal("-130.00"),
        "total_commissions": Decimal("12.34"),
        "total_volume": Decimal("9.5"),
        "avg_trade_duration": Decimal("77.14"),  # (6 * 60 + 180) / 7
    }


def test_an_account_without_trades_has_zeros_and_no_ratio_or_duration(paper):
    result = metrics(paper)
    assert result["total_trades"] == result["winning_trades"] == 0
    assert result["win_rate"] == result["total_pnl"] == result["max_drawdown"] == 0
    assert result["avg_win"] == result["avg_loss"] == result["total_volume"] == 0
    assert result["profit_factor"] is None
    assert result["avg_trade_duration"] is None
    assert result["period_start"] == paper.created_at


def test_only_winners_give_no_profit_factor_and_no_drawdown(paper):
    book(paper, ("10", "1"), ("25.50", "1"))
    result = metrics(paper)
    assert (result["win_rate"], result["profit_factor"], result["max_drawdown"]) == (
        Decimal("100.00"),
        None,
        Decimal("0.00"),
    )
    assert (result["avg_loss"], result["largest_loss"]) == (0, 0)


def test_a_first_trade_that_loses_is_a_drawdown_from_the_starting_point(paper):
    book(paper, ("-40", "1"), ("10", "1"))
    assert metrics(paper)["max_drawdown"] == Decimal("-40.00")


def test_breakeven_trades_count_as_trades_but_neither_win_nor_lose(paper):
    book(paper, ("0", "1"), ("0", "2"))
    result = metrics(paper)
    assert (result["total_trades"], result["winning_trades"]) == (2, 0)
    assert (result["losing_trades"], result["win_rate"]) == (0, Decimal("0.00"))
    assert result["total_volume"] == Decimal(3)


def test_money_rounds_half_up_to_cents_and_rates_to_two_places(paper):
    book(paper, ("0.01", "1"), ("0.02", "1"), ("-0.005", "1"))
    result = metrics(paper)
    assert result["avg_win"] == Decimal("0.02")  # 0.015
    assert result["largest_loss"] == Decimal("-0.01")  # -0.005
    assert result["win_rate"] == Decimal("66.67")
    assert result["profit_factor"] == Decimal("6.00")  # 0.03 / 0.005


def test_trades_are_taken_in_closing_order_for_the_drawdown(paper):
    book(paper, ("50", "1"))
    PaperTrade.objects.create(  # closed before the first one, though stored later
        account=paper,
        symbol="ETHUSDT",
        direction="short",
        quantity=Decimal(1),
        entry_price=Decimal(1),
        exit_price=Decimal(1),
        gross_pnl=Decimal(-70),
        costs=Decimal(0),
        pnl=Decimal(-70),
        opened_at=START - timedelta(hours=2),
        closed_at=START - timedelta(hours=1),
    )
    assert metrics(paper)["max_drawdown"] == Decimal("-70.00")


def test_after_a_reset_the_period_starts_at_the_reset(paper):
    paper.reset_at = START
    paper.save()
    assert metrics(paper)["period_start"] == START


@pytest.mark.parametrize(
    ("pnls", "expected"),
    [
        ([], "0"),
        (["5", "5"], "0"),
        (["10", "-3", "-4", "20", "-25"], "-25"),
        (["-1", "-2", "-3"], "-6"),
        (["100", "-60", "50", "-80", "10"], "-90"),
    ],
)
def test_max_drawdown_is_the_largest_fall_from_a_running_peak(pnls, expected):
    assert max_drawdown(Decimal(p) for p in pnls) == Decimal(expected)
