"""The monthly evaluation (评价): requests replayed into March 2026 through the sharing service, gateway calls
counted by the audit hook ``sharing.stats.count_calls`` with the records the gateway writes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from govdata.config import local_tz
from govdata.errors import AppError
from govdata.ingest import dashboard
from govdata.sharing import evaluation, grants
from govdata.sharing import service as sharing
from govdata.sharing.models import Grant
from govdata.sharing.schemas import Decision, RequestAmend
from govdata.sharing.stats import count_calls
from tests.factories import principal_of, publish, resource_spec, token_for
from tests.sharing.fixtures import ask, grant

MONTH = "2026-03"


def at(day: int, hour: int = 9, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=local_tz())


def replay(db, req, *times: datetime) -> None:
    """Move a request's history to ``times`` (one per event, in order), as if it had happened then."""
    events = sharing.events_of(db, req.id)
    assert len(events) == len(times), [e.action for e in events]
    req.provider_decided_at = None
    for event, when in zip(events, times, strict=True):
        event.at = when
        if event.stage == "pending_provider" and event.action in ("approve", "reject"):
            req.provider_decided_at = req.provider_decided_at or when
    req.created_at = times[0]
    if req.grant_id:
        row = db.get(Grant, req.grant_id)
        row.starts_at, row.created_at, row.expires_at = times[-1], times[-1], times[-1] + timedelta(days=req.days)
    db.commit()


def call(outcome: str, consumer: str, resource: str, ms: float, day: str, *, provider: str = "GA", rows: int = 0,
         grant_id: int | None = None) -> dict:
    extra = {"ms": ms, "day": day, **({"grant_id": grant_id} if grant_id else {})}
    return {"kind": "exchange.call", "outcome": outcome, "consumer_org": consumer, "provider_org": provider,
            "resource": resource, "rows": rows, "extra": extra, "items": [], "query": {}, "purpose": "出生登记"}


@pytest.fixture
def march(db, wj, jy, collected, open_resource):
    """GA's month: A granted in a day, B rejected late, C still waiting past its deadline, D unconditional
    (granted at once), E withdrawn in time; WJ provides a resource GA calls. Calls on 5 and 6 March."""
    ga = principal_of(db, "ga_admin")
    a = grant(db, wj, collected, daily_quota=100)
    replay(db, a, at(2), at(3), at(3, 10), at(3, 10))
    b = ask(db, jy, collected)
    sharing.decide(db, ga, b.id, Decision(decision="reject", comment="用途与所需信息项不符"))
    replay(db, b, at(9), at(19))
    c = ask(db, wj, collected)
    replay(db, c, at(11))
    d = ask(db, wj, open_resource)
    replay(db, d, at(4), at(4))
    e = ask(db, jy, collected)
    sharing.withdraw(db, jy, e.id, "不再需要")
    replay(db, e, at(12), at(13))
    births = publish(db, resource_spec())  # WJ's
    records = [call("ok", "WJ", collected, 5, "2026-03-05", rows=1, grant_id=a.grant_id) for _ in range(50)]
    records += [call("ok", "WJ", collected, 30, "2026-03-05", rows=2, grant_id=a.grant_id) for _ in range(10)]
    records += [call("ok", "WJ", collected, 30, "2026-03-06", rows=2, grant_id=a.grant_id) for _ in range(30)]
    records += [call("provider_timeout", "WJ", collected, 2000, "2026-03-06") for _ in range(5)]
    records += [call("quota_exceeded", "WJ", collected, 1, "2026-03-06") for _ in range(2)]
    records += [call("not_granted", "CZQ-JY", collected, 1, "2026-03-06") for _ in range(5)]
    records += [call("ok", "GA", births, 8, "2026-03-06", provider="WJ", rows=1) for _ in range(4)]
    records += [call("ok", "WJ", collected, 5, "2026-04-01", rows=1)]  # next month
    count_calls(db, records)
    db.commit()
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "births": births}


def row_of(rows: list[dict], org: str) -> dict:
    return next(r for r in rows if r["org"] == org)


def test_provider_figures(db, march):
    report = evaluation.monthly(db, MONTH)
    ga = row_of(report["providers"], "GA")
    assert (ga["received"], ga["conditional"], ga["decided"], ga["open"]) == (5, 4, 2, 1)
    assert (ga["granted"], ga["rejected"], ga["withdrawn"]) == (2, 1, 1)
    assert (ga["decide_hours_avg"], ga["decide_hours_median"]) == (132.0, 132.0)  # 24 h and 240 h
    assert ga["overdue"] == 2  # B decided after 16 March, C still waiting; E was withdrawn in time
    assert ga["on_time_rate"] == 33.3  # of A, B, C only A met its deadline
    assert ga["approval_rate"] == 66.7  # A and D of A, B, D; the withdrawn E does not count
    quality = row_of(dashboard.department_ranking(db), "GA")["score"]
    assert ga["quality"] == quality
    # 90 ok and 5 timeouts served; the 7 refusals are the consumers' and do not count against GA.
    assert (ga["calls"], ga["calls_ok"], ga["failures"], ga["rows"]) == (102, 90, 5, 130)
    assert ga["availability"] == 94.7
    assert ga["latency_avg_ms"] == round((50 * 5 + 40 * 30 + 5 * 2000) / 95, 1)
    assert ga["latency_p95_ms"] == 1000.0  # the 95th percentile falls among the timeouts: the last finite bound
    expected = (0.3 * 33.3 + 0.2 * 66.7 + 0.3 * quality + 0.2 * 94.7)
    assert ga["score"] == pytest.approx(round(expected, 1), abs=0.05)
    totals = report["totals"]
    assert (totals["requests"], totals["granted"], totals["calls"], totals["calls_ok"]) == (5, 2, 106, 94)


