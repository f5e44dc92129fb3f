"""Exchange gateway benchmark (issue 5): exact-match lookups by an indexed item on a hosted resource — grant
check, masking and a durable audit record — against a bare endpoint on the same server, at 10k and 1M rows.

Setup (one temporary var folder and database): the Liuzhou organisations, a published person resource of GA per
size, N generated valid persons ingested through ``ingest.service.ingest_file`` (the platform's own validation),
a grant of every item to WJ (GA and the bureau approve), a system credential of WJ, the serving store warmed.

Load: the app is served by ``uvicorn --factory exchange:create_bench_app`` (``govdata.app.create_app()`` plus
``GET /bare/{code}``, which does only the serving lookup of the same columns and the JSON: no authentication,
grant, masking or audit) in a separate process, with 1 and 2 workers. Debian's ``wrk`` (``-t2 -c12``, a Lua
script picking a random existing ID number per request, ``Authorization`` and ``X-Purpose`` headers) measures
the most each endpoint serves; bare and gateway runs alternate (``--rounds``) and the means are printed. wrk has
no constant-rate mode, so the latency target is measured by an open-loop generator in another process (this
script's ``load`` command: asyncio, keep-alive connections, requests sent on a fixed schedule at 80 % of the
gateway's throughput, latency counted from each request's scheduled time, so a stall is not hidden). The
server's CPU time per answer is read from /proc. 12 connections: more than 14 concurrent gateway calls in one
process deadlock on the connection pool (docs/benchmarks.md, "Exchange gateway").

After the load: the audit records of gateway calls are counted against the answers the clients received, and
``govdata audit verify`` checks the whole chain.

Run: .venv/bin/python bench/exchange.py [--sizes 10000,1000000] [--workers 1,2] [--seconds 10] [--rounds 2]
                                        [--connections 12]
                                        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
     .venv/bin/python bench/exchange.py --experiments --sizes 10000 --rounds 3 --seconds 6
                                        # what each part of a call costs: variants of the app, same load
     .venv/bin/python bench/exchange.py --profile --sizes 10000   # parts timed alone; cProfile under load
Targets: gateway ≥ 50 % of bare throughput (same server, same workers, same run); p99 ≤ 50 ms at 80 % of the
gateway's throughput; latency flat from 10k to 1M rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import harness  # noqa: E402
from harness import cpu_seconds, free_port, use_environment  # noqa: E402

ROOT = HERE.parent
PURPOSE = "核验申请人户籍信息 案件 BENCH-2026-001"
ITEMS = ["id_number", "name", "sex", "birth_date", "region", "phone"]
REGIONS = ["450202", "450203", "450204", "450205", "450206", "450222", "450223", "450224", "450225", "450226"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
                "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦覃蓝莫欧阳")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华玉萍红娥玲芬燕彩春菊凤洁梅琳素云莲真环雪荣爱妹香月")
KEYS_PER_SIZE = 20_000


# ---- the bench app: the platform plus a bare endpoint -------------------------------------------------------------

def create_bench_app() -> Any:
    """``govdata.app.create_app()`` plus ``GET /bare/{code}``: the serving lookup of every item and the JSON,
    nothing else (same middleware, same threadpool, same serving store as the gateway). ``BENCH_VARIANT`` (the
    ``--experiments`` runs only) changes the app to measure what one part of a call costs."""
    from fastapi import Depends, Response

    from govdata.app import create_app
    from govdata.db import get_db, new_session
    from govdata.exchange import cache, serving
    from govdata.web.deps import api_principal

    variant = set(filter(None, os.environ.get("BENCH_VARIANT", "").split(",")))
    _apply_variant(variant)
    app = create_app()

    def lookup(code: str, id_number: str) -> Response:
        with new_session() as db:  # cached for 5 s, as the gateway reads them
            doc, version = cache.published_doc(db, code), cache.latest_version(db, code)
        columns = [item["key"] for item in doc["items"]]
        records = serving.lookup(version, doc["items"], {"id_number": id_number}, None, columns, 10)
        payload = json.dumps(records, ensure_ascii=False, separators=(",", ":"), default=str).encode()
        return Response(b'{"records":' + payload + b"}", media_type="application/json")

    @app.get("/bare/{code:path}")
    def bare(code: str, id_number: str) -> Response:
        return lookup(code, id_number)

    @app.get("/bare-db/{code:path}")
    def bare_db(code: str, id_number: str, db=Depends(get_db)) -> Response:
        """The bare lookup behind the gateway's session dependency (never used: no connection is taken)."""
        return lookup(code, id_number)

    @app.get("/bare-auth/{code:path}")
    def bare_auth(code: str, id_number: str, db=Depends(get_db), principal=Depends(api_principal)) -> Response:
        """The bare lookup behind the gateway's dependencies (a session, the credential resolved)."""
        return lookup(code, id_number)

    # the bench routes first, as the gateway's router is first in the platform: both are found at once
    app.router.routes[:] = app.router.routes[-3:] + app.router.routes[:-3]
    if "oneprincipal" in variant:
        app.dependency_overrides[api_principal] = _resolved_once(api_principal, get_db)
    return app


