"""Audit trail benchmark (issue 5): append N gateway-call records through the group-commit AuditWriter (a
checkpoint sealed and signed every 1,000 records), then time ``service.verify`` over the whole chain — every
record hash and link, every Merkle root, every signature — in this process and once as ``govdata audit verify``
in its own process. Also: ``service.record`` from 32 request threads, each waiting until its record is durable
(what a gateway call pays), on a fresh database.

Run: .venv/bin/python bench/audit.py [--sizes 100000,1000000] [--hash sha256,sm3] [--record 20000]
                                     [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
Target: ``govdata audit verify`` ≥ 200,000 records/s. Each size and backend runs in a fresh database; verify
runs --repeat times and the best and the median are printed (the machines are 2-core and noisy).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

WORK = Path(tempfile.mkdtemp(prefix="govdata-bench-audit-"))
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
os.environ["GOVDATA_VAR_DIR"] = str(WORK)
os.environ.setdefault("GOVDATA_SECRET_KEY", secrets.token_urlsafe(32))


from govdata import db as dbmod  # noqa: E402
from govdata import migrate  # noqa: E402
from govdata.audit import service  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.scratchdb
from tests.scratchdb import create_pg_database, drop_pg_database  # noqa: E402

ITEMS = ["id_number", "name", "sex", "birth_date", "household_region", "address", "phone"]
PURPOSES = ["办理最低生活保障审核", "核验申请人户籍信息", "不动产登记业务核验", "公积金提取资格核验"]


def record(i: int) -> dict:
    return {"kind": "exchange.call", "request_id": f"bench-{i:09d}-{secrets.token_hex(4)}",
            "consumer_org": f"11450200MB{i % 40:07d}", "consumer_system": f"民政业务系统{i % 7}",
            "consumer_person": f"工作人员{i % 300}", "resource": f"A0101/{i % 50:04d}",
            "items": ITEMS[: 3 + i % 5], "query": {"id_number": f"450202{19500101 + i % 500000:08d}{i % 10000:04d}"},
            "purpose": PURPOSES[i % len(PURPOSES)], "rows": i % 3,
            "response_hash": secrets.token_hex(32), "outcome": "ok" if i % 50 else "not_granted"}


def use_database(url: str) -> None:
    os.environ["GOVDATA_DATABASE_URL"] = url
    dbmod.reset_caches()
    migrate.upgrade(url)


def fresh_database(backend: str, pg_admin: str | None, tag: str) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{WORK / f'audit-{tag}.db'}", None
    return create_pg_database(pg_admin, f"govdata_bench_audit_{tag}")


def drop_database(pg_admin: str, name: str) -> None:
    dbmod.reset_caches()
    drop_pg_database(pg_admin, name)


def append(n: int, producers: int = 2, window: int = 20000) -> float:
    """N records through one AuditWriter, submitted by ``producers`` threads with at most ``window`` records
    each in flight (as request handlers waiting on their futures would be)."""
    started = time.perf_counter()
    errors: list[BaseException] = []
    with service.AuditWriter() as writer:
        def produce(part: range) -> None:
            try:
                pending: deque = deque()
                for i in part:
                    pending.append(writer.submit(record(i)))
                    if len(pending) >= window:
                        pending.popleft().result()
                for f in pending:
                    f.result()
            except BaseException as exc:
                errors.append(exc)

        step = -(-n // producers)
        threads = [threading.Thread(target=produce, args=(range(k * step, min(n, (k + 1) * step)),), daemon=True)
                   for k in range(producers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def cli_verify(url: str) -> dict:
    """``govdata audit verify --json`` in its own process, as an operator runs it."""
    env = {**os.environ, "GOVDATA_DATABASE_URL": url}
    done = subprocess.run([sys.executable, "-m", "govdata.cli", "audit", "verify", "--json"], env=env,
                          capture_output=True, text=True, check=False)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"], done.stderr or report["problems"][:5]
    return report


def measure(backend: str, url: str, n: int, algorithm: str, repeat: int) -> None:
    os.environ["GOVDATA_AUDIT_HASH"] = algorithm
    use_database(url)
    seconds = append(n)
    with dbmod.new_session() as db:
        service.checkpoint(db)
        runs = []
        for _ in range(repeat):
            report = service.verify(db)
            assert report.ok and report.records == n, report.problems[:5]
            runs.append(report.rate)
    cli = cli_verify(url)
    print(f"{backend:10} {algorithm:6} {n:>9,} records  append (AuditWriter) {n / seconds:>9,.0f}/s   "
          f"verify best {max(runs):>9,.0f}/s  median {statistics.median(runs):>9,.0f}/s   "
          f"govdata audit verify {cli['records_per_second']:>9,}/s  "
          f"(checkpoints {report.checkpoints:,}, re-checked in Python {report.rechecked})", flush=True)


def measure_record(backend: str, url: str, n: int, threads: int = 32) -> None:
    """``service.record`` from request threads: each call returns once its record is committed."""
    use_database(url)
    latencies: list[float] = []
    errors: list[BaseException] = []

    def call(part: range) -> None:
        try:
            for i in part:
                started = time.perf_counter()
                service.record(record(i))
                latencies.append(time.perf_counter() - started)
        except BaseException as exc:
            errors.append(exc)

    step = -(-n // threads)
    workers = [threading.Thread(target=call, args=(range(k * step, min(n, (k + 1) * step)),))
               for k in range(threads)]
    started = time.perf_counter()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    seconds = time.perf_counter() - started
    service.stop_writer()
    if errors:
        raise errors[0]
    latencies.sort()
    print(f"{backend:10} record() {n:>9,} calls from {threads} threads  {n / seconds:>9,.0f}/s   "
          f"latency p50 {latencies[len(latencies) // 2] * 1000:.1f} ms  "
          f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--hash", default="sha256,sm3", help="comma-separated: sha256, sm3")
    parser.add_argument("--postgres", default=os.environ.get("GOVDATA_TEST_POSTGRES"),
                        help="admin URL of a PostgreSQL server (a database is created and dropped per run)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--record", type=int, default=20000, help="calls of service.record (0: skip)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"audit benchmark — {platform.node()} {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}")
    backends = ["sqlite"] + (["postgresql"] if args.postgres else [])
    run(backends, args, sizes)
    return 0


def run(backends: list[str], args: argparse.Namespace, sizes: list[int]) -> None:
    for backend in backends:
        if args.record:
            with fresh(backend, args.postgres, "record") as url:
                measure_record(backend, url, args.record)
        for algorithm in args.hash.split(","):
            for n in sizes:
                with fresh(backend, args.postgres, f"{algorithm}{n}") as url:
                    measure(backend, url, n, algorithm, args.repeat)


@contextlib.contextmanager
def fresh(backend: str, pg_admin: str | None, tag: str) -> Iterator[str]:
    url, name = fresh_database(backend, pg_admin, tag)
    try:
        yield url
    finally:
        if name:
            drop_database(pg_admin, name)
        elif url.startswith("sqlite"):
            dbmod.reset_caches()
            for suffix in ("", "-wal", "-shm"):
                Path(url.split("///", 1)[1] + suffix).unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
