"""The audit trail survives a crash of the server: kill -9 under load, restart, and every call the client got an
answer for has its audit record, and the chain verifies.

A real server (uvicorn in its own process, on the test database) answers gateway calls from several client
threads; it is killed with SIGKILL in the middle of that, started again on the same database, and answers a few
more calls. Answers carry their audit request id (``X-Audit-Request-Id``, ``request_id``) and the audit record
holds the hash of the records as sent. Refusals carry no audit request id, so they are checked by count.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func, select

from govdata.accounts import service as accounts
from govdata.accounts.schemas import CredentialCreate
from govdata.audit import service as audit
from govdata.audit.models import AuditRecord
from govdata.principal import CLI
from tests.ingest.conftest import person
from tests.sharing.fixtures import ROWS, grant

CLIENTS = 8  # concurrent callers (kept below the connection pool: more than 14 per process stall the gateway)
ANSWERS_BEFORE_KILL = 150
PURPOSE = quote("办理出生登记 案件 2026-001")


class Server:
    """``uvicorn --factory govdata.app:create_app`` in its own process, on the test database."""

    def __init__(self, database_url: str, log: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {**os.environ, "GOVDATA_DATABASE_URL": database_url, "GOVDATA_WORKER_THREADS": "0"}
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "govdata.app:create_app", "--host", "127.0.0.1",
               "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        self.log = log.open("ab")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=self.log)
        self.base = f"http://127.0.0.1:{self.port}"
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"server exited with {self.proc.returncode}"
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("server did not start within 30 s")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.log.close()


@dataclass
class Seen:
    """What the clients saw: 200 answers (audit request id, records bytes), refusals by code, calls cut off."""

    answers: list[tuple[str, bytes]] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)
    cut_off: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, response: httpx.Response) -> None:
        with self.lock:
            if response.status_code == 200:
                self.answers.append((response.headers["X-Audit-Request-Id"], records_bytes(response.content)))
            else:
                self.refusals[response.json()["error"]["code"]] += 1


def records_bytes(raw: bytes) -> bytes:
    """The records exactly as sent (the body is ``{"request_id": …, "records": …}``)."""
    return raw[raw.index(b'"records":') + len(b'"records":'):-1]


def call(client: httpx.Client, code: str, token: str, n: int) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if n % 5:  # every fifth call has no purpose: refused (403 purpose_required) and audited
        headers["X-Purpose"] = PURPOSE
    return client.get(f"/api/v1/exchange/{code}", params={"id_number": person(n % ROWS)["id_number"]},
                      headers=headers)


def drive(base: str, code: str, token: str, k: int, seen: Seen, killed: threading.Event) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        n = k
        while not killed.is_set():
            try:
                response = call(client, code, token, n)
            except httpx.TransportError:
                with seen.lock:
                    seen.cut_off += 1
                return
            seen.add(response)
            n += CLIENTS


def load_then_kill(server: Server, code: str, token: str, seen: Seen) -> None:
    killed = threading.Event()
    threads = [threading.Thread(target=drive, args=(server.base, code, token, k, seen, killed))
               for k in range(CLIENTS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(seen.answers) < ANSWERS_BEFORE_KILL and time.monotonic() < deadline:
        time.sleep(0.02)
    server.kill()
    killed.set()
    for t in threads:
        t.join(30)


@pytest.fixture
def granted(request: pytest.FixtureRequest, db) -> tuple[str, str]:
    """GA's collected person resource granted to WJ, and a system credential of WJ: (code, token)."""
    code = request.getfixturevalue("collected")
    grant(db, request.getfixturevalue("wj"), code, items=["id_number", "name", "sex", "region"])
    return code, accounts.create_credential(db, CLI, CredentialCreate(org="WJ", name="出生一件事系统"))[1]


def test_kill_9_under_load_loses_no_answered_call(db, database_url, granted, tmp_path):
    code, token = granted
    seen = Seen()
    load_then_kill(Server(database_url, tmp_path / "server.log"), code, token, seen)
    assert len(seen.answers) >= ANSWERS_BEFORE_KILL and seen.refusals["purpose_required"] > 0
    assert seen.cut_off > 0, "the server was not killed in the middle of calls"

    again = Server(database_url, tmp_path / "server.log")  # same database, after the crash
    with httpx.Client(base_url=again.base, timeout=30) as client:
        for n in range(1, 5):
            response = call(client, code, token, n)
            assert response.status_code == 200, response.text
            seen.add(response)
    again.stop()

    db.rollback()  # a fresh snapshot: the servers wrote after this session last read
    records = {r.request_id: r for r in db.scalars(select(AuditRecord).where(AuditRecord.kind == "exchange.call"))}
    missing = [request_id for request_id, _ in seen.answers if request_id not in records]
    assert not missing, f"{len(missing)} answered calls have no audit record"
    for request_id, sent in seen.answers:
        record = records[request_id]
        assert (record.outcome, record.response_hash) == ("ok", hashlib.sha256(sent).hexdigest()), request_id
    for code, count in seen.refusals.items():
        audited = db.scalar(select(func.count()).where(AuditRecord.kind == "exchange.call",
                                                       AuditRecord.outcome == code))
        assert audited >= count, (code, audited, count)
    report = audit.verify(db)
    assert report.ok, report.to_dict()
