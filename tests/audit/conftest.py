"""Audit tests: small checkpoints (every 4 records) and SHA-256 unless a test says otherwise, no writer thread
outliving its test, and the records the tests write."""

from __future__ import annotations

import hashlib
import threading

import pytest

from govdata.audit import service
from govdata.audit.models import AuditRecord
from govdata.config import get_settings

EVERY = 4


@pytest.fixture(autouse=True)
def small_checkpoints(monkeypatch):
    monkeypatch.setattr(get_settings(), "audit_checkpoint_every", EVERY)
    monkeypatch.setattr(get_settings(), "audit_hash", "sha256")


@pytest.fixture(autouse=True)
def no_writer_left_running():
    yield
    service.stop_writer()
    left = [t.name for t in threading.enumerate() if t.name.startswith("govdata-audit-writer") and t.is_alive()]
    assert not left, f"audit writer threads still running: {left}"


def fields(i: int, **over) -> dict:
    """A gateway call by 民政 (consumer 11450200MB0000001) of a resource provided by 11450200MB0000002."""
    base = {"kind": "exchange.call", "request_id": f"req-{i:04d}", "consumer_org": "11450200MB0000001",
            "consumer_system": "民政业务系统", "consumer_person": "张三", "provider_org": "11450200MB0000002",
            "resource": "A0101/0001", "items": ["id_number", "name"],
            "query": {"id_number": f"45020219900101{i:04d}"}, "purpose": "办理最低生活保障审核", "rows": 1,
            "response_hash": hashlib.sha256(str(i).encode()).hexdigest()}
    return {**base, **over}


def fill(db, n: int, start: int = 1, **over) -> list[AuditRecord]:
    out = []
    for i in range(start, start + n):
        out.append(service.append(db, **fields(i, **over)))
        db.commit()
    return out
