"""The pages of data collection and quality, through the TestClient with a logged-in session: a department sets
its publishing policy, uploads a file, follows the job, reads the version's report and downloads its quarantine,
decides on a held version and rolls back, registers a source database; other departments are kept out.
Jobs run in the test (GOVDATA_WORKER_THREADS=0) with ``jobs.service.run_pending``."""

from __future__ import annotations

import io
import json
import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from govdata import i18n
from govdata.ingest import quality, service, sources, views
from govdata.ingest.models import DatasetVersion, Source
from govdata.jobs import service as jobs
from govdata.jobs.models import Job
from tests.factories import PASSWORD, liuzhou, principal_of, publish, resource_spec, with_standards

HOSTILE = "<script>x</script>"  # 18 characters: only the ID-number check refuses it, not the length


def id_number(body: str) -> str:
    """A valid 18-digit 公民身份号码 from its first 17 digits (GB 11643 check digit)."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


HEADER = "证明编号,新生儿姓名,母亲身份证号,出生日期"
# The back end derives an id_birth_date check between the resource's only ID number and only birth date (here the
# mother's and the baby's), so the sample ID numbers carry the row's birth date.
GOOD = [f"CZ0001,韦小宝,{id_number('45020320240102002')},2024-01-02",
        f"CZ0002,覃小花,{id_number('45020320240103002')},2024-01-03",
        f"CZ0003,黄小明,{id_number('45020320240104002')},2024-01-04"]
BAD = f"CZ0004,蓝小红,{HOSTILE},2024-01-05"  # line 5 of the file (the header is line 1)


def csv_bytes(*rows: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode(encoding)


def _csrf(client: TestClient, path: str = "/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def login(client: TestClient, username: str) -> None:
    client.cookies.clear()
    r = client.post("/login", data={"username": username, "password": PASSWORD, "next": "/",
                                    "csrf_token": _csrf(client)}, follow_redirects=False)
    assert r.status_code == 303, r.text


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


@pytest.fixture
def code(db) -> str:
    """The health commission's published 出生医学证明信息 (105/000001)."""
    liuzhou(db)
    with_standards(db)
    return publish(db, resource_spec())


def upload(client: TestClient, code: str, data: bytes, filename: str = "births.csv", *, htmx: bool = True,
           csrf: bool = True, **fields: str):
    form = {"encoding": "", "mode": "replace", **fields}
    if csrf:
        form["csrf_token"] = _csrf(client, f"/data/{code}")
    return client.post(f"/data/{code}/upload", data=form, files={"file": (filename, data, "text/csv")},
                       headers={"HX-Request": "true"} if htmx else {}, follow_redirects=False)


def job_id_in(html: str) -> str:
    return re.search(r'id="job-([0-9a-f]{32})"', html).group(1)


def set_policy(client: TestClient, code: str, value: str):
    return client.post(f"/data/{code}/policy", data={"hold_above_percent": value,
                                                     "csrf_token": _csrf(client, f"/data/{code}")},
                       follow_redirects=False)


def upload_and_run(client: TestClient, db, code: str, data: bytes, **fields: str) -> str:
    r = upload(client, code, data, **fields)
    assert r.status_code == 202, r.text
    assert "排队中" in r.text and 'hx-trigger="every 1s"' in r.text  # the fragment starts polling
    job_id = job_id_in(r.text)
    assert jobs.run_pending(db) == 1
    return job_id


def chart(html: str, element_id: str) -> list[dict]:
    tag = re.search(rf'<div[^>]*id="{element_id}"[^>]*>', html).group(0)
    return json.loads(unescape(re.search(r'data-series="([^"]*)"', tag).group(1)))