def _apply_variant(variant: set[str]) -> None:
    """Experiments, never the measured figures (see ``VARIANTS``)."""
    for name in sorted(variant & VARIANTS.keys()):
        VARIANTS[name]()


def _nohook() -> None:
    """No audit batch hook (the sharing call statistics)."""
    from govdata.audit import service as audit
    from govdata.sharing import stats

    audit.unregister_batch_hook(stats.count_calls)


def _noaudit() -> None:
    """The gateway without its audit record: nothing is recorded."""
    from types import SimpleNamespace

    from govdata.exchange import gateway

    gateway.audit = SimpleNamespace(record=lambda fields, timeout=None: 0)  # type: ignore[assignment]


def _onegrant() -> None:
    """The grant checked once per process and remembered."""
    from functools import lru_cache
    from types import SimpleNamespace

    from govdata.exchange import gateway
    from govdata.sharing import grants

    checked = lru_cache(maxsize=64)(_fresh_check)
    gateway.grants = SimpleNamespace(check_call=lambda db, org_id, code: checked(org_id, code),  # type: ignore
                                     today=grants.today)


# the app-level variant "oneprincipal" is applied in create_bench_app
VARIANTS = {"nohook": _nohook, "noaudit": _noaudit, "onegrant": _onegrant}


def _resolved_once(api_principal: Any, get_db: Any) -> Any:
    """A dependency override: the credential resolved on its first call in this process, then reused."""
    from fastapi import Depends, Request
    from sqlalchemy.orm import Session

    resolved: dict[str, Any] = {}

    def principal(request, db=Depends(get_db)):  # type: ignore[no-untyped-def]
        token = request.headers["authorization"]
        if token not in resolved:
            resolved[token] = api_principal(request, db)
        request.state.principal = resolved[token]
        return resolved[token]

    principal.__annotations__ = {"request": Request, "db": Session}  # resolved by FastAPI without the module
    return principal


def _fresh_check(org_id: int, code: str) -> Any:
    from govdata.db import new_session
    from govdata.sharing import grants

    with new_session() as db:
        return grants.check_call(db, org_id, code)


# ---- setup: organisations, resources, rows, grant, credential ---------------------------------------------------


def people(n: int, seed: int = 20261122) -> Any:
    """n valid, unique persons: ID numbers with check digits, birth dates and sexes that agree with them."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    index = np.arange(n)
    region = np.array(REGIONS)[rng.integers(0, len(REGIONS), n)]
    birth = np.datetime64("1945-01-01") + ((index // 1000) % 25000).astype("timedelta64[D]")
    seq = index % 1000
    ymd = np.datetime_as_string(birth, unit="D")
    compact = np.char.replace(ymd, "-", "")
    digits = np.concatenate([_digits(region.astype(np.int64), 6), _digits(compact.astype(np.int64), 8),
                             _digits(seq, 3)], axis=1)
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    check = np.array(list("10X98765432"))[(digits @ weights) % 11]
    ids = np.char.add(np.char.add(np.char.add(region, compact), np.char.zfill(seq.astype(str), 3)), check)
    pick = lambda pool: pl.Series(np.array(pool)[rng.integers(0, len(pool), n)])  # noqa: E731
    return pl.DataFrame({
        "id_number": ids, "name": pick(SURNAMES) + pick(GIVEN) + pick(GIVEN),
        "sex": np.where(seq % 2 == 1, "1", "2"), "birth_date": ymd, "region": region,
        "phone": "13" + pl.Series(rng.integers(100_000_000, 999_999_999, n)).cast(pl.String),
    })


def _digits(values: Any, width: int) -> Any:
    import numpy as np

    return np.stack([(values // 10 ** (width - 1 - i)) % 10 for i in range(width)], axis=1)


@dataclass
class Target:
    rows: int
    code: str
    keys: Path
    setup: dict[str, float] = field(default_factory=dict)


def build(work: Path, sizes: list[int]) -> tuple[str, list[Target]]:
    """Everything the load needs; returns the consumer's system token and one target per size."""
    from tests.factories import liuzhou, with_standards

    from govdata import migrate
    from govdata.accounts import service as accounts
    from govdata.accounts.schemas import CredentialCreate
    from govdata.db import new_session
    from govdata.exchange import masking
    from govdata.principal import CLI

    migrate.upgrade()
    with new_session() as db:
        liuzhou(db)
        with_standards(db)
        masking.seed_defaults(db)
        _, token = accounts.create_credential(db, CLI, CredentialCreate(org="WJ", name="出生一件事系统"))
        targets = [_target(db, work, n) for n in sizes]
    return token, targets


