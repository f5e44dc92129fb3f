"""``govdata opendata``, run as the operator runs it (a subprocess with the environment as config)."""

from __future__ import annotations

import json

from govdata.opendata import service
from tests.opendata.conftest import PEOPLE_SETTINGS
from tests.test_cli import run


def test_list_shows_each_resource_and_its_state(db, portal):
    rows = {r["code"]: r for r in json.loads(run("opendata", "list", "--json").stdout)}
    assert rows[portal.people]["state"] == "open" and rows[portal.people]["served_version"] == 1
    assert rows[portal.no_version]["state"] == "no_version"
    assert portal.private not in rows


def test_check_refuses_with_exit_2_and_open_with_settings_opens(db, portal, tmp_path):
    listing_before = service.get_open(db, portal.people).data_key
    refused = run("opendata", "check", portal.people, "--settings", _file(tmp_path, {"treatments": {}}), check=False)
    assert refused.returncode == 2 and "direct_identifier" not in refused.stdout  # messages, not codes
    assert "身份证号码" in refused.stdout
    opened = run("opendata", "open", portal.people, "--settings", _file(tmp_path, PEOPLE_SETTINGS))
    assert "opened" in opened.stdout
    db.expire_all()
    assert service.get_open(db, portal.people).data_key != listing_before


def test_withdraw(db, portal):
    run("opendata", "withdraw", portal.companies, "--reason", "停止维护")
    db.expire_all()
    assert portal.companies not in {d.code for d in service.all_open(db)}


def _file(tmp_path, settings: dict) -> str:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(settings), encoding="utf-8")
    return str(path)