def test_ranks_leave_out_figures_without_data(db, march):
    providers = evaluation.monthly(db, MONTH)["providers"]
    wj = row_of(providers, "WJ")
    # No requests and no data versions: only availability counts, its weight scaled up to 100 %.
    assert (wj["received"], wj["on_time_rate"], wj["approval_rate"], wj["quality"]) == (0, None, None, None)
    assert (wj["availability"], wj["score"], wj["rank"]) == (100.0, 100.0, 1)
    assert [p["org"] for p in providers] == ["WJ", "GA"] and row_of(providers, "GA")["rank"] == 2


def test_consumer_figures(db, march):
    consumers = evaluation.monthly(db, MONTH)["consumers"]
    wj = row_of(consumers, "WJ")
    assert (wj["grants_held"], wj["grants_used"], wj["use_rate"]) == (2, 1, 50.0)  # the open resource unused
    assert (wj["calls"], wj["calls_ok"], wj["rows"]) == (97, 90, 130)
    assert wj["refusals"] == {"quota_exceeded": 2}  # the provider's timeouts are not refusals
    assert wj["quota_peak"] == 60.0  # 60 calls of 100 on 5 March
    jy = row_of(consumers, "CZQ-JY")
    assert (jy["grants_held"], jy["use_rate"], jy["refusals"], jy["quota_peak"]) == (0, None, {"not_granted": 5}, None)
    assert [c["org"] for c in consumers] == ["WJ", "CZQ-JY", "GA"]  # by calls


def test_a_grant_revoked_before_the_month_is_not_held(db, march):
    grants.revoke(db, principal_of(db, "ga_admin"), march["a"].grant_id, "项目结束")
    db.get(Grant, march["a"].grant_id).revoked_at = at(28, month=2)
    db.commit()
    wj = row_of(evaluation.monthly(db, MONTH)["consumers"], "WJ")
    assert (wj["grants_held"], wj["grants_used"]) == (1, 0)


def test_the_applicants_time_is_not_the_providers(db, wj, people):
    """Sent back on day 1, amended three weeks later, approved the next day: not overdue."""
    ga = principal_of(db, "ga_admin")
    req = ask(db, wj, people)
    sharing.decide(db, ga, req.id, Decision(decision="request_changes", comment="请补充法律依据"))
    sharing.amend(db, wj, req.id, RequestAmend(basis="《出生医学证明管理办法》"))
    sharing.decide(db, ga, req.id, Decision(decision="approve"))
    replay(db, req, at(2), at(3), at(24), at(25))
    ga_row = row_of(evaluation.monthly(db, MONTH)["providers"], "GA")
    assert (ga_row["overdue"], ga_row["on_time_rate"], ga_row["decided"]) == (0, 100.0, 1)
    assert ga_row["decide_hours_avg"] == 23 * 24  # created → decided, as the request saw it


def test_deadlines_skip_chinese_holidays(db, wj, people):
    """Applied on 30 September: 1–7 October are the National Day holiday, so the 5 working days end on 13
    October (10 October, a Saturday, is a make-up working day)."""
    req = ask(db, wj, people)
    sharing.decide(db, principal_of(db, "ga_admin"), req.id, Decision(decision="approve"))
    replay(db, req, at(30, month=9), at(13, 20, month=10))
    assert row_of(evaluation.monthly(db, "2026-09")["providers"], "GA")["overdue"] == 0
    replay(db, req, at(30, month=9), at(14, 9, month=10))
    assert row_of(evaluation.monthly(db, "2026-09")["providers"], "GA")["overdue"] == 1


def test_quantile_from_buckets():
    assert evaluation.quantile({"le_10": 10, "le_50": 10}, 0.95) == 46.0  # 19th of 20: 10 + 40 × 9/10
    assert evaluation.quantile({"le_10": 100}, 0.95) == 9.5
    assert evaluation.quantile({"le_100": 1, "over_1000": 99}, 0.5) == 1000.0
    assert evaluation.quantile({}, 0.95) is None


def test_empty_month_and_bad_months(db, march):
    report = evaluation.monthly(db, "2025-01")
    assert (report["providers"], report["consumers"]) == ([], [])
    assert report["totals"] == {"requests": 0, "granted": 0, "calls": 0, "calls_ok": 0, "rows": 0,
                                "availability": None}
    for bad in ("2026-13", "2026-3", "March", ""):
        with pytest.raises(AppError) as exc:
            evaluation.monthly(db, bad)
        assert exc.value.code == "invalid_month"
    assert evaluation.months(db) == ["2026-04", "2026-03"]


def test_month_bounds_are_local():
    start, end = evaluation.month_bounds("2026-12")
    assert (start.isoformat(), end.isoformat()) == ("2026-12-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00")


def test_api(client, db, march):
    headers = token_for(client, "wj_staff")
    r = client.get(f"/api/v1/sharing/evaluation?month={MONTH}", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["month"] == MONTH and [p["org"] for p in body["providers"]] == ["WJ", "GA"]
    assert body["weights"] == evaluation.WEIGHTS
    r = client.get("/api/v1/sharing/evaluation?month=2026-13", headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_month"
    assert client.get(f"/api/v1/sharing/evaluation?month={MONTH}").status_code == 401
    assert client.get("/api/v1/sharing/evaluation/months", headers=headers).json() == {"items": ["2026-04", "2026-03"]}
    assert client.get("/api/v1/sharing/evaluation", headers=headers).json()["month"] == evaluation.current_month()