def _target(db: Any, work: Path, n: int) -> Target:
    from tests.factories import principal_of, publish, resource_spec
    from tests.ingest.conftest import PEOPLE_ITEMS

    from govdata.exchange import serving
    from govdata.ingest import service as ingest

    code = publish(db, resource_spec(provider="GA", name=f"人口基本信息{n}", items=PEOPLE_ITEMS,
                                     summary="户籍人口基本信息", update_cycle="monthly"))
    times: dict[str, float] = {}
    started = time.perf_counter()
    frame = people(n)
    csv = work / f"people-{n}.csv"
    frame.write_csv(csv)
    times["generate"] = time.perf_counter() - started
    started = time.perf_counter()
    version = ingest.ingest_file(db, principal_of(db, "ga_admin"), code, csv)
    times["ingest"] = time.perf_counter() - started
    assert version.status == "published" and version.rows_stored == n, (version.status, version.rows_stored)
    csv.unlink()
    _grant(db, code)
    started = time.perf_counter()
    serving.warm(db)
    times["serving build"] = time.perf_counter() - started
    keys = work / f"keys-{n}.txt"
    sample = frame["id_number"].sample(min(n, KEYS_PER_SIZE), seed=n)
    keys.write_text("".join(f"?id_number={k}\n" for k in sample))
    return Target(n, code, keys, times)


def _grant(db: Any, code: str) -> None:
    from tests.factories import principal_of

    from govdata.sharing import service as sharing
    from govdata.sharing.schemas import Decision, RequestCreate

    req = sharing.create_request(db, principal_of(db, "wj_admin"), RequestCreate(
        resource=code, items=ITEMS, purpose="办理出生一件事", matter="出生登记",
        basis="《柳州市政务数据共享管理办法》第十条", days=365))
    sharing.decide(db, principal_of(db, "ga_admin"), req.id, Decision(decision="approve"))
    sharing.decide(db, principal_of(db, "admin"), req.id, Decision(decision="approve"))


# ---- the server -------------------------------------------------------------------------------------------------


