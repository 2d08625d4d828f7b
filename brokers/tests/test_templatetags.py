from __future__ import annotations

from decimal import Decimal

import pytest

from brokers.templatetags.trading import plain


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("10.00000000"), "10"),
        (Decimal("100"), "100"),
        (Decimal("21000.250000"), "21000.25"),
        (Decimal("-3.50"), "-3.5"),
        (Decimal("0E-8"), "0"),
        (None, "—"),
    ],
)
def test_quantities_and_prices_show_without_zeros_or_exponents(value, shown):
    assert plain(value) == shown
