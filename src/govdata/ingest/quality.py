"""Quality scores (数据质量评价), 0–100 per dimension and overall.

- completeness 完整性: rows with every required item filled;
- validity 有效性: rows whose every value has the right type, length, code and format (ID numbers, credit
  codes, region codes, dates …), and that parse into the header's columns;
- uniqueness 唯一性: rows whose key is not a repeat;
- consistency 一致性: rows that satisfy the cross-field rules (e.g. birth date agrees with the ID number);
- timeliness 及时性: whether the data arrived within its update cycle — 100 when the time since the previous
  version is within the cycle, falling linearly to 0 at twice the cycle; the current timeliness of a
  resource decays the same way from its latest version to now.

The overall score weighs them 20/30/15/15/20: validity weighs most because invalid values mislead users,
completeness and timeliness next because they decide whether the data can be used at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta

WEIGHTS = {"completeness": 0.20, "validity": 0.30, "uniqueness": 0.15, "consistency": 0.15, "timeliness": 0.20}
CYCLE_DAYS = {"realtime": 1, "daily": 1, "weekly": 7, "monthly": 31, "quarterly": 92, "half_yearly": 183,
              "yearly": 366}
LABELS = {"completeness": "完整性", "validity": "有效性", "uniqueness": "唯一性", "consistency": "一致性",
          "timeliness": "及时性", "score": "综合得分"}


def timeliness(update_cycle: str | None, previous: datetime | None, now: datetime) -> float:
    if previous is None:
        return 100.0
    cycle = timedelta(days=CYCLE_DAYS.get(update_cycle or "", 31))
    late = (now - previous) - cycle
    if late <= timedelta(0):
        return 100.0
    return round(max(0.0, 100.0 * (1 - late / cycle)), 2)


def overall(scores: dict[str, float]) -> float:
    return round(sum(scores.get(dim, 0.0) * weight for dim, weight in WEIGHTS.items()), 2)


def with_overall(dimensions: dict[str, float], timely: float) -> dict[str, float]:
    scores = {**dimensions, "timeliness": timely}
    return {**{dim: scores.get(dim, 0.0) for dim in WEIGHTS}, "score": overall(scores)}
