"""`manage.py venue_streams`: the realtime venue connections (webhooks.streams)."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.core.management.base import BaseCommand

from webhooks.streams import VenueStreams


class Command(BaseCommand):
    help = "Hold the venues' realtime connections and record what they say."

    def handle(self, *args: Any, **options: Any) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        self.stdout.write("[streams] venue streams ready")
        await VenueStreams().run(stop)
