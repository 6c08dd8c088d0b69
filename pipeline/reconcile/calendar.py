"""Business-day clocks for the No Surprises Act (DOMAIN.md §9.4, §10).

Business days are Monday–Friday minus US federal holidays (observed dates) from the
``holidays`` package — no hand-written holiday lists.

Open negotiation: the 30-business-day period *beginning on the day* the initial payment or
denial is received, so that day is business day 1 when it is a business day. The federal IDR
may then be initiated in the 4 business days after it ends (business days 31–34).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

__all__ = [
    "IDR_WINDOW_BUSINESS_DAYS",
    "OPEN_NEGOTIATION_BUSINESS_DAYS",
    "NsaClock",
    "business_day_number",
    "is_business_day",
    "nsa_clock",
    "nth_business_day",
]

OPEN_NEGOTIATION_BUSINESS_DAYS = 30
IDR_WINDOW_BUSINESS_DAYS = 4


@lru_cache(maxsize=64)
def _federal_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("US", years=year, observed=True).keys())


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _federal_holidays(day.year)


def nth_business_day(start: date, n: int) -> date:
    """The ``n``-th business day of a period beginning on ``start`` (``start`` counts if open)."""
    if n < 1:
        raise ValueError("n must be >= 1")
    day = start
    count = 0
    while True:
        if is_business_day(day):
            count += 1
            if count == n:
                return day
        day += timedelta(days=1)


def business_day_number(start: date, day: date) -> int:
    """How many business days of a period beginning on ``start`` have passed by ``day``."""
    count = 0
    cursor = start
    while cursor <= day:
        count += is_business_day(cursor)
        cursor += timedelta(days=1)
    return count


@dataclass(frozen=True)
class NsaClock:
    payment_date: date
    open_negotiation_deadline: date  # business day 30
    idr_window_start: date  # business day 31
    idr_window_end: date  # business day 34


def nsa_clock(payment_date: date) -> NsaClock:
    last = OPEN_NEGOTIATION_BUSINESS_DAYS
    return NsaClock(
        payment_date=payment_date,
        open_negotiation_deadline=nth_business_day(payment_date, last),
        idr_window_start=nth_business_day(payment_date, last + 1),
        idr_window_end=nth_business_day(payment_date, last + IDR_WINDOW_BUSINESS_DAYS),
    )
