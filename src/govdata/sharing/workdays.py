"""Deadlines in working days (工作日): China's public holidays and make-up working days (调休) from the
chinesecalendar package; for years it has no data for yet, Saturdays and Sundays are the days off."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import chinese_calendar

from govdata.config import local_tz


def is_working_day(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(start: datetime, days: int) -> datetime:
    """The end (23:59:59 local time) of the ``days``-th working day after ``start``'s local day."""
    day = start.astimezone(local_tz()).date()
    left = max(days, 0)
    while left:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return datetime.combine(day, time(23, 59, 59), tzinfo=local_tz())
