"""No Surprises Act business-day clocks across US federal holidays."""

from __future__ import annotations

from datetime import date, timedelta

from pipeline.reconcile.calendar import (
    business_day_number,
    is_business_day,
    nsa_clock,
    nth_business_day,
)


def _weekdays_only(start: date, n: int) -> date:
    day, count = start, 0
    while True:
        if day.weekday() < 5:
            count += 1
            if count == n:
                return day
        day += timedelta(days=1)


def test_thanksgiving_christmas_and_new_year_move_the_deadline() -> None:
    clock = nsa_clock(date(2025, 11, 20))  # Thursday, a week before Thanksgiving
    assert clock.open_negotiation_deadline == date(2026, 1, 5)
    assert (clock.idr_window_start, clock.idr_window_end) == (date(2026, 1, 6), date(2026, 1, 9))
    # Three holidays fall inside: counting weekdays only would end on New Year's Eve.
    assert _weekdays_only(date(2025, 11, 20), 30) == date(2025, 12, 31)


def test_federal_holidays_and_observed_days_are_not_business_days() -> None:
    assert not is_business_day(date(2025, 11, 27))  # Thanksgiving
    assert not is_business_day(date(2025, 12, 25))  # Christmas
    assert not is_business_day(date(2026, 7, 3))  # July 4 2026 is a Saturday: observed Friday
    assert not is_business_day(date(2025, 11, 22))  # Saturday
    assert is_business_day(date(2025, 11, 28))


def test_the_period_begins_on_the_payment_day() -> None:
    assert nth_business_day(date(2025, 11, 20), 1) == date(2025, 11, 20)
    # Paid on a Saturday: day 1 is the Monday after.
    assert nth_business_day(date(2025, 11, 22), 1) == date(2025, 11, 24)
    assert business_day_number(date(2025, 11, 20), date(2026, 1, 5)) == 30
    # Christmas Eve payment: Christmas and New Year's Day both inside the first week.
    assert nth_business_day(date(2025, 12, 24), 5) == date(2025, 12, 31)
