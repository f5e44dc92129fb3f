"""Feedback on open datasets: one rating per rater — the account or the client address, whatever the browser says,
also under concurrent requests (a new one replaces the old) — error reports routed to the provider with a due date,
answered by that department and shown publicly only once answered; other departments cannot answer."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from govdata.db import new_session, utcnow
from govdata.errors import Forbidden
from govdata.opendata import developers, feedback, service
from govdata.opendata.models import Feedback, OpenDataset
from govdata.sharing.workdays import add_working_days
from tests.factories import PASSWORD, principal_of, token_for
from tests.opendata.conftest import csrf as _csrf

HOSTILE = '<script>alert(1)</script>\'; DROP TABLE open_feedback; -- =HYPERLINK("http://x")'

pytestmark = pytest.mark.usefixtures("fresh_limits")


def _login(client, username: str) -> None:
    client.cookies.clear()
    r = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/",
                                    "csrf_token": _csrf(client, "/login")}, follow_redirects=False)
    assert r.status_code == 303, r.text


def _slug(db, code: str) -> str:
    return db.get(OpenDataset, code).slug


def _rate(client, slug: str, stars: int, agent: str = "browser-a", htmx: bool = False):
    headers = {"user-agent": agent, **({"hx-request": "true"} if htmx else {})}
    return client.post(f"/open/datasets/{slug}/rate", data={"csrf_token": _csrf(client), "rating": str(stars)},
                       headers=headers, follow_redirects=False)


def test_a_new_rating_replaces_the_raters_old_one(client, db, portal):
    slug = _slug(db, portal.hospitals)
    r = _rate(client, slug, 4)
    assert r.status_code == 303 and r.headers["location"] == f"/open/datasets/{slug}?feedback=rated#od-feedback"
    r = _rate(client, slug, 2)  # the same browser changes its mind
    db.expire_all()
    dataset = db.get(OpenDataset, portal.hospitals)
    assert (dataset.rating_sum, dataset.rating_count) == (2, 1)
    for agent in ("browser-b", "curl/8.0", ""):  # another user agent from the same address is the same rater
        r = _rate(client, slug, 1, agent=agent)
    db.expire_all()
    dataset = db.get(OpenDataset, portal.hospitals)
    assert (dataset.rating_sum, dataset.rating_count) == (1, 1)
    with TestClient(client.app, client=("10.20.30.40", 50000)) as elsewhere:  # someone else: another address
        r = _rate(elsewhere, slug, 5, htmx=True)
    assert r.status_code == 200 and 'id="od-feedback"' in r.text and "3.0" in r.text and "2 人评分" in r.text
    db.expire_all()
    dataset = db.get(OpenDataset, portal.hospitals)
    assert (dataset.rating_sum, dataset.rating_count) == (6, 2) and service.rating(dataset) == 3.0
    assert len(db.scalars(select(Feedback).where(Feedback.kind == "rating")).all()) == 2


def test_a_signed_in_developer_rates_as_one_person_whatever_the_browser(db, portal):
    for stars, ip in ((5, "10.0.0.9"), (1, "192.168.1.7")):
        feedback.rate(db, portal.companies, stars, developer_id=42, ip=ip)
    dataset = db.get(OpenDataset, portal.companies)
    assert (dataset.rating_sum, dataset.rating_count) == (1, 1)
    assert feedback.rater_of(42, "10.0.0.9") == "dev:42"
    anonymous = feedback.rater_of(None, "10.0.0.9")
    assert anonymous != feedback.rater_of(None, "10.0.0.10") and "10.0.0.9" not in anonymous  # keyed, not the address


def test_concurrent_first_ratings_by_one_rater_make_one_row(db, portal):
    """Many requests of one rater at once (each its own session, as the server's threads are): one row, counted
    once, whoever wins the insert."""
    code, threads_n = portal.hospitals, 8
    start, errors = threading.Barrier(threads_n), []

    def rate(stars: int) -> None:
        session = new_session()
        try:
            start.wait()
            feedback.rate(session, code, stars, developer_id=None, ip="10.9.9.9")
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)
        finally:
            session.close()

    workers = [threading.Thread(target=rate, args=(1 + n % 5,)) for n in range(threads_n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    db.expire_all()
    rows = db.scalars(select(Feedback).where(Feedback.code == code, Feedback.kind == "rating")).all()
    dataset = db.get(OpenDataset, code)
    assert len(rows) == 1 and dataset.rating_count == 1
    assert dataset.rating_sum == rows[0].rating  # the totals follow the surviving rating


def test_one_rating_row_per_rater_is_enforced_by_the_database(db, portal):
    feedback.rate(db, portal.hospitals, 4, developer_id=None, ip="10.0.0.1")
    rater = feedback.rater_of(None, "10.0.0.1")
    db.add(Feedback(code=portal.hospitals, provider="WJ", kind="rating", rating=5, rater=rater, status="answered"))
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()
    for _ in range(2):  # reports have no rater: any number of them
        feedback.report(db, portal.hospitals, "error", "有误", attempt=portal.bureau)
    assert len(db.scalars(select(Feedback).where(Feedback.rater.is_(None))).all()) == 2


def test_ratings_are_throttled_per_address(client, db, portal, monkeypatch):
    monkeypatch.setitem(developers.THROTTLES, "rating", (3, 3600, "success"))
    url = f"/api/v1/opendata/datasets/{portal.people}/feedback"
    for stars in (1, 2, 3):
        assert client.post(url, json={"kind": "rating", "rating": stars}).status_code == 201
    r = client.post(url, json={"kind": "rating", "rating": 5})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    r = _rate(client, _slug(db, portal.hospitals), 5, htmx=True)  # the page too, whichever dataset
    assert r.status_code == 429 and "提交过于频繁" in r.text
    assert service.rating(service.get_open(db, portal.people)) == 3
    assert db.get(OpenDataset, portal.hospitals).rating_count == 0


def test_bad_ratings_and_datasets_not_open(client, db, portal):
    r = _rate(client, _slug(db, portal.hospitals), 6, htmx=True)
    assert r.status_code == 422 and "评分须为 1 到 5" in r.text
    for code in (portal.private, portal.withdrawn, portal.no_version, "nothing"):
        r = client.post(f"/api/v1/opendata/datasets/{code}/feedback", json={"kind": "rating", "rating": 5})
        assert r.status_code == 404 and r.json()["error"]["code"] == "dataset_not_found"
        r = client.post(f"/api/v1/opendata/datasets/{code}/feedback", json={"kind": "error", "content": "错了"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "dataset_not_found"
    r = client.post(f"/open/datasets/{portal.private}/feedback",
                    data={"csrf_token": _csrf(client), "kind": "error", "content": "x"})
    assert r.status_code == 404
    assert db.scalar(select(Feedback)) is None


def test_error_report_is_routed_answered_by_the_provider_and_public(client, db, portal):
    slug = _slug(db, portal.hospitals)
    r = client.post(f"/open/datasets/{slug}/feedback", headers={"hx-request": "true"}, data={
        "csrf_token": _csrf(client), "kind": "error", "content": "第3行床位数有误", "author": "张先生",
        "contact": "13800000000"})
    assert r.status_code == 200 and "1 条反馈待答复" in r.text
    assert "第3行床位数有误" not in r.text and "张先生" not in r.text  # not public before the department answers
    assert "13800000000" not in r.text  # the contact is never public
    assert feedback.public_for(db, portal.hospitals) == []
    item = db.scalar(select(Feedback).where(Feedback.kind == "error"))
    assert item.provider == "WJ" and item.contact == "13800000000"
    assert item.due_date == add_working_days(utcnow(), feedback.DUE_WORKING_DAYS).date()

    # another department neither sees nor answers it
    ga = principal_of(db, "ga_admin")
    assert feedback.inbox(db, ga) == []
    with pytest.raises(Forbidden):
        feedback.answer(db, ga, item.id, "不是我们的")
    r = client.post(f"/api/v1/opendata/feedback/{item.id}/answer", headers=token_for(client, "ga_admin"),
                    json={"reply": "不是我们的"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "other_department"

    # the provider's staff answers on the staff page
    _login(client, "wj_staff")
    page = client.get("/opendata/feedback")
    assert page.status_code == 200 and "第3行床位数有误" in page.text and "13800000000" in page.text
    r = client.post(f"/opendata/feedback/{item.id}/answer",
                    data={"csrf_token": _csrf(client, "/opendata/feedback"), "reply": ""})
    assert r.status_code == 422 and "请填写答复内容" in r.text
    r = client.post(f"/opendata/feedback/{item.id}/answer", follow_redirects=False,
                    data={"csrf_token": _csrf(client, "/opendata/feedback"), "reply": "已核实并更正,感谢指出"})
    assert r.status_code == 303
    _login(client, "ga_admin")
    r = client.post(f"/opendata/feedback/{item.id}/answer",
                    data={"csrf_token": _csrf(client, "/opendata/feedback"), "reply": "覆盖"})
    assert r.status_code == 403

    db.expire_all()
    public = feedback.public_for(db, portal.hospitals)
    assert [(f["content"], f["reply"], f["status"]) for f in public] == [("第3行床位数有误", "已核实并更正,感谢指出",
                                                                          "answered")]
    assert "contact" not in public[0]
    client.cookies.clear()
    r = _rate(client, slug, 3, htmx=True)  # the fragment the dataset page shows
    assert "已核实并更正,感谢指出" in r.text and "13800000000" not in r.text


def test_questions_show_only_once_answered(client, db, portal):
    r = client.post(f"/api/v1/opendata/datasets/{portal.companies}/feedback",
                    json={"kind": "question", "content": "多久更新一次?", "contact": "a@example.com"})
    assert r.status_code == 201 and r.json()["provider"] == "SCJ"
    assert feedback.public_for(db, portal.companies) == []
    feedback.answer(db, portal.scj, r.json()["id"], "每月更新")
    assert [f["reply"] for f in feedback.public_for(db, portal.companies)] == ["每月更新"]
    inbox = client.get("/api/v1/opendata/feedback", headers=token_for(client, "admin")).json()
    assert inbox["items"][0]["contact"] == "a@example.com"  # staff see the contact


def test_feedback_validation(client, db, portal):
    url = f"/api/v1/opendata/datasets/{portal.hospitals}/feedback"
    r = client.post(url, json={"kind": "error", "content": "  "})
    assert r.status_code == 422 and r.json()["error"]["code"] == "content_required"
    r = client.post(url, json={"kind": "error", "content": "x" * 2001})
    assert r.status_code == 422
    r = client.post(url, json={"kind": "praise", "content": "好"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_feedback_kind"


def test_hostile_text_is_stored_verbatim_and_shown_escaped(client, db, portal):
    slug = _slug(db, portal.hospitals)
    r = client.post(f"/open/datasets/{slug}/feedback", headers={"hx-request": "true"}, data={
        "csrf_token": _csrf(client), "kind": "error", "content": HOSTILE, "author": "<b>x</b>"})
    assert r.status_code == 200
    item = db.scalar(select(Feedback))
    assert item.content == HOSTILE
    feedback.answer(db, portal.wj, item.id, "<i>已核实</i>")
    r = _rate(client, slug, 4, htmx=True)  # shown once answered
    assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "<b>x</b>" not in r.text and "&lt;b&gt;x&lt;/b&gt;" in r.text
    assert "<i>已核实</i>" not in r.text and "&lt;i&gt;已核实&lt;/i&gt;" in r.text


def test_overdue_reports_are_flagged(client, db, portal):
    item = feedback.report(db, portal.hospitals, "error", "有误", attempt=portal.bureau)
    feedback.report(db, portal.hospitals, "question", "何时更新?", attempt=portal.bureau)
    item.due_date = utcnow().date().replace(year=2020)
    db.commit()
    assert feedback.staff_dict(item)["overdue"] is True
    assert feedback.pending_of(db, portal.hospitals) == {"pending": 2, "overdue": 1}
    r = _rate(client, _slug(db, portal.hospitals), 3, htmx=True)  # the fragment the dataset page shows
    assert "2 条反馈待答复" in r.text and "其中 1 条已超期" in r.text and "有误" not in r.text
    feedback.answer(db, portal.wj, item.id, "已改")
    assert feedback.public_for(db, portal.hospitals)[0]["overdue"] is False
    assert feedback.pending_of(db, portal.hospitals) == {"pending": 1, "overdue": 0}


def test_the_dataset_page_shows_the_feedback_section(client, db, portal):
    slug = _slug(db, portal.hospitals)
    r = _rate(client, slug, 5)
    page = client.get(r.headers["location"].split("#")[0]).text
    assert 'id="od-feedback"' in page and "感谢评分" in page and "5.0" in page
    r = client.post(f"/open/datasets/{slug}/feedback", follow_redirects=False, data={
        "csrf_token": _csrf(client), "kind": "error", "content": "地址过时", "contact": "secret@example.com"})
    assert r.status_code == 303 and "feedback=sent" in r.headers["location"]
    page = client.get(r.headers["location"].split("#")[0]).text
    assert "反馈已提交" in page and "地址过时" not in page and "secret@example.com" not in page
    item = db.scalar(select(Feedback).where(Feedback.kind == "error"))
    feedback.answer(db, portal.wj, item.id, "已更新地址")
    page = client.get(r.headers["location"].split("#")[0]).text
    assert "地址过时" in page and "已更新地址" in page and "secret@example.com" not in page
