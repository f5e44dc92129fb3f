"""Per-test state of the sharing tests: gateway caches and rate-limit windows start empty, and the audit writer
thread is stopped after each test (fixtures are in fixtures.py, shared with the exchange tests)."""

from __future__ import annotations

import pytest

from govdata.audit import service as audit
from govdata.exchange import cache
from govdata.sharing import limits


@pytest.fixture(autouse=True)
def _fresh_caches():
    cache.forget()
    limits.reset()
    yield
    audit.stop_writer()
    cache.forget()
