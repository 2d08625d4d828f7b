"""`manage.py economic_calendar_import FILE.ics`: add or update news events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from risk.calendar import CalendarError
from risk.services import economic_calendar_import


class Command(BaseCommand):
    help = "Import an iCalendar file of economic events (idempotent by UID)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            text = Path(options["path"]).read_text(encoding="utf-8")
            created, updated = economic_calendar_import(text=text)
        except (OSError, CalendarError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{created} events added, {updated} updated.")
