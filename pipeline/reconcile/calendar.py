"""Business-day clocks for the No Surprises Act (DOMAIN.md §9.4, §10; 45 CFR 149.510).

Business days are Monday–Friday minus US federal holidays (observed dates) from the
``holidays`` package — no hand-written holiday lists.

Two clocks, each started by a recorded event, never by a guess:

- **Notice clock** — the open negotiation notice may be sent during the 30-business-day
  period *beginning on the day* the initial payment or notice of denial is received
  (that day is business day 1 when it is a business day).
- **Negotiation clock** — the open negotiation period is the 30 business days beginning on
  the day the notice is sent; the federal IDR may be initiated during the 4 business days
  beginning on the 31st (business days 31–34). Filing earlier is premature, later is late.

After initiation the parties select a certified IDR entity within 3 business days (else the
Departments select by the 6th); offers are due 10 business days after selection; the entity
decides within 30 business days of selection; payment is due 30 calendar days after the
determination. "Within N business days after X" counts from the day after X.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

__all__ = [
    "ENTITY_SELECTION_BUSINESS_DAYS",
    "IDR_WINDOW_BUSINESS_DAYS",
    "NOTICE_BUSINESS_DAYS",
    "OPEN_NEGOTIATION_BUSINESS_DAYS",
    "IdrClock",
    "NegotiationClock",
    "business_day_number",
    "business_days_after",
    "idr_clock",
    "is_business_day",
    "negotiation_clock",
    "notice_deadline",
    "nth_business_day",
]

NOTICE_BUSINESS_DAYS = 30
OPEN_NEGOTIATION_BUSINESS_DAYS = 30
IDR_WINDOW_BUSINESS_DAYS = 4
ENTITY_SELECTION_BUSINESS_DAYS = 3
DEPARTMENTS_SELECTION_BUSINESS_DAYS = 6
OFFER_BUSINESS_DAYS = 10
DETERMINATION_BUSINESS_DAYS = 30
PAYMENT_CALENDAR_DAYS = 30


@lru_cache(maxsize=64)
def _federal_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("US", years=year, observed=True).keys())


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _federal_holidays(day.year)


def nth_business_day(start: date, n: int) -> date:
    """The ``n``-th business day of a period beginning on ``start`` (``start`` counts if open)."""
    if n < 1:
        raise ValueError("n must be >= 1")
    return _nth_business_day(start, n)


@lru_cache(maxsize=8192)
def _nth_business_day(start: date, n: int) -> date:
    # Remembered: a night asks the same few receipt days' deadlines for thousands of claims.
    day = start
    count = 0
    while True:
        if is_business_day(day):
            count += 1
            if count == n:
                return day
        day += timedelta(days=1)


def business_days_after(day: date, n: int) -> date:
    """The ``n``-th business day after ``day`` (``day`` itself never counts)."""
    return nth_business_day(day + timedelta(days=1), n)


def business_day_number(start: date, day: date) -> int:
    """How many business days of a period beginning on ``start`` have passed by ``day``."""
    count = 0
    cursor = start
    while cursor <= day:
        count += is_business_day(cursor)
        cursor += timedelta(days=1)
    return count


def notice_deadline(received_on: date) -> date:
    """Last day to send the open negotiation notice (business day 30 from the receipt)."""
    return nth_business_day(received_on, NOTICE_BUSINESS_DAYS)


@dataclass(frozen=True)
class NegotiationClock:
    """Started by the day the open negotiation notice is sent."""

    notice_sent_on: date
    negotiation_end: date  # business day 30
    idr_window_start: date  # business day 31
    idr_window_end: date  # business day 34

    def idr_window_open(self, day: date) -> bool:
        return self.idr_window_start <= day <= self.idr_window_end


def negotiation_clock(notice_sent_on: date) -> NegotiationClock:
    last = OPEN_NEGOTIATION_BUSINESS_DAYS
    return NegotiationClock(
        notice_sent_on=notice_sent_on,
        negotiation_end=nth_business_day(notice_sent_on, last),
        idr_window_start=nth_business_day(notice_sent_on, last + 1),
        idr_window_end=nth_business_day(notice_sent_on, last + IDR_WINDOW_BUSINESS_DAYS),
    )


@dataclass(frozen=True)
class IdrClock:
    """Started by the day the federal IDR was initiated (and, later, the entity selected)."""

    initiated_on: date
    joint_selection_deadline: date  # 3 business days after initiation
    departments_selection_deadline: date  # 6 business days after, when the parties did not
    entity_selected_on: date | None = None
    offer_deadline: date | None = None  # 10 business days after selection
    determination_deadline: date | None = None  # 30 business days after selection
    determined_on: date | None = None
    payment_due: date | None = None  # 30 calendar days after the determination


def idr_clock(
    initiated_on: date, entity_selected_on: date | None = None, determined_on: date | None = None
) -> IdrClock:
    selected = entity_selected_on
    return IdrClock(
        initiated_on=initiated_on,
        joint_selection_deadline=business_days_after(initiated_on, ENTITY_SELECTION_BUSINESS_DAYS),
        departments_selection_deadline=business_days_after(
            initiated_on, DEPARTMENTS_SELECTION_BUSINESS_DAYS
        ),
        entity_selected_on=selected,
        offer_deadline=business_days_after(selected, OFFER_BUSINESS_DAYS) if selected else None,
        determination_deadline=business_days_after(selected, DETERMINATION_BUSINESS_DAYS)
        if selected
        else None,
        determined_on=determined_on,
        payment_due=determined_on + timedelta(days=PAYMENT_CALENDAR_DAYS)
        if determined_on
        else None,
    )
