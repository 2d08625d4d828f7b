"""Contract names both ways, and error codes read per endpoint."""

from __future__ import annotations

from datetime import date

import pytest

from brokers.venues.names import (
    contract_code,
    contract_name,
    is_contract_code,
    names_match,
)
from brokers.venues.projectx.mapping import problem

# Names dates: the frozen clock (testkit.clock), as every such module.
pytestmark = pytest.mark.usefixtures("clock")


@pytest.mark.parametrize(
    ("name", "on", "code"),
    [
        ("MNQZ6", date(2026, 11, 24), "MNQZ26"),
        ("MNQH7", date(2026, 11, 24), "MNQH27"),  # next year's March
        ("ESZ5", date(2026, 1, 5), "ESZ25"),  # a month gone, not 2035
        ("ENQH25", date(2026, 1, 5), "ENQH25"),  # older two-digit names
        ("6EZ6", date(2026, 11, 24), "6EZ26"),
    ],
)
def test_a_projectx_name_reads_back_to_our_code_in_the_nearest_decade(name, on, code):
    assert contract_code(name, on) == code


def test_our_code_searches_by_root_and_matches_either_name():
    assert contract_name("MNQZ26") == ("MNQ", "MNQZ6")
    assert names_match("MNQZ6", "MNQZ26") and names_match("MNQZ26", "MNQZ26")
    assert not names_match("MNQZ6", "MNQH26") and not names_match("NQZ6", "MNQZ26")
    assert is_contract_code("MNQZ26") and not is_contract_code("MNQZ2026")
    assert not is_contract_code("MNQ1!") and not is_contract_code("BTCUSDT")


def test_the_same_error_code_means_what_its_endpoint_says():
    assert problem("Order/place", 2, None).code == "order-rejected"
    assert problem("Order/cancel", 2, None).code == "order-not-found"
    assert problem("Order/cancel", 6, "Live accounts not supported").code == (
        "cancel-not-allowed"
    )
    unknown = problem("Order/place", 99, None)
    assert unknown.code == "venue-error" and unknown.transient
    said = problem("Order/place", 2, "Invalid symbol")
    assert said.sentence.endswith("ProjectX says: Invalid symbol")
