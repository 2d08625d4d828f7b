from __future__ import annotations

from decimal import Decimal

from django import forms

CURRENCIES = [
    ("USD", "USD"),
    ("EUR", "EUR"),
    ("GBP", "GBP"),
    ("CHF", "CHF"),
    ("JPY", "JPY"),
    ("AUD", "AUD"),
    ("CAD", "CAD"),
]


class PaperAccountForm(forms.Form):
    name = forms.CharField(max_length=120, initial="Paper account")
    initial_balance = forms.DecimalField(
        min_value=Decimal("1"),
        max_digits=14,
        decimal_places=2,
        initial=Decimal("50000"),
    )
    currency = forms.ChoiceField(choices=CURRENCIES, initial="USD")
