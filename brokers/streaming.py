"""Where a real venue's account stands between its stream and polling, for pages.

The venue-streams process writes each account's stream state; while it is fresh
the account follows the venue within a second, else the beat's polling is all
there is (every ACCOUNT_SYNC_SECONDS)."""

from __future__ import annotations

from django.core.cache import cache

STATE_SECONDS = 120  # a state the process stopped refreshing is stale past this
STATES = {
    "live": "Live stream",
    "reconnecting": "Stream reconnecting, polling",
    "displaced": "Signed out by another session, polling",
}


def _key(account_id: int) -> str:
    return f"venue-stream:{account_id}"


def stream_state_set(account_id: int, state: str) -> None:
    cache.set(_key(account_id), state, STATE_SECONDS)


def stream_state(account_id: int) -> str | None:
    """`live`, `reconnecting` or `displaced` while a stream holds the account;
    None when polling is all there is."""
    state: str | None = cache.get(_key(account_id))
    return state


def feed_label(account_id: int, venue: str) -> str:
    """What the page says of the account's feed: the paper venue is in-house."""
    if venue == "paper":
        return ""
    state = stream_state(account_id)
    return STATES.get(state or "", "Polling")
