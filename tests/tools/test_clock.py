from datetime import UTC, date, datetime, timedelta

import pytest

from tools.clock import FixedClock, at_local, local_date


def test_local_date_uses_company_timezone() -> None:
    # 16:30 UTC on 14 Nov is 00:30 on 15 Nov in Shanghai: the heat is already on.
    clock = FixedClock(datetime(2026, 11, 14, 16, 30, tzinfo=UTC))
    assert local_date(clock) == date(2026, 11, 15)


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(datetime(2026, 11, 22, tzinfo=UTC))
    before = clock.now()
    clock.advance(timedelta(hours=2))
    assert clock.now() - before == timedelta(hours=2)
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 1, 1))


def test_at_local_converts_wall_clock_to_utc() -> None:
    assert at_local(date(2026, 11, 15)) == datetime(2026, 11, 14, 16, 0, tzinfo=UTC)
