from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from govdata.audit import service as audit
from govdata.audit.models import AuditRecord
from govdata.catalog import projection
from govdata.config import local_tz
from govdata.db import utcnow
from govdata.demo import datasets
from govdata.demo import service as demo
from govdata.demo import sharing as demo_sharing
from govdata.ingest import dashboard, readers
from govdata.ingest import service as ingest
from govdata.ingest.models import DatasetVersion
from govdata.orgs import service as orgs
from govdata.principal import CLI
from govdata.sharing import evaluation
from govdata.sharing import service as sharing
from govdata.standards import service as standards


def _versions(db) -> list[DatasetVersion]:
    return list(db.scalars(select(DatasetVersion).order_by(DatasetVersion.resource_code, DatasetVersion.number)))


def test_demo_load_brings_the_data_and_quality_pages_to_life(db):
    lines: list[str] = []
    demo.load(db, report=lines.append)
    entries = {e.code: e for e in projection.published_entries(db)}
    latest = dashboard.latest_published_versions(db)
    assert len(latest) >= 8
    assert len({entries[v.resource_code].provider for v in latest}) >= 6

    # every version: about the intended share of rows quarantined, for several different reasons
    planned = {(spec.name, number): release for spec in datasets.DATASETS
               for number, release in enumerate(spec.releases, 1)}
    names = {spec.name for spec in datasets.DATASETS}
    all_versions = _versions(db)
    versions = [v for v in all_versions if entries[v.resource_code].name in names]  # the open-data demo adds more
    assert len(versions) == len(planned)
    departments = len({spec.provider for spec in datasets.DATASETS})
    assert lines[0] == (f"演示数据版本:{len(datasets.DATASETS)} 个信息资源({departments} 个部门)"
                        f"新增 {len(versions)} 个版本,"
                        f"共 {sum(v.rows_total for v in versions)} 行,拒绝 {sum(v.rows_rejected for v in versions)} 行,"
                        f"暂存待确认 {sum(v.status == 'held' for v in versions)} 个")
    assert lines[1].startswith(f"演示共享:{len(demo_sharing.REQUESTS)} 个共享申请")
    for version in versions:
        release = planned[(entries[version.resource_code].name, version.number)]
        assert version.rows_total == release.rows and version.source_kind == "upload"
        assert abs(version.rows_rejected - round(release.rows * release.bad_share)) <= 1, version.resource_code
        assert version.rejected_key and ingest.error_rows(version).height >= version.rows_rejected
        if version.rows_rejected >= 4:
            assert len(version.errors_by_rule) >= 3, (version.resource_code, version.errors_by_rule)
        assert version.source["filename"].endswith(".csv") and version.source["encoding"] == "gb18030"
    rules = {rule for v in versions for rule in v.errors_by_rule}
    assert rules >= {"required", "id_number", "credit_code", "region_code", "date", "format", "codeset", "type",
                     "unique", "cross_field"}

    # one version waits for a decision; a 10% policy lets another department's dirtier exports through
    held = [v for v in versions if v.status == "held"]
    assert len(held) >= 1 and all(v.rows_rejected * 100 / v.rows_total > 5 for v in held)
    lenient = [v for v in versions if ingest.get_policy(db, v.resource_code) == 10.0]
    assert lenient and all(v.status == "published" for v in lenient)
    assert any(v.rows_rejected * 100 / v.rows_total > 5 for v in lenient)

    # versions spread over the past months: trends, and one late department
    now = utcnow()
    assert all(v.created_at <= now for v in versions)
    assert now - min(v.created_at for v in versions) > timedelta(days=60)
    ranking = dashboard.department_ranking(db)
    assert len(ranking) >= 6
    scores = [row["score"] for row in ranking]
    assert len(set(scores)) >= 5 and scores == sorted(scores, reverse=True)
    assert ranking[-1]["timeliness"] < 80 <= ranking[0]["timeliness"]
    trend = dashboard.resource_trend(db, CLI, latest[0].resource_code)
    assert len(trend["points"]) >= 2

    # sharing: requests in every state, a consumer system's gateway calls (and refusals) in a verifiable trail
    requests, _ = sharing.list_requests(db, CLI)
    assert {r.status for r in requests} >= {"granted", "pending_provider", "changes_requested", "rejected"}
    stats = evaluation.monthly(db, datetime.now(local_tz()).strftime("%Y-%m"))
    assert stats["providers"] and stats["consumers"]
    outcomes = set(db.scalars(select(AuditRecord.outcome).where(AuditRecord.kind == "exchange.call")))
    assert outcomes >= {"ok", "purpose_required", "not_granted"}
    assert audit.verify(db).ok

    # a second load adds nothing
    assert demo.load(db, report=lines.append) == [] and lines[-1] == "演示数据版本:已存在,未新增"
    assert datasets.load(db)["versions"] == 0
    assert db.scalar(select(func.count()).select_from(DatasetVersion)) == len(all_versions)


