"""Log redaction: no webhook key (`tfk_…`) leaves a process in a log line."""

from __future__ import annotations

import logging

from webhooks.intake.keyformat import keys_redacted

# Enough of a key to tell keys apart, not enough to use one.
KEPT = 12


class RedactKeys(logging.Filter):
    """Replace keys in a record's message with their prefix (for handlers and
    loggers whose formatter is not ours, e.g. a server's access log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "tfk_" in message:
            record.msg = keys_redacted(message, keep=KEPT)
            record.args = None
        return True


class RedactingFormatter(logging.Formatter):
    """The whole formatted record redacted: message, exception and stack text."""

    def format(self, record: logging.LogRecord) -> str:
        return keys_redacted(super().format(record), keep=KEPT)
