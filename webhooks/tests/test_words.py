"""Words and numbers as a trader reads them: one vocabulary, plain decimals,
sentences that say what is wrong, accounts with names of their own."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from common.numbers import plain
from risk.models import RiskConfig
from testkit import alert, client_for, post_alert
from webhooks.models import Signal


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("2.00000000"), "2"),
        (Decimal("2.40000000000000"), "2.4"),
        (Decimal("10"), "10"),  # Decimal("10").normalize() prints 1E+1
        (Decimal("1E+3"), "1000"),
        (Decimal("-0.0"), "0"),
        (Decimal("0.00025000"), "0.00025"),
        (7, "7"),
    ],
)
def test_plain_decimals(value, text):
    assert plain(value) == text


def test_a_signal_every_account_refused_says_rejected_as_its_account_row_does(world):
    RiskConfig.objects.create(account=world.account, max_order_quantity=1)
    signal = alert(world.api_key, qty=2)
    assert (signal.status, signal.error_code) == ("rejected", "risk:max-order-quantity")
    assert signal.error_message == (
        "The order of 2 exceeds the per-order limit of 1."
    )  # not 2.00000000
    page = client_for(world.owner).get("/signals/").content.decode()
    row = re.search(rf'<tr[^>]*data-signal="{signal.pk}".*?</tr>', page, re.S)
    assert row, page[:2000]
    assert "Failed" not in row.group(0)
    assert row.group(0).count(">Rejected<") == 2  # the signal and its account


def test_an_error_is_failed_and_a_refusal_is_rejected_in_the_same_words():
    assert Signal.Status.REJECTED.label == "Rejected"
    assert Signal.Status.FAILED.label == "Failed"


@pytest.mark.parametrize(
    ("qty", "sentence"),
    [
        ("1e10", "The quantity '1e10' is too large: at most 1000000."),
        ("-3", "The quantity '-3' must be above zero."),
        ("lots", "The quantity 'lots' is not a number TradeFlow can read."),
    ],
)
def test_a_bad_quantity_says_which_way_it_is_wrong(world, qty, sentence):
    response = post_alert(
        world.api_key, {"action": "buy", "symbol": "BTCUSDT", "qty": qty}
    )
    assert response.status_code == 422
    assert (response.json()["code"], response.json()["detail"]) == (
        "invalid-quantity",
        sentence,
    )


def test_new_paper_accounts_are_named_by_their_balance_and_never_twice(world):
    client = client_for(world.owner)
    names = []
    for balance in ("50000", "50000", "25000", "1000000", "12345.50"):
        response = client.post(
            "/accounts/new/",
            {"name": "", "initial_balance": balance, "currency": "USD"},
        )
        assert response.status_code == 302
        names.append(world.workspace.broker_accounts.latest("pk").name)
    assert names == [  # the world's own account is "Paper 50K"
        "Paper 50K 2",
        "Paper 50K 3",
        "Paper 25K",
        "Paper 1M",
        "Paper 12,345.5",
    ]


def test_the_api_names_an_unnamed_account_the_same_way(world):
    from testkit import api_client_for

    response = api_client_for(world.owner).post(
        "/register/paper", {"initial_balance": "100000"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "Paper 100K"
