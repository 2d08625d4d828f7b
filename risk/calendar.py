"""Reading economic events from an iCalendar (RFC 5545) file, without a library:
VEVENTs with UID, SUMMARY and DTSTART (UTC, with TZID, or a date)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CURRENCY = re.compile(r"\b(USD|EUR|GBP|JPY|CHF|CAD|AUD|NZD|CNY)\b")


class CalendarError(ValueError):
    pass


@dataclass(frozen=True)
class CalendarEvent:
    uid: str
    name: str
    at: datetime
    impact: str  # high | medium | low
    currency: str


def _unfold(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        if raw.startswith((" ", "\t")) and lines:
            lines[-1] += raw[1:]
        elif raw:
            lines.append(raw)
    return lines


def _when(params: str, value: str) -> datetime:
    try:
        if "VALUE=DATE" in params and "T" not in value:
            return datetime.strptime(value, "%Y%m%d").replace(tzinfo=UTC)
        if value.endswith("Z"):
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        zone = re.search(r"TZID=([^;:]+)", params)
        local = datetime.strptime(value, "%Y%m%dT%H%M%S")
        tz = ZoneInfo(zone.group(1)) if zone else UTC
        return local.replace(tzinfo=tz).astimezone(UTC)
    except (ValueError, ZoneInfoNotFoundError):
        raise CalendarError(f"Unreadable DTSTART {value!r}.") from None


def _impact(fields: dict[str, str]) -> str:
    words = (fields.get("CATEGORIES", "") + " " + fields.get("X-IMPACT", "")).lower()
    for level in ("high", "medium", "low"):
        if level in words:
            return level
    priority = fields.get("PRIORITY", "")
    if priority.isdigit() and int(priority):
        return (
            "high" if int(priority) <= 4 else "medium" if int(priority) == 5 else "low"
        )
    return "high"


def calendar_parse(text: str) -> list[CalendarEvent]:
    """Every VEVENT of the file; raises CalendarError on a broken event."""
    events = []
    fields: dict[str, str] | None = None
    starts: tuple[str, str] | None = None
    for line in _unfold(text):
        name, _, value = line.partition(":")
        key, _, params = name.partition(";")
        key = key.upper()
        if line == "BEGIN:VEVENT":
            fields, starts = {}, None
        elif line == "END:VEVENT" and fields is not None:
            if starts is None or "SUMMARY" not in fields:
                raise CalendarError("An event without DTSTART or SUMMARY.")
            summary = fields["SUMMARY"].replace("\\,", ",").strip()
            at = _when(*starts)
            found = CURRENCY.search(summary + " " + fields.get("CATEGORIES", ""))
            events.append(
                CalendarEvent(
                    uid=fields.get("UID") or f"{summary}@{at.isoformat()}",
                    name=summary[:200],
                    at=at,
                    impact=_impact(fields),
                    currency=fields.get("X-CURRENCY", found.group(1) if found else ""),
                )
            )
            fields = None
        elif fields is not None:
            if key == "DTSTART":
                starts = (params, value.strip())
            else:
                fields[key] = value.strip()
    return events