def test_demo_portal_is_alive_with_datasets_of_many_departments(db):
    from govdata.opendata import feedback as portal_feedback
    from govdata.opendata import listing, search, service

    lines: list[str] = []
    demo.load(db, report=lines.append)
    open_datasets = service.all_open(db)
    assert len(open_datasets) >= 10 and len({d.provider for d in open_datasets}) >= 10
    assert f"数据开放:{len(open_datasets)} 个数据集已在开放平台开放" in lines
    assert all(d.row_count > 0 and d.version_number >= 1 for d in open_datasets)
    assert search.search(db, q="医疗机构").total >= 1
    home = service.home(db)
    assert home["views"] > 0 and home["most_used"]
    states = {r["state"] for r in listing.candidates(db, CLI)}
    assert {"open", "refused", "no_version"} <= states  # the demo shows a refused report too
    k_checked = [c for d in open_datasets for c in listing.checks_of(db, d.code) if c.k_found is not None]
    assert k_checked and all(c.k_found >= c.k_threshold for c in k_checked)
    assert any(portal_feedback.public_for(db, d.code) for d in open_datasets)
    assert demo.load(db) == [] and len(service.all_open(db)) == len(open_datasets)  # reloading adds nothing


def _catalog_only(db) -> None:
    """The demo's organisations, standards and published catalog, without its datasets."""
    for spec in demo.org_specs():
        orgs.create(db, CLI, spec)
    standards.load_shipped(db)
    demo.load_catalog(db)


def test_generated_rows_without_bad_share_all_pass_validation(db):
    """Valid values for every item of every demo resource: ID numbers (check digit, birth date, birthplace) that
    agree with the row's birth date and sex, credit codes, current region codes, code-set values, unique keys."""
    _catalog_only(db)
    entries = projection.published_entries(db)
    assert len(entries) >= 60
    for entry in entries:
        doc = ingest.resource_doc(db, entry.code)
        frame = datasets.generate_rows(db, doc, 80, seed=11, bad_share=0)
        assert frame.columns == [i["key"] for i in doc["items"]] and frame.height == 80
        version = ingest.ingest_chunks(db, CLI, doc, [readers.Chunk(frame, None, 2)], frame.columns,
                                       source_kind="upload", source={"filename": "test.csv"})
        assert version.rows_rejected == 0, (entry.name, version.errors_by_rule, ingest.error_rows(version, 3))
        assert version.status == "published"


def test_generated_rows_are_deterministic_and_break_as_asked(db):
    _catalog_only(db)
    code = next(e.code for e in projection.published_entries(db) if e.name == "户籍人口登记信息")
    doc = ingest.resource_doc(db, code)
    first = datasets.generate_rows(db, doc, 300, seed=5, bad_share=0)
    assert first.equals(datasets.generate_rows(db, doc, 300, seed=5, bad_share=0))
    longer = datasets.generate_rows(db, doc, 400, seed=5, bad_share=0)
    assert longer.head(300).equals(first)  # a growing register: the earlier rows come again
    assert first["id_number"].n_unique() == 300
    assert (first["id_number"].str.slice(6, 8) == first["birth_date"].str.replace_all("-", "")).all()
    dirty = datasets.generate_rows(db, doc, 400, seed=5, bad_share=0.05)
    version = ingest.ingest_chunks(db, CLI, doc, [readers.Chunk(dirty, None, 2)], dirty.columns,
                                   source_kind="upload", source={"filename": "test.csv"})
    assert version.rows_rejected == 20
    assert len(version.errors_by_rule) >= 6
    assert version.status == "published"  # 5% is not above the default threshold of 5%
