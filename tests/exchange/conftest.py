"""A clean per-process state for every exchange test: rules cache, serving files, this thread's serving
connections, the gateway's caches and rate-limit windows; the audit writer thread is stopped afterwards. (The
shipped masking rules come back with every emptied database: tests/conftest.py.)"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from govdata.audit import service as audit
from govdata.exchange import cache, masking, serving
from govdata.sharing import limits


@pytest.fixture(autouse=True)
def _exchange_state() -> Iterator[None]:
    masking.invalidate()
    serving.close_connections()
    shutil.rmtree(serving.serving_root(), ignore_errors=True)  # the database is emptied between tests too
    cache.forget()
    limits.reset()
    yield
    audit.stop_writer()
    cache.forget()
    serving.close_connections()
    masking.invalidate()
