"""Proxied mode: the provider's own service answers, the gateway authorises, filters, masks and audits."""

from __future__ import annotations

import json
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from govdata.errors import AppError
from govdata.exchange import endpoints, serving
from govdata.exchange.endpoints import EndpointIn
from govdata.ingest import service as ingest
from tests.exchange.test_gateway import PURPOSE, get, records_of, system_token
from tests.factories import principal_of
from tests.ingest.conftest import person
from tests.sharing.fixtures import grant

SECRET = "provider-secret-123"


class Provider(BaseHTTPRequestHandler):
    """GA's own population service: ignores the row scope and answers more items than granted."""

    mode = "ok"
    seen: ClassVar[list[dict]] = []

    def do_GET(self) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        Provider.seen.append({"query": query, "auth": self.headers.get("X-Api-Key")})
        if Provider.mode == "slow":
            time.sleep(2)
        if Provider.mode == "broken":
            self._send(200, b"<html>oops</html>")
            return
        if Provider.mode == "error":
            self._send(500, b"{}")
            return
        rows = [person(n, region="450202" if n < 5 else "450203") for n in range(10)]
        rows = [r for r in rows if all(r.get(k) == v for k, v in query.items() if k != "limit")] or rows[:3]
        self._send(200, json.dumps({"code": 0, "data": rows}, ensure_ascii=False).encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def provider_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Provider.mode, Provider.seen = "ok", []
    yield f"http://127.0.0.1:{server.server_port}/population"
    server.shutdown()


@pytest.fixture
def proxied(db, people, provider_url) -> str:
    ga_admin = principal_of(db, "ga_admin")
    endpoints.register(db, ga_admin, people, EndpointIn(url=provider_url, auth_header="X-Api-Key", secret=SECRET,
                                                         timeout_seconds=1))
    return people


def test_proxied_call_is_filtered_masked_and_audited(client, db, wj, proxied):
    grant(db, wj, proxied, items=["id_number", "name"], row_scope={"region": ["450202"]})
    headers = {**system_token(db), **PURPOSE}
    wanted = person(2)
    body = get(client, proxied, headers, id_number=wanted["id_number"]).json()
    assert body["records"] == [{"id_number": wanted["id_number"][:6] + "*" * 8 + wanted["id_number"][-4:],
                                "name": "张*"}]
    assert Provider.seen[-1] == {"query": {"id_number": wanted["id_number"], "limit": "10"}, "auth": SECRET}
    # the provider ignores the row scope; the gateway does not
    assert get(client, proxied, headers, id_number=person(7)["id_number"]).json()["records"] == []
    assert [r.outcome for r in records_of(db)] == ["ok", "ok"]
    assert records_of(db)[0].extra["ms"] >= 0


def test_the_data_never_rests_on_the_platform(client, db, wj, proxied):
    grant(db, wj, proxied)
    shutil.rmtree(serving.serving_root() / serving.directory_name(proxied), ignore_errors=True)  # earlier tests'
    assert get(client, proxied, {**system_token(db), **PURPOSE}, id_number=person(1)["id_number"]).json()["records"]
    assert ingest.latest_published(db, proxied) is None
    assert not any((serving.serving_root() / serving.directory_name(proxied)).glob("*.sqlite"))


@pytest.mark.parametrize(("mode", "status", "code"), [
    ("error", 502, "provider_error"), ("broken", 502, "provider_bad_response"), ("slow", 504, "provider_timeout")])
def test_provider_failures_are_clear_and_audited(client, db, wj, proxied, mode, status, code):
    grant(db, wj, proxied)
    Provider.mode = mode
    response = get(client, proxied, {**system_token(db), **PURPOSE}, id_number=person(1)["id_number"])
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert records_of(db)[-1].outcome == code


def test_provider_down(client, db, wj, people):
    endpoints.register(db, principal_of(db, "ga_admin"), people, EndpointIn(url="http://127.0.0.1:9/x"))
    grant(db, wj, people)
    response = get(client, people, {**system_token(db), **PURPOSE}, id_number=person(1)["id_number"])
    assert (response.status_code, response.json()["error"]["code"]) == (502, "provider_unavailable")


def test_no_grant_means_the_provider_is_never_called(client, db, jy, proxied):
    response = get(client, proxied, {**system_token(db, org="CZQ-JY"), **PURPOSE}, id_number="1")
    assert response.json()["error"]["code"] == "not_granted"
    assert Provider.seen == []


def test_only_the_providers_admin_registers_and_the_secret_is_never_shown(client, db, wj, people, provider_url):
    with pytest.raises(AppError) as exc:
        endpoints.register(db, wj, people, EndpointIn(url=provider_url))
    assert exc.value.code == "forbidden"
    for bad in ("ftp://x/y", "http://user:pw@host/x", "javascript:alert(1)"):
        with pytest.raises(AppError) as exc:
            endpoints.register(db, principal_of(db, "ga_admin"), people, EndpointIn(url=bad))
        assert exc.value.code == "invalid_url"
    row = endpoints.register(db, principal_of(db, "ga_admin"), people, EndpointIn(url=provider_url, secret=SECRET))
    shown = endpoints.endpoint_dict(row)
    assert shown["has_secret"] is True and SECRET not in json.dumps(shown) and SECRET not in row.secret