def versions_rows(html: str) -> list[list[str]]:
    body = re.search(r'<table class="striped versions">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [[_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


# ---- the department's flow ---------------------------------------------------------------------------------

def test_policy_upload_job_versions_and_report(client, db, code):
    login(client, "wj_staff")
    page = client.get(f"/data/{code}")
    assert page.status_code == 200
    assert 'type="file"' in page.text and 'name="encoding"' in page.text and 'name="mode"' in page.text
    for label in ("自动识别", "UTF-8", "GBK", "GB18030", "整体替换", "按主键补充/更正"):
        assert f">{label}</option>" in page.text
    assert "还没有数据版本" in page.text

    # The policy form: with 1 bad row of 4 (25 %), a threshold of 30 % publishes the version directly.
    r = set_policy(client, code, "30")
    assert r.status_code == 303 and r.headers["location"] == f"/data/{code}?notice=policy_saved#policy"
    assert service.get_policy(db, code) == 30.0
    assert "发布策略已保存" in client.get(r.headers["location"]).text
    r = set_policy(client, code, "150")
    assert r.status_code == 422 and "暂存阈值应在 0 到 100 之间" in r.text and 'value="150"' in r.text
    assert set_policy(client, code, "abc").status_code == 422
    assert service.get_policy(db, code) == 30.0

    job_id = upload_and_run(client, db, code, csv_bytes(*GOOD, BAD))

    # The fragment the page polls, now finished: the outcome, a link to the report, no more polling, and the
    # event that makes the page reload its versions table.
    done = client.get(f"/jobs/{job_id}", headers={"HX-Request": "true"})
    assert done.status_code == 200 and "<html" not in done.text
    assert "every 1s" not in done.text and "已完成" in done.text
    assert "已生成第 1 版(已发布):共 4 行,接收 3 行,拒绝 1 行" in _text(done.text)
    assert f'href="/data/{code}/versions/1"' in done.text
    assert done.headers["HX-Trigger"] == "ingest-job-done"
    assert "已生成第 1 版" in client.get(f"/jobs/{job_id}").text  # the whole page, without htmx

    # The versions table, on the page and as the fragment that refreshes it.
    for html in (client.get(f"/data/{code}").text,
                 client.get(f"/data/{code}?part=versions", headers={"HX-Request": "true"}).text):
        [row] = versions_rows(html)
        assert row[0] == "1 当前" and row[1] == "已发布" and "births.csv" in row[2] and "整体替换" in row[2]
        assert row[3:6] == ["4", "3", "1"] and row[7] == "wj_staff"
        assert f'href="/data/{code}/versions/1/rejected.xlsx"' in html

    # The report: the counts, both charts' data, the error with its reason, the user's value escaped.
    report = client.get(f"/data/{code}/versions/1")
    assert report.status_code == 200
    assert "第 1 版质量报告" in report.text and "已发布" in report.text
    version = service.get_version(db, principal_of(db, "wj_staff"), code, 1)
    scores = chart(report.text, "scores-chart")
    assert [s["name"] for s in scores] == list(quality.LABELS.values())
    assert [s["value"] for s in scores] == [version.quality[k] for k in quality.LABELS]
    assert chart(report.text, "rules-chart") == [{"name": "公民身份号码", "value": 1}]
    errors = re.search(r'<table class="striped errors">.*?</table>', report.text, re.S).group(0)
    [error] = re.findall(r"<tr>\s*<td>.*?</tr>", errors, re.S)
    cells = [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", error, re.S)]
    assert cells[:4] == ["5", "公民身份号码", "母亲身份证号", HOSTILE]
    assert "公民身份号码" in cells[4]  # the reason
    assert HOSTILE not in report.text and "&lt;script&gt;x&lt;/script&gt;" in report.text
    fill = re.search(r'<table class="striped fill-rates">.*?</table>', report.text, re.S).group(0)
    assert "证明编号" in fill and "100.0%" in fill
    assert f'href="/data/{code}/versions/1/rejected.xlsx"' in report.text
    assert "回滚到此版本" not in report.text  # it is the current version already
    assert ">发布</button>" not in report.text  # and not held


def test_quarantine_downloads_as_excel_with_the_bad_row_and_its_reason(client, db, code):
    login(client, "wj_staff")
    upload_and_run(client, db, code, csv_bytes(*GOOD, BAD))
    r = client.get(f"/data/{code}/versions/1/rejected.xlsx")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in r.headers["content-disposition"]
    book = load_workbook(io.BytesIO(r.content), read_only=True)
    rejected = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    assert rejected[0][:4] == ["证明编号", "新生儿姓名", "母亲身份证号", "出生日期"]
    assert len(rejected) == 2
    assert rejected[1][:4] == ["CZ0004", "蓝小红", HOSTILE, "2024-01-05"]
    assert "公民身份号码" in str(rejected[1][-1])  # the reason, beside the row
    errors = [list(row) for row in book.worksheets[1].iter_rows(values_only=True)]
    assert errors[0] == ["行号", "规则", "信息项", "值", "原因"]
    assert errors[1][:4] == [5, "公民身份号码", "母亲身份证号", HOSTILE]


def test_held_version_is_published_from_its_report_then_rolled_back(client, db, code):
    login(client, "wj_admin")
    upload_and_run(client, db, code, csv_bytes(*GOOD))  # clean: published
    upload_and_run(client, db, code, csv_bytes(GOOD[0], BAD))  # 50 % rejected > 5 %: held
    held = client.get(f"/data/{code}/versions/2")
    assert "暂存待确认" in held.text and "超过发布策略的阈值" in held.text
    assert ">发布</button>" in held.text and ">弃用</button>" in held.text
    listed = versions_rows(client.get(f"/data/{code}").text)
    assert [r[:2] for r in listed] == [["2", "暂存待确认"], ["1 当前", "已发布"]]

    # What changed from version 1, loaded into the report by htmx.
    assert f'hx-get="/data/{code}/versions/2/compare"' in held.text
    compare = client.get(f"/data/{code}/versions/2/compare", headers={"HX-Request": "true"})
    assert "新增 0 行,删除 2 行,修改 0 行" in _text(compare.text)
    assert "CZ0002" in compare.text and "CZ0003" in compare.text

    token = _csrf(client, f"/data/{code}/versions/2")
    r = client.post(f"/data/{code}/versions/2/publish", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/data/{code}/versions/2?notice=version_published"
    assert "该版本已发布" in client.get(r.headers["location"]).text
    assert service.latest_published(db, code).number == 2
    # Deciding twice is refused with the service's reason, on the page.
    r = client.post(f"/data/{code}/versions/2/discard", data={"csrf_token": token})
    assert r.status_code == 409 and "只有暂存的版本可以发布或弃用" in r.text

    report_1 = client.get(f"/data/{code}/versions/1").text
    assert "回滚到此版本" in report_1
    r = client.post(f"/data/{code}/versions/1/rollback", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/data/{code}/versions/3?notice=version_rolled_back"
    page = client.get(r.headers["location"]).text
    assert "由第 1 版回滚" in page and "已回滚" in page
    latest = service.latest_published(db, code)
    assert (latest.number, latest.source_kind, latest.rows_stored) == (3, "rollback", 3)


def test_failed_job_shows_the_reason_in_chinese(client, db, code):
    login(client, "wj_staff")
    job_id = upload_and_run(client, db, code, "新生儿姓名\n韦小宝\n".encode())  # no 证明编号 column
    done = client.get(f"/jobs/{job_id}", headers={"HX-Request": "true"})
    assert "失败" in done.text and "every 1s" not in done.text
    assert "文件缺少必填的信息项列" in done.text and "已有的数据版本不受影响" in done.text
    assert "Traceback" not in done.text
    assert db.scalar(select(func.count()).select_from(DatasetVersion)) == 0


def test_the_encoding_chosen_on_the_form_reads_the_file(client, db, code):
    """自动识别 is the default; a department whose GB18030 file is misdetected chooses the encoding itself."""
    login(client, "wj_staff")
    upload_and_run(client, db, code, csv_bytes(*GOOD, encoding="gb18030"), encoding="gb18030")
    version = service.get_version(db, principal_of(db, "wj_staff"), code, 1)
    assert (version.source["encoding"], version.rows_accepted) == ("gb18030", 3)
    assert service.read_rows(version)["baby_name"].to_list() == ["韦小宝", "覃小花", "黄小明"]
    r = upload(client, code, csv_bytes(*GOOD), encoding="ebcdic-martian")
    assert r.status_code == 200 and "不认识的字符编码" in r.text


def test_unsupported_file_is_refused_in_chinese(client, db, code):
    login(client, "wj_staff")
    r = upload(client, code, b"MZ\x90\x00", "setup.exe")  # htmx: the error is the fragment swapped in
    assert r.status_code == 200 and "不支持的文件类型" in r.text and "setup.exe" in r.text
    r = upload(client, code, b"MZ\x90\x00", "setup.exe", htmx=False)  # a plain form: the page again
    assert r.status_code == 422 and "不支持的文件类型" in r.text and 'type="file"' in r.text
    assert "Traceback" not in r.text
    r = upload(client, code, b"a,b\n", "data.csv", mode="append")
    assert "未知的提交方式" in r.text
    assert db.scalar(select(func.count()).select_from(Job)) == 0


def test_posts_without_the_csrf_token_are_refused(client, db, code):
    login(client, "wj_staff")
    r = upload(client, code, csv_bytes(*GOOD), csrf=False, htmx=False)
    assert r.status_code == 403 and "表单已失效" in r.text
    r = client.post(f"/data/{code}/policy", data={"hold_above_percent": "50"})
    assert r.status_code == 403
    assert db.scalar(select(func.count()).select_from(Job)) == 0 and service.get_policy(db, code) == 5.0


def test_another_department_is_kept_out(client, db, code):
    login(client, "wj_staff")
    job_id = upload_and_run(client, db, code, csv_bytes(*GOOD, BAD))
    login(client, "ga_admin")
    assert code not in client.get("/data").text
    for path in (f"/data/{code}", f"/data/{code}/versions/1", f"/data/{code}/versions/1/rejected.xlsx",
                 f"/data/{code}/versions/1/compare", f"/jobs/{job_id}"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "蓝小红" not in r.text
    token = _csrf(client, "/data")
    r = upload(client, code, csv_bytes(*GOOD))
    assert r.status_code == 403 and "只有该信息资源提供部门" in r.text
    for action in ("rollback", "publish", "discard"):
        assert client.post(f"/data/{code}/versions/1/{action}", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/data/{code}/policy", data={"csrf_token": token, "hold_above_percent": "99"}
                       ).status_code == 403
    assert db.scalar(select(func.count()).select_from(DatasetVersion)) == 1 and service.get_policy(db, code) == 5.0

    # An auditor reads everything but changes nothing: no upload form, no buttons.
    login(client, "auditor")
    page = client.get(f"/data/{code}")
    assert page.status_code == 200 and 'type="file"' not in page.text
    assert "回滚到此版本" not in client.get(f"/data/{code}/versions/1").text


def test_data_index_lists_the_departments_resources(client, db, code):
    other = publish(db, resource_spec(provider="GA", name="居民户籍信息"))
    login(client, "wj_staff")
    upload_and_run(client, db, code, csv_bytes(*GOOD))
    html = client.get("/data").text
    assert f'href="/data/{code}"' in html and "出生医学证明信息" in html
    assert other not in html  # another department's resource
    row = _text(re.search(r'<tbody>(.*?)</tbody>', html, re.S).group(1))
    assert "第 1 版" in row and " 3 " in f" {row} " and "已完成" in row
    version = service.latest_published(db, code)
    assert f"{version.score:.1f}" in row

    login(client, "auditor")  # auditors and the bureau see every department, with a filter
    assert code in client.get("/data").text and other in client.get("/data").text
    filtered = client.get("/data?org=GA").text
    assert other in filtered and f'href="/data/{code}"' not in filtered


def test_catalog_page_links_to_the_data_for_those_who_may_read_it(client, db, code):
    login(client, "wj_staff")
    assert f'href="/data/{code}"' in client.get(f"/catalog/r/{code}").text
    login(client, "ga_admin")
    assert f'href="/data/{code}"' not in client.get(f"/catalog/r/{code}").text


def test_quality_page_ranks_the_department(client, db, code):
    publish(db, resource_spec(provider="GA", name="居民户籍信息"))  # catalogued, no data yet: not ranked
    login(client, "wj_staff")
    assert "还没有部门提交数据" in client.get("/quality").text
    upload_and_run(client, db, code, csv_bytes(*GOOD))
    html = client.get("/quality").text
    ranking = chart(html, "ranking-chart")
    assert ranking == [{"name": "柳州市卫生健康委员会", "value": ranking[0]["value"]}]
    row = _text(re.search(r'<table class="striped ranking">.*?<tbody>(.*?)</tbody>', html, re.S).group(1))
    assert row.startswith("1 柳州市卫生健康委员会 1 / 1 100.0%")
    assert "柳州市公安局" not in row
    stats = _text(re.search(r'<section class="stats">(.*?)</section>', html, re.S).group(1))
    assert stats.startswith("1 / 2 已归集数据的资源 / 已发布资源 50.0% 归集覆盖率 1 数据版本 3 累计提交行数")
    assert f"{ranking[0]['value']:.1f}" in row


def test_source_with_an_unreachable_database_shows_the_error_and_keeps_the_input(client, db, code):
    login(client, "wj_admin")
    page = client.get("/sources")
    assert page.status_code == 200 and f'<option value="{code}"' in page.text
    form = {"csrf_token": _csrf(client, "/sources"), "name": "妇幼系统", "resource": code,
            "url": "mysql+pymysql://reader:typed-secret@127.0.0.1:1/births", "password": "S3cret-pass",
            "table": "birth_certificates", "query": "", "mode": "full", "watermark_column": "", "schedule": "0 2 * * *"}
    r = client.post("/sources", data=form)
    assert r.status_code == 422
    assert "无法连接部门数据库" in r.text
    assert 'value="妇幼系统"' in r.text and 'value="birth_certificates"' in r.text and 'value="0 2 * * *"' in r.text
    assert f'<option value="{code}" selected>' in r.text
    assert 'value="mysql+pymysql://reader@127.0.0.1:1/births"' in r.text  # the URL, less its password
    assert "S3cret-pass" not in r.text and "typed-secret" not in r.text
    assert db.scalar(select(func.count()).select_from(Source)) == 0

    r = client.post("/sources", data={**form, "table": "", "query": "DELETE FROM births"})
    assert r.status_code == 422 and "只读查询" in r.text and "DELETE FROM births" in r.text

    # Another department cannot attach a source to this resource.
    login(client, "ga_admin")
    assert f'<option value="{code}"' not in client.get("/sources").text
    r = client.post("/sources", data={**form, "csrf_token": _csrf(client, "/sources")})
    assert r.status_code == 403


def test_registered_source_is_listed_masked_pulled_and_deleted(client, db, code, monkeypatch):
    monkeypatch.setattr(sources.connectors, "test_connection", lambda spec: ["certificate_no"])
    login(client, "wj_admin")
    form = {"csrf_token": _csrf(client, "/sources"), "name": "妇幼系统", "resource": code,
            "url": "postgresql://reader@10.0.0.5:5432/mch", "password": "S3cret-pass", "table": "births",
            "query": "", "mode": "full", "watermark_column": "", "schedule": "manual"}
    r = client.post("/sources", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/sources?notice=source_created"
    html = client.get(r.headers["location"]).text
    assert "数据源已登记" in html and "妇幼系统" in html and "仅手动" in html
    assert "postgresql+psycopg://reader@10.0.0.5:5432/mch" in html and "S3cret-pass" not in html
    source = db.scalar(select(Source))
    assert f"/sources/{source.id}/pull" in client.get(f"/data/{code}").text

    token = _csrf(client, "/sources")
    r = client.post(f"/sources/{source.id}/pull", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert r.status_code == 202 and "数据源拉取" in r.text and 'hx-trigger="every 1s"' in r.text
    job = db.get(Job, job_id_in(r.text))
    assert (job.kind, job.status) == ("ingest.pull", "queued")

    login(client, "ga_admin")
    assert "妇幼系统" not in client.get("/sources").text
    assert client.post(f"/sources/{source.id}/delete", data={"csrf_token": _csrf(client, "/sources")}
                       ).status_code == 404
    login(client, "wj_admin")
    r = client.post(f"/sources/{source.id}/delete", data={"csrf_token": _csrf(client, "/sources")},
                    follow_redirects=False)
    assert r.status_code == 303 and "数据源已删除" in client.get(r.headers["location"]).text
    assert db.scalar(select(func.count()).select_from(Source)) == 0


# ---- labels ----------------------------------------------------------------------------------------------

def test_back_end_labels_are_marked_and_translated():
    """The pages translate the back end's Chinese labels: each must be marked in views.py and translated."""
    en = i18n.translations("en")
    tables = (service.STATUS_LABELS, service.MODES, service.RULE_LABELS, quality.LABELS, sources.SCHEDULE_LABELS,
              sources.MODE_LABELS)
    for table in tables:
        for label in table.values():
            assert label in views.BACKEND_LABELS, label
            assert en.gettext(label) != label, label


def test_pages_follow_the_english_locale(client, db, code):
    login(client, "wj_staff")
    upload_and_run(client, db, code, csv_bytes(*GOOD, BAD))
    client.cookies.set("gd_lang", "en")
    page = client.get(f"/data/{code}").text
    assert '<html lang="en">' in page and "上传数据" not in page
    report = client.get(f"/data/{code}/versions/1").text
    scores = chart(report, "scores-chart")
    assert [s["name"] for s in scores] == [i18n.translations("en").gettext(v) for v in quality.LABELS.values()]
    assert "质量报告" not in report
