from __future__ import annotations

import logging

from tradeflow.logfilters import RedactKeys


def test_webhook_keys_in_log_lines_are_cut_to_their_prefix():
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Conflict: %s",
        ("/webhook/tradingview/tfk_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",),
        None,
    )
    assert RedactKeys().filter(record)
    assert record.getMessage() == "Conflict: /webhook/tradingview/tfk_abcdefgh…"