@dataclass
class Server:
    port: int
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the server and its worker processes so far."""
        pids = [self.pid] + [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _ppid(p) == self.pid]
        return sum(cpu_seconds(pid) for pid in pids)


def _ppid(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None



@contextmanager
def server(workers: int):
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "exchange:create_bench_app", "--app-dir", str(HERE),
           "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning",
           "--no-access-log"]
    proc = subprocess.Popen(cmd, env=os.environ.copy(), cwd=ROOT)
    try:
        harness.wait_ready(port, proc)
        yield Server(port, proc.pid)
    finally:
        harness.stop(proc)


# ---- closed-loop load: wrk ----------------------------------------------------------------------------------------

WRK_SCRIPT = """
local keys, prefix, counter = {}, "", 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  prefix = args[2]
  for line in io.lines(args[1]) do keys[#keys + 1] = line end
  math.randomseed(7919 * seed)
end
function request()
  return wrk.format("GET", prefix .. keys[math.random(#keys)])
end
"""


@dataclass
class Result:
    rate: float  # answers per second
    p50: float  # ms
    p99: float
    answers: int  # responses received (any status)
    refused: int  # non-2xx responses
    errors: int  # socket errors and timeouts
    load: str
    cpu_ms: float = 0.0  # the server's CPU time per answer


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(work: Path, srv: Server, path: str, keys: Path, headers: dict[str, str], seconds: float,
        connections: int) -> Result:
    cpu = srv.cpu_seconds()
    result = _wrk(work, srv.port, path, keys, headers, seconds, connections)
    result.cpu_ms = (srv.cpu_seconds() - cpu) * 1000 / max(1, result.answers)
    return result


def _wrk(work: Path, port: int, path: str, keys: Path, headers: dict[str, str], seconds: float,
         connections: int) -> Result:
    script = work / "keys.lua"
    script.write_text(WRK_SCRIPT)
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "--timeout", "10s", "-s", str(script)]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cmd += [f"http://127.0.0.1:{port}", "--", str(keys), path]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    answers = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return Result(rate=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
                  p50=_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
                  p99=_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
                  answers=answers, refused=int(non2xx.group(1)) if non2xx else 0,
                  errors=sum(int(g) for g in errors.groups()) if errors else 0,
                  load=f"wrk -t2 -c{connections}, max")


# ---- open-loop load: requests on a fixed schedule -----------------------------------------------------------------

def open_loop(srv: Server, path: str, keys: Path, headers: dict[str, str], rate: float, seconds: float,
              connections: int) -> Result:
    """Runs ``load`` (below) in another process and reads its JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "load", "--port", str(srv.port), "--path", path,
           "--keys", str(keys), "--rate", f"{rate:.1f}", "--seconds", str(seconds),
           "--connections", str(connections)]
    for name, value in headers.items():
        cmd += ["--header", f"{name}: {value}"]
    cpu = srv.cpu_seconds()
    out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    return Result(rate=out["rate"], p50=out["p50"], p99=out["p99"], answers=out["answers"], refused=out["refused"],
                  errors=out["errors"], load=f"open loop {rate:,.0f}/s, {connections} conns",
                  cpu_ms=(srv.cpu_seconds() - cpu) * 1000 / max(1, out["answers"]))


async def _load(port: int, path: str, keys: list[str], headers: list[str], rate: float, seconds: float,
                connections: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    head = "".join(f"{h}\r\n" for h in headers)
    slots: asyncio.Queue = asyncio.Queue()
    for _ in range(connections):
        slots.put_nowait(None)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = [0]
    rng = random.Random(20261122)

    async def one(due: float, target: str) -> None:
        conn = await slots.get()
        try:
            if conn is None:
                conn = await asyncio.open_connection("127.0.0.1", port)
            reader, writer = conn
            writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode("latin-1"))
            status_line = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            length = int(re.search(rb"(?i)\r\ncontent-length: (\d+)", status_line).group(1))  # type: ignore
            await reader.readexactly(length)
            latencies.append((loop.time() - due) * 1000)
            statuses[int(status_line[9:12])] += 1
        except (TimeoutError, OSError, asyncio.IncompleteReadError, AttributeError):
            errors[0] += 1
            conn = None
        slots.put_nowait(conn)

    total, interval = int(rate * seconds), 1.0 / rate
    start = loop.time() + 0.05
    tasks = []
    for i in range(total):
        due = start + i * interval
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(due, path + rng.choice(keys))))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    ordered = sorted(latencies) or [0.0]
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"rate": len(latencies) / elapsed, "answers": len(latencies), "errors": errors[0],
            "refused": sum(n for s, n in statuses.items() if s >= 300), "p50": pick(0.5), "p90": pick(0.9),
            "p99": pick(0.99), "p999": pick(0.999), "max": ordered[-1], "statuses": dict(statuses)}


def load_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="exchange.py load")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--keys", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args(argv)
    keys = Path(args.keys).read_text().split()
    out = asyncio.run(_load(args.port, args.path, keys, args.header, args.rate, args.seconds, args.connections))
    print(json.dumps(out))
    return 0


# ---- audit checks -----------------------------------------------------------------------------------------------

def audit_count() -> int:
    from sqlalchemy import func, select

    from govdata.audit.models import AuditRecord
    from govdata.db import new_session

    with new_session() as db:
        return db.scalar(select(func.count()).where(AuditRecord.kind == "exchange.call")) or 0


