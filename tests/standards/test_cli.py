from __future__ import annotations

import os
import subprocess
import sys

from govdata.standards import service

GOVDATA = [sys.executable, "-m", "govdata.cli"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*GOVDATA, *args], capture_output=True, text=True, env=os.environ.copy(), timeout=120)


def test_db_upgrade_loads_the_standards_and_export_writes_files(db, tmp_path):
    result = run("db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "数据标准已更新" in result.stdout
    assert service.get_element(db, "DE0002").name == "公民身份号码"
    assert "数据标准已是最新" in run("standards", "load").stdout
    target = tmp_path / "民族.xlsx"
    assert run("standards", "export-codeset", "gb3304_ethnic", str(target)).returncode == 0
    assert target.read_bytes().startswith(b"PK")
    target = tmp_path / "sex.csv"
    run("standards", "export-codeset", "gb2261_1_sex", str(target))
    assert target.read_text(encoding="utf-8-sig").splitlines()[1] == "0,未知的性别,"


def test_import_codeset_command_reports_bad_rows(db, tmp_path):
    source = tmp_path / "grid.csv"
    source.write_text("代码,名称\nG01,一号网格\nG01,重复\n", encoding="utf-8")
    result = run("standards", "import-codeset", "local_grid", str(source), "--title", "网格")
    assert result.returncode == 2 and "invalid_codeset_rows" in result.stderr
    source.write_text("代码,名称\nG01,一号网格\n", encoding="utf-8")
    result = run("standards", "import-codeset", "local_grid", str(source), "--title", "网格")
    assert result.returncode == 0, result.stderr
    assert service.codeset_detail(db, "local_grid")["values"][0]["label"] == "一号网格"
