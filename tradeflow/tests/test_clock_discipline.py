"""A test that names a date runs on the frozen clock: nothing may fail because
the calendar moved (a lock measured at a fixed Monday but traded at the real
"now" went red once that Monday had passed)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from testkit.clock import DEFAULT_NOW
from testkit.processes import ROOT

DATE = re.compile(r"\b(?:date|datetime)\(20\d\d|[\"']20\d\d-\d\d-\d\d")
FROZEN = re.compile(r"usefixtures\([^)]*\"clock\"|\bclock\b[,)]|\bfrozen\(")


def test_every_test_module_that_names_a_date_freezes_the_clock():
    unfrozen = [
        str(path.relative_to(ROOT))
        for path in sorted(ROOT.glob("*/**/tests/test_*.py"))
        if ".venv" not in path.parts
        and DATE.search(text := path.read_text())
        and not FROZEN.search(text)
    ]
    assert unfrozen == []


def test_the_clock_fixture_freezes_every_reading_of_now(clock):
    from django.utils import timezone

    assert timezone.now() == DEFAULT_NOW == datetime.now(UTC)
    clock.advance(minutes=5)
    assert (timezone.now() - DEFAULT_NOW).total_seconds() == 300
