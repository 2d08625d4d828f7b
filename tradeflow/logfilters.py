"""Log filters."""

from __future__ import annotations

import logging
import re

KEY = re.compile(r"tfk_[A-Za-z0-9_\-]{8,}")


class RedactKeys(logging.Filter):
    """Replace webhook keys (`tfk_…`) in a record's message with their prefix."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "tfk_" in message:
            record.msg = KEY.sub(lambda m: m.group()[:12] + "…", message)
            record.args = None
        return True