def audit_verify() -> dict[str, Any]:
    cmd = [sys.executable, "-m", "govdata.cli", "audit", "verify", "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), cwd=ROOT)
    return json.loads(out.stdout) if out.stdout.strip() else {"ok": False, "error": out.stderr[-2000:]}


# ---- the run ------------------------------------------------------------------------------------------------------

@dataclass
class Row:
    rows: int
    workers: int
    endpoint: str
    result: Result
    ratio: float | None = None


def mean(results: list[Result], load: str) -> Result:
    return Result(rate=statistics.fmean(r.rate for r in results), p50=statistics.fmean(r.p50 for r in results),
                  p99=statistics.fmean(r.p99 for r in results), answers=sum(r.answers for r in results),
                  refused=sum(r.refused for r in results), errors=sum(r.errors for r in results), load=load,
                  cpu_ms=statistics.fmean(r.cpu_ms for r in results))


def measure(work: Path, srv: Server, target: Target, workers: int, token: str, args: argparse.Namespace
            ) -> tuple[list[Row], int]:
    """Max throughput of bare and gateway (alternating rounds), then the gateway at 80 % open loop. Returns the
    rows and how many gateway answers the clients got."""
    auth = {"Authorization": f"Bearer {token}", "X-Purpose": quote(PURPOSE)}
    bare_path, gate_path = f"/bare/{target.code}", f"/api/v1/exchange/{target.code}"
    c = args.connections
    wrk(work, srv, bare_path, target.keys, {}, 2, c)  # warm the connections and the page cache
    answered = wrk(work, srv, gate_path, target.keys, auth, 2, c).answers
    bare, gate = [], []
    for _ in range(args.rounds):
        bare.append(wrk(work, srv, bare_path, target.keys, {}, args.seconds, c))
        gate.append(wrk(work, srv, gate_path, target.keys, auth, args.seconds, c))
    answered += sum(r.answers for r in gate)
    load = f"wrk -t2 -c{c}, max, mean of {args.rounds}"
    b, g = mean(bare, load), mean(gate, load)
    rows = [Row(target.rows, workers, "bare", b), Row(target.rows, workers, "gateway", g, g.rate / b.rate)]
    if g.rate >= 1:
        steady = open_loop(srv, gate_path, target.keys, auth, 0.8 * g.rate, args.seconds, c)
        answered += steady.answers
        rows.append(Row(target.rows, workers, "gateway @ 80 %", steady))
    for row in rows:
        print_row(row)
    return rows, answered


HEADER = (f"{'rows':>10} {'workers':>7}  {'endpoint':<15} {'load':<30} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'gw/bare':>7} {'CPU ms/req':>10} {'non-2xx':>7}")


def print_row(row: Row) -> None:
    r = row.result
    ratio = f"{row.ratio:.0%}" if row.ratio is not None else ""
    print(f"{row.rows:>10,} {row.workers:>7}  {row.endpoint:<15} {r.load:<30} {r.rate:>7,.0f} {r.p50:>7.2f} "
          f"{r.p99:>7.2f} {ratio:>7} {r.cpu_ms:>10.2f} {r.refused + r.errors:>7}", flush=True)


def run(work: Path, sizes: list[int], workers: list[int], args: argparse.Namespace, backend: str) -> list[Row]:
    token, targets = build(work, sizes)
    for t in targets:
        print(f"{t.rows:>10,} rows: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.setup.items()), flush=True)
    print(f"\n## {backend}\n{HEADER}", flush=True)
    rows: list[Row] = []
    answered = 0
    before = audit_count()
    for w in workers:
        with server(w) as srv:
            for target in targets:
                got, n = measure(work, srv, target, w, token, args)
                rows += got
                answered += n
    recorded = audit_count() - before
    print(f"\naudit records of gateway calls: {recorded:,}; answers the clients received: {answered:,} "
          f"(wrk does not count calls in flight when it stops: up to {args.connections} per run)")
    report = audit_verify()
    print(f"audit verify: ok={report.get('ok')} records={report.get('records')} "
          f"checkpoints={report.get('checkpoints')} seconds={report.get('seconds')}", flush=True)
    return rows


# ---- experiments: what each part of a call costs, without a profiler ---------------------------------------------

EXPERIMENTS = [  # label, variant, path prefix (bare | bare-db | bare-auth | gateway)
    ("bare", "", "bare"),
    ("bare + session (get_db, unused)", "", "bare-db"),
    ("bare + session + credential (the deps)", "", "bare-auth"),
    ("bare + session + credential resolved once", "oneprincipal", "bare-auth"),
    ("gateway", "", "gateway"),
    ("gateway, no audit batch hook", "nohook", "gateway"),
    ("gateway, no audit record at all", "noaudit", "gateway"),
    ("gateway, credential resolved once", "oneprincipal", "gateway"),
    ("gateway, grant checked once", "onegrant", "gateway"),
    ("gateway, credential + grant once, no audit", "oneprincipal,onegrant,noaudit", "gateway"),
]


def experiments(work: Path, sizes: list[int], args: argparse.Namespace) -> None:
    """One server per variant (1 worker each, all started at once), loaded in turn by wrk for ``--rounds``
    rounds: the median throughput and the server's CPU per call. The variants change the app in the server
    process only (``BENCH_VARIANT``); they measure the cost of a part, they are not the product."""
    from contextlib import ExitStack

    token, targets = build(work, sizes)
    target = targets[0]
    auth = {"Authorization": f"Bearer {token}", "X-Purpose": quote(PURPOSE)}
    prefix = {"bare": "/bare/", "bare-db": "/bare-db/", "bare-auth": "/bare-auth/", "gateway": "/api/v1/exchange/"}
    with ExitStack() as stack:
        servers = []
        for _, variant, kind in EXPERIMENTS:
            os.environ["BENCH_VARIANT"] = variant
            servers.append((stack.enter_context(server(1)), prefix[kind] + target.code))
        os.environ.pop("BENCH_VARIANT")
        results: list[list[Result]] = [[] for _ in EXPERIMENTS]
        for srv, path in servers:
            wrk(work, srv, path, target.keys, auth, 2, args.connections)
        for _ in range(args.rounds):
            for i, (srv, path) in enumerate(servers):
                results[i].append(wrk(work, srv, path, target.keys, auth, args.seconds, args.connections))
    print(f"\n## experiments: {target.rows:,} rows, 1 worker each, wrk -t2 -c{args.connections} "
          f"-d{int(args.seconds)}s, median of {args.rounds} interleaved rounds; CPU: the server process per call")
    print(f"{'variant':<44} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/call':>11}", flush=True)
    for (label, _, _), runs in zip(EXPERIMENTS, results, strict=True):
        rate, p50, p99, cpu = (statistics.median(getattr(r, k) for r in runs) for k in ("rate", "p50", "p99", "cpu_ms"))
        bad = sum(r.refused + r.errors for r in runs)
        print(f"{label:<44} {rate:>7,.0f} {p50:>7.2f} {p99:>7.2f} {cpu:>11.2f}"
              + (f"   non-2xx {bad}" if bad else ""), flush=True)


# ---- profile: where a gateway call's time goes ---------------------------------------------------------------------

def _timed(label: str, fn: Any, values: list[str]) -> float:
    samples = []
    for v in values:
        started = time.perf_counter_ns()
        fn(v)
        samples.append(time.perf_counter_ns() - started)
    samples.sort()
    p50, p99 = samples[len(samples) // 2] / 1000, samples[int(len(samples) * 0.99)] / 1000
    print(f"    {label:<44} p50 {p50:>8.1f} µs   p99 {p99:>8.1f} µs   mean {statistics.fmean(samples) / 1000:>8.1f} µs",
          flush=True)
    return p50


def profile(work: Path, sizes: list[int], calls: int = 2000) -> None:
    """One call at a time in this process: each part of a gateway call timed alone, the whole call, the whole
    request through the ASGI app (no socket); then cProfile of every thread of a server under load."""
    from govdata.accounts import service as accounts
    from govdata.db import new_session

    token, targets = build(work, sizes)
    with new_session() as db:
        principal = accounts.resolve_token(db, token, kind="api")
    for t in targets:
        values = [k.split("=", 1)[1] for k in t.keys.read_text().split()][:calls]
        print(f"\n## {t.rows:,} rows, {len(values)} calls each", flush=True)
        for label, fn in _parts(token, principal, t.code).items():
            _timed(label, fn, values)
        _asgi(token, t.code, values)
    _under_load(work, token, targets[-1], 10, 12)


def _parts(token: str, principal: Any, code: str) -> dict[str, Any]:
    import hashlib

    from govdata.accounts import service as accounts
    from govdata.audit import service as audit
    from govdata.db import new_session
    from govdata.exchange import cache, gateway, masking, serving
    from govdata.sharing import grants

    def session(fn: Any) -> Any:
        def run(v: str) -> Any:
            with new_session() as db:
                return fn(db, v)
        return run

    with new_session() as db:
        doc, version = cache.published_doc(db, code), cache.latest_version(db, code)
        grant, rules = grants.check_call(db, principal.org_id, code), masking.rules(db)

    def record(v: str) -> None:
        audit.record({"kind": "exchange.call", "outcome": "ok", "consumer_org": "WJ", "provider_org": "GA",
                      "resource": code, "items": grant.items, "query": {"filters": {"id_number": v}, "limit": 10},
                      "purpose": PURPOSE, "rows": 1, "response_hash": hashlib.sha256(v.encode()).hexdigest(),
                      "extra": {"ms": 1.0, "day": grants.today(), "grant_id": grant.id}})

    return {
        "new session + close (get_db)": session(lambda db, v: None),
        "accounts.resolve_token (system credential)": session(lambda db, v: accounts.resolve_token(db, token,
                                                                                                   kind="api")),
        "grants.check_call": session(lambda db, v: grants.check_call(db, principal.org_id, code)),
        "cache: doc + version + endpoint (hits)": session(lambda db, v: (
            cache.published_doc(db, code), cache.latest_version(db, code), cache.endpoint(db, code))),
        "masking.rules (cached)": session(lambda db, v: masking.rules(db)),
        "serving.lookup by id_number": lambda v: serving.lookup(
            version, doc["items"], {"id_number": v}, None, grant.items, 10),
        "masking.plan + apply": lambda v: masking.apply(
            serving.lookup(version, doc["items"], {"id_number": v}, None, grant.items, 10),
            masking.plan(doc["items"], set(grant.unmasked_items), rules)),
        "audit.record (one at a time: one commit)": record,
        "gateway.call (whole, one at a time)": session(
            lambda db, v: gateway.call(db, principal, code, [("id_number", v)], quote(PURPOSE))),
    }


def _asgi(token: str, code: str, values: list[str]) -> None:
    """Whole requests through the ASGI app with httpx's ASGI transport: the framework's share, no socket."""
    import httpx

    app = create_bench_app()
    auth = {"Authorization": f"Bearer {token}", "X-Purpose": quote(PURPOSE)}

    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for label, path, headers in (("ASGI request: bare", f"/bare/{code}", {}),
                                         ("ASGI request: gateway", f"/api/v1/exchange/{code}", auth)):
                samples = []
                for v in values:
                    started = time.perf_counter_ns()
                    response = await client.get(path, params={"id_number": v}, headers=headers)
                    samples.append(time.perf_counter_ns() - started)
                    assert response.status_code == 200, response.text
                samples.sort()
                print(f"    {label:<44} p50 {samples[len(samples) // 2] / 1000:>8.1f} µs   "
                      f"p99 {samples[int(len(samples) * 0.99)] / 1000:>8.1f} µs", flush=True)

    asyncio.run(go())


WAITS = ("acquire' of '_thread.lock", "acquire' of '_thread.RLock", "poll' of 'select.epoll", "select.select",
         "time.sleep", "get' of '_queue.SimpleQueue", "'run_forever'", "'run_until_complete'", "'run' of 'uvloop")


def _under_load(work: Path, token: str, target: Target, seconds: float, connections: int) -> None:
    """The app served in this process (uvicorn in a thread) under wrk from another process, with cProfile on
    every thread (event loop, threadpool, audit writer) counting each thread's CPU time: where the CPU goes per
    gateway call. cProfile roughly doubles the cost of small Python functions; read the shares, not the absolute
    times."""
    import cProfile
    import io
    import pstats
    import threading

    import uvicorn

    from govdata.audit import service as audit

    audit.stop_writer()  # its thread must start under the profiler
    profilers: list[cProfile.Profile] = []

    def start(frame: Any, event: str, arg: Any) -> None:
        sys.setprofile(None)
        profiler = cProfile.Profile(time.thread_time)  # CPU time of the thread: waits for the GIL do not count
        profilers.append(profiler)
        profiler.enable()

    port = free_port()
    config = uvicorn.Config(create_bench_app(), host="127.0.0.1", port=port, log_level="warning",
                            access_log=False)
    uv = uvicorn.Server(config)
    threading.setprofile(start)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    while not uv.started:
        time.sleep(0.05)
    auth = {"Authorization": f"Bearer {token}", "X-Purpose": quote(PURPOSE)}
    result = _wrk(work, port, f"/api/v1/exchange/{target.code}", target.keys, auth, seconds, connections)
    threading.setprofile(None)
    uv.should_exit = True
    thread.join(10)
    out = io.StringIO()
    stats = pstats.Stats(profilers[0], stream=out)
    for profiler in profilers[1:]:
        stats.add(profiler)
    calls = result.answers
    total = sum(tt for _, _, tt, _, _ in stats.stats.values())  # type: ignore[attr-defined]
    print(f"\n## under load: {calls:,} gateway calls in {seconds:g} s ({result.rate:,.0f}/s, non-2xx "
          f"{result.refused}, errors {result.errors}; 1 process, cProfile of every thread's CPU time: "
          f"{total * 1e6 / calls:,.0f} µs per call in all)", flush=True)
    _print_hot(stats, calls, "tottime", 25)
    _print_hot(stats, calls, "cumtime", 40, only="govdata/")


def _print_hot(stats: Any, calls: int, key: str, limit: int, only: str = "") -> None:
    rows = []
    for (filename, line, name), (_, nc, tt, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        label = f"{filename}:{line}({name})" if line else name
        where = label.replace(str(ROOT / "src") + "/", "").replace(str(ROOT / ".venv/lib/python3.11/site-packages")
                                                                   + "/", "")
        if only in where and not any(w in label for w in WAITS):
            rows.append((tt if key == "tottime" else ct, nc, tt, ct, where))
    rows.sort(reverse=True)
    print(f"  by {key}{' in ' + only if only else ''}: µs per gateway call (own / with callees), calls per "
          "gateway call (a coroutine counts once per resumption)", flush=True)
    for _, nc, tt, ct, where in rows[:limit]:
        print(f"    {tt * 1e6 / calls:>8.1f} {ct * 1e6 / calls:>8.1f} {nc / calls:>6.2f}  {where[:110]}")


def targets_met(rows: list[Row]) -> None:
    print("\n## against the targets")
    for r in rows:
        if r.ratio is not None:
            print(f"{r.rows:>10,} rows, {r.workers} worker(s): gateway/bare {r.ratio:.0%} (target ≥ 50 %)")
        if r.endpoint.startswith("gateway @"):
            print(f"{r.rows:>10,} rows, {r.workers} worker(s): p99 {r.result.p99:.1f} ms at "
                  f"{r.result.rate:,.0f} req/s (target ≤ 50 ms)")


def main() -> int:
    if sys.argv[1:2] == ["load"]:
        return load_main(sys.argv[2:])
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=12,
                        help="client connections (more than 14 per server process deadlock the gateway: see docs)")
    parser.add_argument("--postgres", help="also run on a fresh database of this PostgreSQL server (admin URL)")
    parser.add_argument("--database-url", help=argparse.SUPPRESS)  # the PostgreSQL run, in its own process
    parser.add_argument("--profile", action="store_true", help="time the parts of a gateway call in-process")
    parser.add_argument("--experiments", action="store_true",
                        help="what each part of a call costs: variants of the app under the same load")
    args = parser.parse_args()
    if not shutil.which("wrk") and not args.profile:
        print("wrk is not installed (apt-get install wrk)")
        return 1
    sizes = [int(s) for s in args.sizes.split(",")]
    if not args.database_url:
        print(f"# exchange gateway benchmark — {time.strftime('%Y-%m-%d %H:%M')} {platform.node()}, "
              f"{os.cpu_count()} CPUs, Python {platform.python_version()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="govdata-bench-exchange-"))
    try:
        use_environment(work, args.database_url)
        if args.profile:
            profile(work, sizes)
            return 0
        if args.experiments:
            experiments(work, sizes[:1], args)
            return 0
        backend = "PostgreSQL" if args.database_url else "SQLite (WAL)"
        targets_met(run(work, sizes, [int(w) for w in args.workers.split(",")], args, backend))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return run_postgres(args.postgres) if args.postgres else 0


def run_postgres(admin_url: str) -> int:
    """The same run on a fresh PostgreSQL database, in a new process (settings and caches start clean)."""
    return harness.run_postgres(__file__, admin_url, "govdata_bench_exchange")


if __name__ == "__main__":
    sys.exit(main())
