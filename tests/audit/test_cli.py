"""``govdata audit …`` as an operator and an auditor run it: separate processes, exit statuses, ids on stdout,
proofs round-tripped through files and checked without the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import text

from govdata.audit import keys, service
from tests.audit.conftest import EVERY


def audit(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GOVDATA_DATABASE_URL": database_url, "GOVDATA_AUDIT_CHECKPOINT_EVERY": str(EVERY)}
    return subprocess.run([sys.executable, "-m", "govdata.cli", "audit", *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def fill(db, n: int) -> None:
    for i in range(1, n + 1):
        service.append(db, kind="exchange.call", request_id=f"req-{i:04d}", consumer_org="11450200MB0000001",
                       resource="A0101/0001", items=["id_number"], query={"id_number": f"4502021990{i:08d}"},
                       purpose="办理最低生活保障审核", rows=1)
        db.commit()


def tamper(db, statement: str, **params) -> None:
    db.execute(text(statement), params)
    db.commit()


def test_cli_verify_exits_1_and_names_the_record(db, database_url):
    fill(db, 6)
    ok = audit(database_url, "verify")
    assert ok.returncode == 0, ok.stderr
    assert "审计链完整" in ok.stdout and "6 条" in ok.stdout
    tamper(db, "UPDATE audit_records SET purpose = '私自查询' WHERE id = 3")
    bad = audit(database_url, "verify")
    assert bad.returncode == 1, bad.stderr
    lines = [line for line in bad.stdout.splitlines() if line.startswith("changed")]
    assert len(lines) == 1 and "#3" in lines[0].split("\t")[1]
    as_json = audit(database_url, "verify", "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False and report["problems"][0]["record_id"] == 3


def test_cli_verify_in_forked_workers_sees_the_cut_and_every_segment(db, database_url):
    fill(db, 14)
    ok = audit(database_url, "verify", "--workers", "2")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    first = db.execute(text("SELECT hash FROM audit_records WHERE id = 1")).scalar()
    tamper(db, "UPDATE audit_records SET prev_hash = :p WHERE id = 9", p=first)  # at the cut (after cp #2)
    tamper(db, "DELETE FROM audit_records WHERE id = 2")  # in the first segment
    tamper(db, "UPDATE audit_records SET rows = 7 WHERE id = 13")  # in the last, unsealed
    bad = audit(database_url, "verify", "--workers", "2", "--quiet")
    assert bad.returncode == 1, bad.stderr
    problems = {tuple(line.split("\t")[:2]) for line in bad.stdout.splitlines() if "\t" in line}
    assert {("changed", "记录 #9"), ("deleted", "记录 #2"), ("changed", "记录 #13")} <= problems, bad.stdout
    assert ("checkpoint_root", "检查点 #1") in problems


def test_cli_proof_round_trip_through_files(db, database_url, tmp_path: Path):
    fill(db, 6)
    pem = audit(database_url, "public-key")
    assert pem.returncode == 0 and pem.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert isinstance(serialization.load_pem_public_key(pem.stdout.encode()), Ed25519PublicKey)
    assert pem.stdout == keys.public_key_pem()
    (tmp_path / "platform.pem").write_text(pem.stdout)
    proof = audit(database_url, "proof", "req-0006")  # not in a checkpoint yet: sealed on demand
    assert proof.returncode == 0, proof.stderr
    (tmp_path / "proof.json").write_text(proof.stdout)
    assert json.loads(proof.stdout)["checkpoint"]["last_id"] == 6
    env_without_db = {k: v for k, v in os.environ.items() if k != "GOVDATA_DATABASE_URL"}
    env_without_db["GOVDATA_DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # offline: unused
    checked = subprocess.run([sys.executable, "-m", "govdata.cli", "audit", "check-proof",
                              str(tmp_path / "proof.json"), "--public-key", str(tmp_path / "platform.pem")],
                             capture_output=True, text=True, env=env_without_db, timeout=120, check=False)
    assert checked.returncode == 0, checked.stderr
    assert "证明有效" in checked.stdout and "req-0006" in checked.stdout
    altered = json.loads(proof.stdout)
    altered["record"]["purpose"] = "另一个用途"
    (tmp_path / "altered.json").write_text(json.dumps(altered, ensure_ascii=False))
    rejected = audit(database_url, "check-proof", str(tmp_path / "altered.json"),
                     "--public-key", str(tmp_path / "platform.pem"))
    assert rejected.returncode == 1 and "记录字段被改动" in rejected.stderr
    (tmp_path / "junk.json").write_text("not json")
    junk = audit(database_url, "check-proof", str(tmp_path / "junk.json"), "--public-key",
                 str(tmp_path / "platform.pem"))
    assert junk.returncode == 1 and "证明无效" in junk.stderr


def test_cli_proof_of_unknown_request_exits_1(db, database_url):
    fill(db, 1)
    missing = audit(database_url, "proof", "no-such-request")
    assert missing.returncode == 1 and missing.stdout == ""
    assert "audit_record_not_found" in missing.stderr


def test_cli_checkpoint_and_auditor_verify(db, database_url, tmp_path: Path):
    fill(db, 6)
    sealed = audit(database_url, "checkpoint")
    assert sealed.returncode == 0 and "检查点 #2:记录 #5–#6" in sealed.stdout
    again = audit(database_url, "checkpoint")
    assert again.returncode == 0 and "没有待签入的记录" in again.stdout
    (tmp_path / "platform.pem").write_text(keys.public_key_pem())
    auditor = audit(database_url, "verify", "--public-key", str(tmp_path / "platform.pem"))
    assert auditor.returncode == 0 and "未核对记录 MAC" in auditor.stdout
