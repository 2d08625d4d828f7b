"""Adapters by venue code, named in settings.BROKER_ADAPTERS."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from brokers.adapters.base import VenueAdapter, VenueError
from brokers.models import BrokerAccount


def available_venues() -> list[str]:
    return sorted(settings.BROKER_ADAPTERS)


def adapter_class(venue: str) -> type[VenueAdapter]:
    path = settings.BROKER_ADAPTERS.get(venue)
    if path is None:
        raise VenueError(
            "venue-unavailable", f"No adapter is configured for venue {venue!r}."
        )
    cls: type[VenueAdapter] = import_string(path)
    return cls


def get_adapter(account: BrokerAccount) -> VenueAdapter:
    return adapter_class(account.venue)(account)
