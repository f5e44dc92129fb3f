"""The ``govdata`` console script, run as a user runs it: a subprocess with the environment as config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from govdata.accounts import service as accounts
from govdata.actionlog.models import ActionLogEntry
from govdata.orgs import service as orgs

GOVDATA = [sys.executable, "-m", "govdata.cli"]


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([*GOVDATA, *args], capture_output=True, text=True, env=os.environ.copy(), timeout=120)
    if check:
        assert result.returncode == 0, result.stderr + result.stdout
    return result


def test_org_user_and_token_commands(db):
    run("org", "create", "--code", "LZ", "--name", "柳州市人民政府", "--level", "city", "--region", "450200",
        "--type", "government")
    run("org", "create", "--code", "GA", "--name", "柳州市公安局", "--level", "city", "--region", "450200",
        "--parent", "LZ", "--uscc", "11450200MB15632086")
    run("user", "create", "--username", "ga_admin", "--password", "Ga-Passw0rd!", "--org", "GA",
        "--role", "dept_admin")
    issued = run("token", "create", "--org", "GA", "--name", "户籍系统")
    token = issued.stdout.strip()
    assert token.startswith("gds_") and len(token.splitlines()) == 1
    db.expire_all()
    assert orgs.get_by_code(db, "GA").uscc == "11450200MB15632086"
    assert accounts.resolve_token(db, token, kind="api").org_code == "GA"
    listed = run("token", "list").stdout
    assert "户籍系统" in listed and token not in listed
    assert db.scalars(select(ActionLogEntry.actor_type)).all() == ["cli"] * 4


@pytest.mark.parametrize(("args", "code"), [
    (["org", "create", "--code", "X", "--name", "x", "--level", "city", "--region", "450200"], "validation_error"),
    (["org", "create", "--code", "XX", "--name", "x", "--level", "city", "--region", "999999"], "invalid_region_code"),
    (["org", "create", "--code", "XX", "--name", "x", "--level", "city", "--region", "450200", "--parent", "NO"],
     "unknown_parent"),
    (["user", "create", "--username", "abc", "--password", "Passw0rd!", "--org", "NO", "--role", "dept_staff"],
     "org_not_found"),
    (["token", "create", "--org", "NO", "--name", "x"], "org_not_found"),
])
def test_cli_errors_are_clear_and_non_zero(db, args, code):
    result = run(*args, check=False)
    assert result.returncode == 2
    assert code in result.stderr


def test_db_upgrade_is_safe_to_repeat(db):
    first = run("db", "upgrade").stdout
    assert "最新版本" in first
    run("org", "create", "--code", "LZ", "--name", "柳州市人民政府", "--level", "city", "--region", "450200")
    run("db", "upgrade")
    db.expire_all()
    assert orgs.get_by_code(db, "LZ").name == "柳州市人民政府"


def test_fresh_database_is_created_and_migrated(tmp_path: Path):
    env = {**os.environ, "GOVDATA_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    result = subprocess.run([*GOVDATA, "db", "upgrade"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "fresh.db").exists()
    result = subprocess.run([*GOVDATA, "org", "create", "--code", "LZ", "--name", "柳州", "--level", "city",
                             "--region", "450200"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
