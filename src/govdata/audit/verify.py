"""Verify: check every record's hash and link, every checkpoint's root, signature and link, and the head, and
say what was done to the trail.

Problems are collected in one pass (:mod:`govdata.audit.scan`) and classified afterwards from the hash links
(which record really precedes which): ``changed``, ``deleted``, ``inserted``, ``reordered``, ``chain_break`` (a
break nothing else explains), ``checkpoint_signature``, ``checkpoint_root``, ``checkpoint_deleted``,
``checkpoint_chain``, ``head``. A checkpoint whose root no longer matches pins a change to its range even when
whoever made it recomputed every hash after it. Record MACs are checked only where signatures do not already
protect the records: the unsealed tail, checkpoints whose root does not match, and records at a chain break (an
auditor holding only the public key skips them; the report says so).

Limit: someone who can write to the database can truncate the unsealed tail *and* roll ``audit_head`` back to a
copy taken earlier; nothing inside the database can show that. Checkpoints bound the window (and publishing
their roots elsewhere — a later step — closes it).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import String, Text, func, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from govdata.audit import keys, scan
from govdata.audit.canonical import FIELDS, JSON_FIELDS, mac_ok, python_hash_ok
from govdata.audit.chain import HEAD as _HEAD
from govdata.audit.chain import HEAD_COLUMNS, ZERO, Head, statement, statement_bytes
from govdata.audit.chain import R as _R
from govdata.audit.scan import Cp, ScanResult
from govdata.config import get_settings


@dataclass
class Problem:
    kind: str
    detail: str
    record_id: int | None = None
    last_record_id: int | None = None  # a range of records
    checkpoint_id: int | None = None

    def line(self) -> str:
        where = []
        if self.record_id is not None:
            where.append(f"记录 #{self.record_id}" + (f"–#{self.last_record_id}" if self.last_record_id
                                                      and self.last_record_id != self.record_id else ""))
        if self.checkpoint_id is not None:
            where.append(f"检查点 #{self.checkpoint_id}")
        return f"{self.kind}\t{' '.join(where) or '-'}\t{self.detail}"


@dataclass
class VerifyReport:
    records: int = 0
    checkpoints: int = 0
    first_id: int | None = None
    last_id: int | None = None
    unsealed: int = 0  # records after the last checkpoint (not yet signed)
    archived_through: int = 0
    macs_checked: bool = True
    rechecked: int = 0  # records whose database-built canonical form had to be re-checked in Python
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    def kinds(self) -> set[str]:
        return {p.kind for p in self.problems}

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "records_per_second": round(self.rate)}


def verify(db: Session, progress: Callable[[int, int], None] | None = None,
           public_keys: Sequence[str] | None = None, batch: int = 20000, workers: int | None = None) -> VerifyReport:
    """Check every record's hash and link, every checkpoint's root, signature and link, and the head.

    With ``public_keys`` (PEM strings) the check uses only those keys — an auditor's view: record MACs are not
    checked. Otherwise the platform's key file is used (and must exist). Reads one consistent snapshot.
    ``progress(done, total)`` is called after every batch of records.

    ``workers``: processes scanning the records (forked, each on its own connection). By default one per CPU
    (at most 4) from ``scan.PARALLEL_FROM`` records on, and only when the calling process has no other thread —
    forking a threaded process is unsafe; the CLI qualifies, a web worker does not."""
    started = time.perf_counter()
    engine = db.get_bind()
    conn = engine.connect()
    try:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")  # one read snapshot for the whole check (WAL)
        else:
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        report = _Verifier(conn, public_keys, progress, batch, workers).run()
    finally:
        conn.close()
    report.seconds = time.perf_counter() - started
    return report


class _Verifier:
    def __init__(self, conn: Connection, public_keys: Sequence[str] | None,
                 progress: Callable[[int, int], None] | None, batch: int, workers: int | None) -> None:
        self.conn = conn
        self.workers = workers
        self.dialect = conn.dialect.name
        self.progress = progress
        self.batch = batch
        self.report = VerifyReport()
        self.problems = self.report.problems
        self.key_missing: keys.KeyMissing | None = None
        self.mac_key: bytes | None = None
        if public_keys is None:
            try:
                pem = keys.public_key_pem(create=False)
            except keys.KeyMissing as exc:  # fine for an empty trail, an error otherwise (see run)
                self.key_missing, self.keys = exc, {}
            else:
                self.keys = {keys.key_id(pem): pem}
                self.mac_key = keys.record_mac_key(create=False)
        else:
            self.keys = {keys.key_id(pem): pem for pem in public_keys}
            self.mac_key = None
            self.report.macs_checked = False
        # anomalies of the streaming pass
        self.gaps: list[tuple[int, int]] = []
        self.breaks: list[tuple[int, bytes, int, bytes]] = []  # (row id, its prev_hash, previous row id, its hash)
        self.suspects: list[int] = []
        self.root_mismatch: list[Cp] = []
        self.changed: set[int] = set()
        self.beyond: set[int] = set()  # records after the head's last id
        self.mac_bad: set[int] = set()

    def add(self, kind: str, detail: str, **where: Any) -> None:
        self.problems.append(Problem(kind, detail, **where))

    # -- driver --------------------------------------------------------------------------------------------------

    def run(self) -> VerifyReport:
        head = self.conn.execute(select(*HEAD_COLUMNS).where(_HEAD.c.id == 1)).first()
        self.head = Head(*head) if head else None
        cps = scan.load_checkpoints(self.conn)
        self.report.checkpoints = len(cps)
        if self.key_missing is not None:
            if head is not None or cps or self.conn.execute(select(_R.id).limit(1)).first() is not None:
                raise self.key_missing
            return self.report
        self._check_checkpoints(cps)
        start, start_prev = self._start(cps)
        self.start, self.start_prev = start, start_prev
        self._stream(start, start_prev, cps)
        self._check_suspects()
        self._check_head()
        self._check_macs(cps)
        self._classify()
        self._check_archive()
        order = {"changed": 0, "deleted": 1, "inserted": 2, "reordered": 3, "chain_break": 4}
        self.problems.sort(key=lambda p: (p.record_id is None, p.record_id or 0, order.get(p.kind, 9),
                                          p.checkpoint_id or 0))
        return self.report

    def _start(self, cps: list[Cp]) -> tuple[int, bytes | None]:
        through = self.head.archived_through if self.head else 0
        self.report.archived_through = through
        if not through:
            return 0, ZERO
        for cp in cps:
            if cp.last_id == through:
                return through, cp.last_hash
        self.add("head", f"已归档至记录 #{through},但没有以该记录结尾的检查点", record_id=through)
        return through, None

    # -- checkpoints -------------------------------------------------------------------------------------------

    def _check_checkpoints(self, cps: list[Cp]) -> None:
        expect_id, expect_first, expect_prev = 1, 1, ZERO
        for cp in cps:
            st = statement(asdict(cp))
            pem = self.keys.get(cp.key_id)
            if cp.signature_alg != "ed25519":
                self.add("checkpoint_signature", f"签名算法 {cp.signature_alg} 无法核验", checkpoint_id=cp.id)
            elif pem is None:
                self.add("checkpoint_signature", f"签名密钥 {cp.key_id[:16]}… 不在可信公钥之列", checkpoint_id=cp.id)
            elif not keys.verify(pem, cp.signature, statement_bytes(st)):
                self.add("checkpoint_signature", "签名无效(检查点内容被改动或签名被伪造)", checkpoint_id=cp.id)
            if cp.count != cp.last_id - cp.first_id + 1 or cp.count < 1:
                self.add("checkpoint_chain", f"记录数 {cp.count} 与范围 #{cp.first_id}–#{cp.last_id} 不符",
                         checkpoint_id=cp.id)
            if cp.id != expect_id:
                self.add("checkpoint_deleted", f"检查点 #{expect_id}–#{cp.id - 1} 缺失(被删除)"
                         + (f",记录 #{expect_first}–#{cp.first_id - 1} 不再有签名覆盖"
                            if cp.first_id > expect_first else ""),
                         checkpoint_id=expect_id, record_id=expect_first if cp.first_id > expect_first else None,
                         last_record_id=cp.first_id - 1 if cp.first_id > expect_first else None)
            elif cp.first_id != expect_first:
                self.add("checkpoint_chain", f"检查点应从记录 #{expect_first} 开始,实为 #{cp.first_id}",
                         checkpoint_id=cp.id)
            elif cp.prev_root != expect_prev:
                self.add("checkpoint_chain", f"与上一检查点 #{cp.id - 1} 的根不衔接", checkpoint_id=cp.id)
            expect_id, expect_first, expect_prev = cp.id + 1, cp.last_id + 1, cp.merkle_root
        head = self.head
        last = cps[-1] if cps else None
        if head is None:
            return
        if head.checkpoint_id > (last.id if last else 0):
            self.add("checkpoint_deleted", f"链头记载的最后检查点为 #{head.checkpoint_id},其后的检查点缺失",
                     checkpoint_id=(last.id if last else 0) + 1)
        elif last and (head.checkpoint_id != last.id or head.sealed_id != last.last_id
                       or head.sealed_root != last.merkle_root):
            self.add("head", f"链头与最后检查点 #{last.id} 不符", checkpoint_id=last.id)

    # -- records: the hot loop --------------------------------------------------------------------------------------

    def _stream(self, start: int, start_prev: bytes | None, cps: list[Cp]) -> None:
        flagged = {p.checkpoint_id for p in self.problems if p.checkpoint_id is not None}
        bounds = scan.checkpoint_bounds(cps, start, flagged)
        top = self.conn.execute(select(func.max(_R.id))).scalar() or start
        total = max(0, top - start)
        alg = get_settings().audit_hash
        workers = self.workers
        if workers is None:
            workers = min(os.cpu_count() or 1, 4) if total >= scan.PARALLEL_FROM and scan.fork_is_safe() else 1
        parts = scan.segments(start, top, bounds, workers) if workers > 1 else [(start, None)]
        if len(parts) == 1:
            dbapi = self.conn.connection.dbapi_connection
            report = (lambda n: self.progress(n, max(n, total))) if self.progress else None
            results = [scan.scan_with_fallback(dbapi, self.conn.dialect, start, None, start_prev, bounds, alg,
                                               self.batch, report)]
        else:
            results = scan.scan_parallel(self.conn, parts, start_prev, bounds, alg, self.batch, total, self.progress)
        self._merge(results, start, start_prev, cps)

    def _merge(self, results: list[ScanResult], start: int, start_prev: bytes | None, cps: list[Cp]) -> None:
        prev_id, prev_hash = start, start_prev
        for i, r in enumerate(results):
            if i and r.first is not None:  # the link across the cut, which no worker could see
                r.breaks = [b for b in r.breaks if not (b[0] == r.first[0] and b[3] is None)]
                if r.first[1] != prev_hash:
                    r.breaks.insert(0, (r.first[0], r.first[1], prev_id, prev_hash))
            self.gaps += r.gaps
            self.breaks += r.breaks
            self.suspects += r.suspects
            if r.last is not None:
                prev_id, prev_hash = r.last
        by_id = {cp.id: cp for cp in cps}
        for cp_id, empty in sorted(cp for r in results for cp in r.roots):
            cp = by_id[cp_id]
            self.root_mismatch.append(cp)
            self.add("checkpoint_root", f"检查点覆盖的记录 #{cp.first_id}–#{cp.last_id} 全部缺失" if empty
                     else f"由记录 #{cp.first_id}–#{cp.last_id} 重算的默克尔根与签名的根不符", checkpoint_id=cp.id)
        n = sum(r.count for r in results)
        self.report.records = n
        self.report.last_id = prev_id if n else None
        self.last_hash_seen = prev_hash
        self.report.unsealed = max(0, prev_id - max((c.last_id for c in cps), default=0)) if n else 0

    # -- after the pass ------------------------------------------------------------------------------------------

    def _check_suspects(self) -> None:
        """Rows whose database-built canonical form did not hash right: recompute in Python from the columns."""
        self.report.rechecked = len(self.suspects)
        for chunk in scan.chunks(self.suspects, 500):
            cols = [type_coerce(_R[c], Text).label(c) if c in JSON_FIELDS
                    else type_coerce(_R[c], String).label(c) if c == "at" and self.dialect == "sqlite" else _R[c]
                    for c in ("id", "prev_hash", "hash", *FIELDS)]
            rows = self.conn.execute(select(*cols).where(_R.id.in_(chunk))).mappings().all()
            for row in rows:
                if not python_hash_ok(row):
                    self.changed.add(row["id"])
                    self.add("changed", "记录内容与其哈希不符(字段被修改)", record_id=row["id"])
        for first, last in self.gaps:
            self.add("deleted", "记录缺失(被删除)", record_id=first, last_record_id=last)

    def _check_head(self) -> None:
        head, last_id = self.head, self.report.last_id
        if head is None:
            if last_id is not None:
                self.add("head", "链头 audit_head 缺失")
            return
        if last_id is not None and last_id > head.last_id:
            rows = self.conn.execute(select(_R.id, _R.hash, _R.mac, _R.alg).where(_R.id > head.last_id)
                                     .order_by(_R.id)).all()
            for id_, h, mac, alg in rows:
                self.beyond.add(id_)
                if self.mac_key is not None and mac_ok(self.mac_key, h, mac, alg):
                    self.add("head", f"记录位于链头 #{head.last_id} 之后(记录编号被改动?)", record_id=id_)
                else:
                    self.add("inserted", f"记录位于链头 #{head.last_id} 之后(被插入)", record_id=id_)
        elif (last_id or self.start) < head.last_id:
            first_missing = (last_id or self.start) + 1
            self.add("deleted", "链尾的记录缺失(被删除)", record_id=first_missing, last_record_id=head.last_id)
        elif last_id == head.last_id and self.last_hash_seen != head.last_hash:
            self.add("head", "链头哈希与最后一条记录不符", record_id=last_id)

    def _check_macs(self, cps: list[Cp]) -> None:
        """MACs where no signature vouches for the records: the unsealed tail and checkpoints that do not match."""
        if self.mac_key is None:
            return
        sealed = max((c.last_id for c in cps), default=0)
        ranges = [(max(sealed, self.start) + 1, None)] + [(c.first_id, c.last_id) for c in self.root_mismatch]
        for first, last in ranges:
            cond = _R.id >= first if last is None else _R.id.between(first, last)
            for id_, h, mac, alg in self.conn.execute(select(_R.id, _R.hash, _R.mac, _R.alg).where(cond)):
                if not mac_ok(self.mac_key, h, mac, alg):
                    self.mac_bad.add(id_)

    def _classify(self) -> None:
        beyond = self.beyond
        breaks = [b for b in self.breaks if b[0] not in self.changed and b[0] not in beyond]
        gap_ends = {last + 1 for _, last in self.gaps}
        breaks = [b for b in breaks if b[0] not in gap_ends]
        forged = self.mac_bad - self.changed - beyond
        if not breaks and not forged:
            return
        candidates: set[int] = set(forged)
        for j, _, i, _ in breaks:
            candidates.update((i - 1, i, j, j + 1))
        rows = {}
        for chunk in scan.chunks(sorted(c for c in candidates if c > self.start), 500):
            for id_, prev, h, mac, alg in self.conn.execute(
                    select(_R.id, _R.prev_hash, _R.hash, _R.mac, _R.alg).where(_R.id.in_(chunk))):
                rows[id_] = (prev, h, mac, alg)
        want_owner = {r[0] for r in rows.values()}
        want_succ = {r[1] for r in rows.values()}
        owner: dict[bytes, int] = {}
        succ: dict[bytes, int] = {}
        cur = self.conn.execution_options(stream_results=True, yield_per=50000).execute(
            select(_R.id, _R.prev_hash, _R.hash).where(_R.id > self.start))
        for id_, prev, h in cur:
            if h in want_owner:
                owner[h] = id_
            if prev in want_succ:
                succ[prev] = id_
        last_id = self.report.last_id or self.start
        head_hash = self.head.last_hash if self.head else None

        def pred_pos(r: int) -> int | None:
            prev = rows[r][0]
            return self.start if prev == self.start_prev else owner.get(prev)

        def mac_fine(r: int) -> bool | None:
            if self.mac_key is None:
                return None
            return r not in self.mac_bad and mac_ok(self.mac_key, rows[r][1], rows[r][2], rows[r][3])

        verdict: dict[int, str] = {}
        for r in sorted(rows):
            if r in self.changed or r in beyond:
                continue
            pp, sp = pred_pos(r), succ.get(rows[r][1])
            is_last = r == last_id
            in_ok = pp == r - 1
            out_ok = sp == r + 1 or (is_last and sp is None)
            ok = mac_fine(r)
            if ok is False:
                nxt = r + 1
                displaced = (nxt in rows and pred_pos(nxt) is None) if nxt <= last_id else head_hash != rows[r][1]
                if displaced:
                    verdict[r] = "changed"
                    self.add("changed", "记录被改写并重算了哈希(不是本平台写入的,后一条记录仍指向原记录)", record_id=r)
                else:
                    verdict[r] = "inserted"
                    self.add("inserted", "记录不是本平台写入的(MAC 不符),被插入", record_id=r)
            elif not in_ok and not out_ok and pp is not None and (sp is not None or is_last):
                verdict[r] = "reordered"
                self.add("reordered", f"记录次序被改动:按哈希链它应在记录 #{pp} 之后", record_id=r)
            elif not in_ok and pp is None and r not in gap_ends and verdict.get(r - 1) != "changed":
                verdict[r] = "deleted"
                self.add("deleted", "此记录之前的记录缺失(被删除后重新编号,或前一条记录被改写)", record_id=r)
        for j, prev, i, _ in breaks:
            if j in verdict or i in verdict or (owner.get(prev) in verdict):
                continue
            self.add("chain_break", f"记录的 prev_hash 与记录 #{i} 的哈希不符", record_id=j)

    def _check_archive(self) -> None:
        through = self.report.archived_through
        if not through:
            return
        vouched = False
        untrusted = self.changed | self.mac_bad | self.beyond
        for id_, extra in self.conn.execute(select(_R.id, type_coerce(_R.extra, Text))
                                            .where(_R.kind == "audit.archive")):
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                if id_ not in untrusted and json.loads(extra).get("through") == through:
                    vouched = True
        if not vouched:
            self.add("deleted", "记录被删除:没有 audit.archive 记录说明这一段已归档", record_id=1,
                     last_record_id=through)


