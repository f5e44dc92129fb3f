"""A department's own database as the source of a resource, end to end: register it (the password only
encrypted), pull it as a job (full and incremental), fail clearly when it is down or its table changed,
who may do what, the schedule, the REST API and the CLI.

The department system is a real MariaDB (127.0.0.1:3306, root, db ``test``) and a real PostgreSQL (127.0.0.1:5432,
postgres, db ``test``), each test on its own table; the tests of a server are skipped when it is unreachable, as in
test_connectors.py (admin URLs: GOVDATA_TEST_SOURCE_MARIADB / GOVDATA_TEST_SOURCE_POSTGRES).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from govdata import vault
from govdata.actionlog.models import ActionLogEntry
from govdata.db import utcnow
from govdata.errors import Forbidden, NotFound, ValidationFailed
from govdata.ingest import service as versions
from govdata.ingest import sources
from govdata.ingest.models import DatasetVersion, Source
from govdata.jobs import service as jobs
from govdata.jobs.models import Job
from tests.factories import principal_of, token_for
from tests.ingest.conftest import person, port_open, write_csv

MARIADB_ADMIN = os.environ.get("GOVDATA_TEST_SOURCE_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
POSTGRES_ADMIN = os.environ.get("GOVDATA_TEST_SOURCE_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2024, 1, 1, 8, 0, 0)  # watermark of the first row; row i is i minutes later
GOOD = [person(n) for n in range(10)]
BAD = [person(100, region="999999"), person(101, name=None)]  # type: ignore[arg-type]  # a NULL name
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Dept:
    """A department's database server: an account with a password, and a fresh people table per test."""

    kind: str  # "mariadb" | "postgresql"
    admin: Engine
    user: str
    password: str
    prefix: str  # table names (MariaDB) or the schema (PostgreSQL) of this run
    tables: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The URL as a department types it: with the password in it."""
        admin = make_url(MARIADB_ADMIN if self.kind == "mariadb" else POSTGRES_ADMIN)
        return admin.set(username=self.user, password=self.password).render_as_string(hide_password=False)

    def create(self, rows: list[dict[str, Any]]) -> str:
        """A people table holding ``rows`` (row i updated at T0 + i minutes); returns its name as a source has it."""
        tag = f"t{len(self.tables)}_{secrets.token_hex(3)}"
        if self.kind == "mariadb":
            name = f"{self.prefix}_{tag}"
            ddl = (f"CREATE TABLE {name} (id_number VARCHAR(18) PRIMARY KEY, name VARCHAR(50), sex CHAR(1), "
                   "birth_date DATE, region VARCHAR(6), phone VARCHAR(11), updated_at DATETIME) CHARACTER SET utf8mb4")
            grant = f"GRANT SELECT ON test.{name} TO '{self.user}'@'%'"
        else:
            name = f"{self.prefix}.{tag}"
            ddl = (f"CREATE TABLE {name} (id_number VARCHAR(18) PRIMARY KEY, name VARCHAR(50), sex CHAR(1), "
                   "birth_date DATE, region VARCHAR(6), phone VARCHAR(11), updated_at TIMESTAMP)")
            grant = f"GRANT SELECT ON {name} TO {self.user}"
        with self.admin.begin() as conn:
            conn.execute(text(ddl))
            conn.execute(text(grant))
        self.tables.append(name)
        self.insert(name, rows, T0)
        return name

    def insert(self, table: str, rows: list[dict[str, Any]], start: datetime) -> None:
        values = [{**r, "birth_date": date.fromisoformat(r["birth_date"]), "updated_at": start + timedelta(minutes=i)}
                  for i, r in enumerate(rows)]
        with self.admin.begin() as conn:
            conn.execute(text(f"INSERT INTO {table} VALUES (:id_number, :name, :sex, :birth_date, :region, :phone, "
                              ":updated_at)"), values)

    def execute(self, sql: str) -> None:
        with self.admin.begin() as conn:
            conn.execute(text(sql))


@pytest.fixture(scope="module")
def mariadb_dept() -> Iterator[Dept]:
    if not port_open(MARIADB_ADMIN):
        pytest.skip(f"MariaDB is not reachable at {make_url(MARIADB_ADMIN).host}:{make_url(MARIADB_ADMIN).port}")
    tag = secrets.token_hex(4)
    user, password = f"gd_pull_{tag}", f"Pw@:/%#-{secrets.token_hex(6)}"
    admin = create_engine(MARIADB_ADMIN, pool_pre_ping=True)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE USER '{user}'@'%' IDENTIFIED BY :pw"), {"pw": password})
    dept = Dept("mariadb", admin, user, password, f"gd_pull_{tag}")
    try:
        yield dept
    finally:
        with admin.begin() as conn:
            conn.execute(text("SET SESSION lock_wait_timeout = 20"))
            for name in dept.tables:
                conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
            conn.execute(text(f"DROP USER IF EXISTS '{user}'@'%'"))
        admin.dispose()


@pytest.fixture(scope="module")
def postgresql_dept() -> Iterator[Dept]:
    if not port_open(POSTGRES_ADMIN):
        pytest.skip(f"PostgreSQL is not reachable at {make_url(POSTGRES_ADMIN).host}:{make_url(POSTGRES_ADMIN).port}")
    tag = secrets.token_hex(4)
    schema, user, password = f"gd_pull_{tag}", f"gd_pull_{tag}", f"Pw@:/%#-{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_ADMIN, pool_pre_ping=True)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
        conn.execute(text(f"CREATE ROLE {user} LOGIN PASSWORD '{password}'"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA {schema} TO {user}"))
    dept = Dept("postgresql", admin, user, password, schema)
    try:
        yield dept
    finally:
        with admin.begin() as conn:
            conn.execute(text("SET lock_timeout = '20s'"))
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"DROP ROLE IF EXISTS {user}"))
        admin.dispose()


@pytest.fixture(params=["mariadb", "postgresql"])
def dept(request: pytest.FixtureRequest) -> Dept:
    return request.getfixturevalue(f"{request.param}_dept")


def _add(db: Session, who, people: str, dept: Dept, table: str, **data: Any) -> Source:
    fields = {"name": f"户籍库-{secrets.token_hex(2)}", "resource": people, "url": dept.url, "table": table, **data}
    return sources.add_source(db, who, fields, test=True)


def _pull_job(db: Session, who, source_id: int) -> Job:
    job = sources.start_pull(db, who, source_id)
    assert (job.kind, job.status, job.target) == ("ingest.pull", "queued", f"source:{source_id}")
    jobs.run_pending(db)
    db.expire_all()  # the job ran in a session of its own
    return jobs.get(db, job.id)


def _versions(db: Session, code: str) -> list[DatasetVersion]:
    return list(db.scalars(select(DatasetVersion).where(DatasetVersion.resource_code == code)
                           .order_by(DatasetVersion.number)))


def _ids(version: DatasetVersion) -> list[str]:
    return sorted(versions.read_rows(version, ["id_number"])["id_number"].to_list())


def _assert_not_logged(db: Session, password: str) -> None:
    """Not in any column of any action-log entry or job, as typed or URL-encoded."""
    for row in [*db.scalars(select(ActionLogEntry)), *db.scalars(select(Job))]:
        logged = json.dumps({c.name: getattr(row, c.key) for c in row.__table__.columns}, ensure_ascii=False,
                            default=str)
        assert password not in logged and quote(password, safe="") not in logged, logged


# ----------------------------------------------------------------------------------------------- registering


def test_register_pull_in_full_then_the_table_changes(db, people, ga, dept):
    versions.set_policy(db, ga, people, 20)  # 2 bad rows of 12 are published
    table = dept.create(GOOD + BAD)

    # Registering (test=True: the connection works): the password typed in the URL is kept only encrypted.
    assert make_url(dept.url).password == dept.password
    source = _add(db, ga, people, dept, table)
    db.expire_all()
    stored = db.get(Source, source.id)
    assert make_url(stored.url).password is None
    assert dept.password not in stored.url and quote(dept.password, safe="") not in stored.url
    assert stored.password_encrypted and dept.password not in stored.password_encrypted
    assert vault.decrypt(stored.password_encrypted) == dept.password
    shown = sources.source_dict(stored)
    assert shown["has_password"] is True and shown["url"] == make_url(stored.url).render_as_string()
    assert make_url(shown["url"]).username == dept.user and shown["table"] == table
    assert dept.password not in json.dumps(shown, ensure_ascii=False)
    [created] = db.scalars(select(ActionLogEntry).where(ActionLogEntry.action == "source.created"))
    assert (created.actor_name, created.target_id, created.after["has_password"]) == ("ga_admin", str(source.id), True)
    _assert_not_logged(db, dept.password)

    # A full pull as a job.
    job = _pull_job(db, ga, source.id)
    assert job.status == "succeeded", (job.error_code, job.error_message)
    result = job.result
    assert (result["version"], result["rows_total"], result["rows_accepted"], result["rows_rejected"]) == (1, 12, 10, 2)
    assert result["errors_by_rule"] == {"region_code": 1, "required": 1}
    [version] = _versions(db, people)
    assert (version.source_kind, version.mode, version.status, version.job_id) == ("database", "replace",
                                                                                    "published", job.id)
    assert version.source["source_id"] == source.id and dept.password not in json.dumps(version.source)
    assert _ids(version) == sorted(r["id_number"] for r in GOOD)
    rows = {r["id_number"]: r for r in versions.read_rows(version).to_dicts()}
    assert rows[GOOD[3]["id_number"]]["birth_date"] == GOOD[3]["birth_date"]
    assert rows[GOOD[3]["id_number"]]["name"] == GOOD[3]["name"]
    stored = db.get(Source, source.id)
    assert stored.last_status == "succeeded" and stored.last_error is None and stored.last_pull_at is not None
    assert stored.last_watermark is None  # a full pull keeps no watermark
    _assert_not_logged(db, dept.password)

    # The department renames a required column: the next pull says so, and version 1 stays what is served.
    dept.execute(f"ALTER TABLE {table} RENAME COLUMN name TO full_name")
    failed = _pull_job(db, ga, source.id)
    assert (failed.status, failed.error_code) == ("failed", "source_schema_changed")
    assert "姓名" in failed.error_message
    assert len(_versions(db, people)) == 1
    assert versions.latest_published(db, people).number == 1 and _ids(version) == sorted(r["id_number"] for r in GOOD)
    stored = db.get(Source, source.id)
    assert stored.last_status == "failed" and CHINESE.search(stored.last_error or "")


def test_incremental_pulls_merge_by_key_and_advance_the_watermark(db, people, ga, dept):
    first_rows, new_rows = GOOD[:5], GOOD[5:7]
    table = dept.create(first_rows)
    source = _add(db, ga, people, dept, table, mode="incremental", watermark_column="updated_at", schedule="manual")
    assert source.next_pull_at is None

    first = _pull_job(db, ga, source.id)
    assert first.status == "succeeded", (first.error_code, first.error_message)
    assert (first.result["version"], first.result["rows_total"], first.result["rows_stored"]) == (1, 5, 5)
    mark = db.get(Source, source.id).last_watermark
    assert mark == "2024-01-01 08:04:00"

    dept.insert(table, new_rows, datetime(2024, 2, 1, 9, 0, 0))
    second = _pull_job(db, ga, source.id)
    assert second.status == "succeeded", (second.error_code, second.error_message)
    assert (second.result["version"], second.result["rows_total"], second.result["rows_accepted"],
            second.result["rows_stored"]) == (2, 2, 2, 7)
    v2 = _versions(db, people)[-1]
    assert (v2.mode, v2.source["from_watermark"]) == ("merge", mark)
    assert _ids(v2) == sorted(r["id_number"] for r in first_rows + new_rows)
    stored = db.get(Source, source.id)
    assert stored.last_watermark == "2024-02-01 09:01:00" and stored.last_status == "succeeded"

    # Nothing new: no version, the watermark stays.
    third = _pull_job(db, ga, source.id)
    assert third.status == "succeeded", (third.error_code, third.error_message)
    assert third.result["version"] is None, third.result
    assert len(_versions(db, people)) == 2
    stored = db.get(Source, source.id)
    assert stored.last_watermark == "2024-02-01 09:01:00" and stored.last_status == "succeeded"


def test_a_source_that_is_down_fails_the_job_and_keeps_the_published_version(db, people, ga, tmp_path):
    published = versions.ingest_file(db, ga, people, write_csv(tmp_path / "人口.csv", GOOD))
    assert published.status == "published"
    for driver in ("mysql+pymysql", "postgresql+psycopg"):
        source = sources.add_source(db, ga, {"name": f"停机的库 {driver}", "resource": people, "table": "people",
                                             "url": f"{driver}://reader:S3cret-pw@127.0.0.1:1/test"}, test=False)
        job = _pull_job(db, ga, source.id)
        assert (job.status, job.error_code) == ("failed", "source_unreachable"), driver
        assert "127.0.0.1:1" in job.error_message and "S3cret-pw" not in job.error_message
        stored = db.get(Source, source.id)
        assert stored.last_status == "failed" and stored.last_error == job.error_message
        assert CHINESE.search(stored.last_error) and stored.last_pull_at is not None
        assert [v.number for v in _versions(db, people)] == [1]
        latest = versions.latest_published(db, people)
        assert latest.number == 1 and _ids(latest) == sorted(r["id_number"] for r in GOOD)


# ----------------------------------------------------------------------------------------------- who may


def test_other_departments_cannot_add_see_or_pull_a_source(db, people, ga):
    wj, auditor = principal_of(db, "wj_admin"), principal_of(db, "auditor")
    data = {"name": "户籍库", "resource": people, "url": "mysql+pymysql://reader:pw@127.0.0.1:1/test",
            "table": "people"}
    with pytest.raises(Forbidden):
        sources.add_source(db, wj, data, test=False)
    db.rollback()
    source = sources.add_source(db, ga, data, test=False)
    for ref in (source.id, "户籍库"):
        with pytest.raises(NotFound) as missing:
            sources.get_source(db, wj, ref)
        assert missing.value.code == "source_not_found"
        with pytest.raises(NotFound):
            sources.start_pull(db, wj, ref)
        with pytest.raises(NotFound):
            sources.delete_source(db, wj, ref)
    assert sources.list_sources(db, wj) == []
    assert [s.id for s in sources.list_sources(db, auditor)] == [source.id]
    assert [s.id for s in sources.list_sources(db, ga, people)] == [source.id]
    assert sources.get_source(db, auditor, source.id).id == source.id
    with pytest.raises(Forbidden):
        sources.start_pull(db, auditor, source.id)
    assert db.scalar(select(func.count()).select_from(Job)) == 0
    db.rollback()
    assert db.get(Source, source.id) is not None


# ----------------------------------------------------------------------------------------------- schedule


def test_schedules_set_the_next_pull_and_due_sources_are_queued_once_per_slot(db, people, ga):
    base = {"resource": people, "url": "postgresql+psycopg://reader@127.0.0.1:1/test", "table": "people"}
    before = utcnow()
    cycle = sources.add_source(db, ga, {**base, "name": "按周期"}, test=False)  # schedule defaults to "cycle"
    assert cycle.schedule == "cycle"
    assert abs(cycle.next_pull_at - (before + timedelta(days=31))) < timedelta(minutes=1)  # monthly

    nightly = sources.add_source(db, ga, {**base, "name": "每晚", "schedule": "0 2 * * *"}, test=False)
    local = nightly.next_pull_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (local.hour, local.minute, local.second) == (2, 0, 0)
    assert timedelta(0) < nightly.next_pull_at - before <= timedelta(days=1)
    # 01:59 in Shanghai is 17:59 UTC the day before: the next pull is one minute later, at 18:00 UTC.
    assert sources.next_pull("0 2 * * *", "monthly", datetime(2024, 3, 10, 17, 59, tzinfo=UTC)) == \
        datetime(2024, 3, 10, 18, 0, tzinfo=UTC)
    assert sources.next_pull("0 2 * * *", None, datetime(2024, 3, 10, 18, 0, tzinfo=UTC)) == \
        datetime(2024, 3, 11, 18, 0, tzinfo=UTC)
    assert sources.add_source(db, ga, {**base, "name": "手动", "schedule": "manual"}, test=False).next_pull_at is None

    for wrong in ("every night", "61 2 * * *", "0 2 * *"):
        with pytest.raises(ValidationFailed) as invalid:
            sources.add_source(db, ga, {**base, "name": "错误", "schedule": wrong}, test=False)
        assert invalid.value.code == "invalid_schedule"
        db.rollback()
    assert db.scalar(select(func.count()).select_from(Source).where(Source.name == "错误")) == 0

    # The scheduler queues a due source once per slot (the others — not yet due, manual — are left alone).
    due = sources.add_source(db, ga, {**base, "name": "到期"}, test=False)
    slot = utcnow() - timedelta(minutes=5)
    due.next_pull_at = slot
    db.commit()

    assert sources.enqueue_due_pulls(db) == 1
    db.commit()
    assert sources.enqueue_due_pulls(db) == 0  # called again (the next minute, or by a second server)
    db.commit()
    queued = list(db.scalars(select(Job).where(Job.kind == "ingest.pull")))
    assert [(j.target, j.status, j.created_by) for j in queued] == [(f"source:{due.id}", "queued", "scheduler")]
    db.expire_all()
    assert db.get(Source, due.id).next_pull_at > utcnow() + timedelta(days=30)

    # A second server that read the same slot before the first moved it on: still one job for the slot, even
    # once the first has finished.
    queued[0].status = "succeeded"
    db.get(Source, due.id).next_pull_at = slot
    db.commit()
    assert sources.enqueue_due_pulls(db) == 0
    db.commit()
    assert db.scalar(select(func.count()).select_from(Job)) == 1
    assert db.get(Source, due.id).next_pull_at > utcnow() + timedelta(days=30)


# ----------------------------------------------------------------------------------------------- API and CLI


def test_api_add_list_and_pull(client, db, people, dept):
    table = dept.create(GOOD)
    ga = token_for(client, "ga_admin")
    created = client.post("/api/v1/sources", headers=ga, json={"name": "户籍库", "resource": people, "url": dept.url,
                                                                "table": table})
    assert created.status_code == 201, created.text
    assert dept.password not in created.text and quote(dept.password, safe="") not in created.text
    body = created.json()
    assert body["has_password"] is True and body["table"] == table and body["schedule"] == "cycle"
    listed = client.get("/api/v1/sources", headers=ga).json()["items"]
    assert [s["id"] for s in listed] == [body["id"]] and dept.password not in json.dumps(listed)

    wj = token_for(client, "wj_admin")
    assert client.get("/api/v1/sources", headers=wj).json()["items"] == []
    assert client.post(f"/api/v1/sources/{body['id']}/pull", headers=wj).status_code == 404

    pulled = client.post(f"/api/v1/sources/{body['id']}/pull", headers=ga)
    assert pulled.status_code == 202, pulled.text
    job = pulled.json()
    assert (job["kind"], job["status"], job["target"]) == ("ingest.pull", "queued", f"source:{body['id']}")
    assert pulled.headers["location"] == f"/api/v1/jobs/{job['id']}"
    again = client.post(f"/api/v1/sources/{body['id']}/pull", headers=ga)
    assert again.status_code == 409 and again.json()["error"]["code"] == "pull_in_progress"

    jobs.run_pending(db)
    done = client.get(f"/api/v1/jobs/{job['id']}", headers=ga).json()
    assert done["status"] == "succeeded", done["error"]
    assert (done["result"]["version"], done["result"]["rows_total"], done["result"]["rows_accepted"]) == (1, 10, 10)
    shown = client.get(f"/api/v1/sources/{body['id']}", headers=ga).json()
    assert shown["last_status"] == "succeeded"
    assert client.get(f"/api/v1/resources/{people}/versions", headers=ga).json()["current"] == 1
    assert client.post(f"/api/v1/sources/{body['id']}/pull", headers=ga).status_code == 202  # free again


@pytest.mark.parametrize("dept", ["mariadb"], indirect=True)  # the dialects are covered by the job tests above
def test_cli_lists_and_pulls_printing_one_json_object(db, people, ga, dept, database_url):
    table = dept.create(GOOD + BAD)
    source = _add(db, ga, people, dept, table, name="户籍库CLI")
    env = {**os.environ, "GOVDATA_DATABASE_URL": database_url, "COLUMNS": "250"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "govdata.cli", "source", *args], capture_output=True, text=True,
                              env=env, timeout=120, check=False)

    listed = cli("list")
    assert listed.returncode == 0, listed.stderr
    assert "户籍库CLI" in listed.stdout and people in listed.stdout
    assert dept.password not in listed.stdout and quote(dept.password, safe="") not in listed.stdout

    pulled = cli("pull", str(source.id), "--json")
    assert pulled.returncode == 0, pulled.stderr
    assert len(pulled.stdout.strip().splitlines()) == 1
    result = json.loads(pulled.stdout)
    assert isinstance(result, dict)
    assert (result["version"], result["rows_total"], result["rows_accepted"], result["rows_rejected"]) == (1, 12, 10, 2)
    assert result["errors_by_rule"] == {"region_code": 1, "required": 1}
    assert set(result["quality"]) == {"completeness", "validity", "uniqueness", "consistency", "timeliness", "score"}
    db.expire_all()
    assert [v.source_kind for v in _versions(db, people)] == ["database"]
    assert db.get(Source, source.id).last_status == "succeeded"

    # A failed pull: --json still prints only one JSON object (as `govdata ingest --json` does for a refused
    # file), and the source records the failure as a pull job does.
    down = sources.add_source(db, ga, {"name": "停机的库", "resource": people, "table": "people",
                                       "url": "mysql+pymysql://reader:S3cret-pw@127.0.0.1:1/test"}, test=False)
    failed = cli("pull", "停机的库", "--json")
    assert failed.returncode == 2, failed.stderr
    assert "S3cret-pw" not in failed.stdout + failed.stderr
    assert len(_versions(db, people)) == 1
    printed = json.loads(failed.stdout or "null")
    assert isinstance(printed, dict) and printed["error"]["code"] == "source_unreachable", failed.stderr
    db.expire_all()
    stored = db.get(Source, down.id)
    assert stored.last_status == "failed" and CHINESE.search(stored.last_error or "")
