"""An injectable clock.

Season dates, payment deadlines, late fees, SLAs and notice validity all depend on "now";
services take a ``Clock`` so tests can fix time instead of patching ``datetime``.
All instants are timezone-aware UTC; ``local_date`` answers in the company's timezone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

COMPANY_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that only moves when told to."""

    current: datetime = field(default_factory=lambda: datetime(2026, 11, 22, 2, 0, tzinfo=UTC))

    def __post_init__(self) -> None:
        if self.current.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.current = moment


def local_now(clock: Clock, tz: ZoneInfo = COMPANY_TZ) -> datetime:
    return clock.now().astimezone(tz)


def local_date(clock: Clock, tz: ZoneInfo = COMPANY_TZ) -> date:
    return local_now(clock, tz).date()


def at_local(day: date, hour: int = 0, minute: int = 0, tz: ZoneInfo = COMPANY_TZ) -> datetime:
    """The UTC instant of a wall-clock time in the company's timezone."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)
