"""No Surprises Act business-day clocks across US federal holidays.

Every expected date below was counted by hand on a calendar (holidays named in the comments),
not taken from the code: 2026 Thanksgiving is Nov 26, Christmas Fri Dec 25, New Year's Day
Fri Jan 1 2027, MLK Day Jan 18 2027, Presidents' Day Feb 15 2027; in 2027 Christmas and New
Year's Day fall on Saturdays and are observed on Fri Dec 24 and Fri Dec 31 2027.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pipeline.reconcile.calendar import (
    business_day_number,
    business_days_after,
    idr_clock,
    is_business_day,
    negotiation_clock,
    notice_deadline,
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


def test_federal_holidays_and_observed_days_are_not_business_days() -> None:
    assert not is_business_day(date(2025, 11, 27))  # Thanksgiving
    assert not is_business_day(date(2026, 11, 26))  # Thanksgiving
    assert is_business_day(date(2026, 11, 27))  # the day after is a business day
    assert not is_business_day(date(2025, 12, 25))  # Christmas
    assert not is_business_day(date(2026, 7, 3))  # July 4 2026 is a Saturday: observed Friday
    assert not is_business_day(date(2027, 12, 24))  # Christmas 2027 observed
    assert not is_business_day(date(2027, 12, 31))  # New Year's Day 2028 observed in 2027
    assert not is_business_day(date(2025, 11, 22))  # Saturday


def test_notice_deadline_across_thanksgiving_christmas_and_new_year() -> None:
    # Received Thu 2026-11-19: day 5 is Wed 11-25, Thanksgiving skipped, day 25 is Thu 12-24,
    # Christmas skipped, day 29 is Thu 12-31, New Year's Day skipped -> day 30 Mon 2027-01-04.
    assert notice_deadline(date(2026, 11, 19)) == date(2027, 1, 4)
    # Counting weekdays only would be three days early.
    assert _weekdays_only(date(2026, 11, 19), 30) == date(2026, 12, 30)


def test_negotiation_period_and_idr_window_follow_the_notice_not_the_payment() -> None:
    # Notice sent Mon 2026-11-23: 11-23/24/25 = days 1-3, 11-27 = 4 (after Thanksgiving),
    # 12-24 = 23, 12-28..31 = 24-27, 2027-01-04/05/06 = 28-30.
    clock = negotiation_clock(date(2026, 11, 23))
    assert clock.negotiation_end == date(2027, 1, 6)
    # IDR: business days 31-34 = Thu 01-07, Fri 01-08, Mon 01-11, Tue 01-12.
    assert (clock.idr_window_start, clock.idr_window_end) == (date(2027, 1, 7), date(2027, 1, 12))
    assert clock.idr_window_open(date(2027, 1, 12))
    assert not clock.idr_window_open(date(2027, 1, 6))  # still negotiating: premature


def test_demo_case_ls0000021_dates() -> None:
    # The 835 paid on Fri 2026-12-11: 12-24 = day 10, 12-28..31 = 11-14, 01-04..08 = 15-19,
    # 01-11..15 = 20-24, MLK Day 01-18, 01-19..22 = 25-28, 01-25 = 29, 01-26 = 30.
    assert notice_deadline(date(2026, 12, 11)) == date(2027, 1, 26)
    # Notice sent Mon 2027-01-11: 01-19 = 6 (MLK), 02-12 = 24, Presidents' Day 02-15,
    # 02-16..19 = 25-28, 02-22 = 29, 02-23 = 30; IDR 02-24, 02-25, 02-26, 03-01.
    clock = negotiation_clock(date(2027, 1, 11))
    assert clock.negotiation_end == date(2027, 2, 23)
    assert (clock.idr_window_start, clock.idr_window_end) == (date(2027, 2, 24), date(2027, 3, 1))


def test_idr_steps_after_initiation_across_the_2027_year_end() -> None:
    # Initiated Wed 2027-12-22: 12-23 = 1, 12-24 observed Christmas, 12-27 = 2, 12-28 = 3.
    clock = idr_clock(date(2027, 12, 22), entity_selected_on=date(2027, 12, 28))
    assert clock.joint_selection_deadline == date(2027, 12, 28)
    # 12-29 = 4, 12-30 = 5, 12-31 observed New Year's Day, 2028-01-03 = 6.
    assert clock.departments_selection_deadline == date(2028, 1, 3)
    # Offers: 10 business days after selection: 12-29, 12-30, 01-03..07, 01-10, 01-11, 01-12.
    assert clock.offer_deadline == date(2028, 1, 12)
    # Determination: 30 after selection, MLK Day 2028-01-17 skipped -> Thu 2028-02-10.
    assert clock.determination_deadline == date(2028, 2, 10)
    decided = idr_clock(date(2027, 12, 22), date(2027, 12, 28), determined_on=date(2028, 2, 10))
    assert decided.payment_due == date(2028, 3, 11)  # 30 calendar days (leap February)


def test_the_period_begins_on_the_day_itself_when_it_is_a_business_day() -> None:
    assert nth_business_day(date(2025, 11, 20), 1) == date(2025, 11, 20)
    # Received on a Saturday: day 1 is the Monday after.
    assert nth_business_day(date(2025, 11, 22), 1) == date(2025, 11, 24)
    # "After" never counts the day itself.
    assert business_days_after(date(2025, 11, 20), 1) == date(2025, 11, 21)
    # Christmas Eve: Christmas and New Year's Day both inside the first week.
    assert nth_business_day(date(2025, 12, 24), 5) == date(2025, 12, 31)
    assert business_day_number(date(2026, 12, 11), date(2027, 1, 26)) == 30
    with pytest.raises(ValueError):
        nth_business_day(date(2025, 1, 2), 0)
