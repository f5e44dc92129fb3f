"""One-thing evidence assembly benchmark (一件事): the consent call of a newborn case — every proof of the package
fetched through the exchange gateway (one audited gateway call each, in file order, each waiting until its audit
record is durable) and the case written — with 1 and with 50 applicants at once, and the cost per extra source.

Setup (one temporary var folder and database, as an operator would): ``govdata db upgrade``, ``govdata demo load``
(the Liuzhou demo: ~1,000 consistent families, the shipped packages, the service centre's grants), then variants
of ``newborn.yaml`` loaded with ``govdata onething load``: ``bench_p0/1/3/8`` fetch 0, 1, 3 and 8 proofs. The
variants keep the newborn package whole (inputs, matters, forms, rules: the same case and the same answer to
build) and change only how many gateway calls the consent makes: proofs past the first n get ``when: False``
(status ``not_needed``, no call), and beyond the shipped five the same lookups are repeated under new keys
(母亲户籍, 婚姻, 社保卡 again). The 5-proof figures are the shipped ``newborn`` package itself. Applicants are the
demo's mothers whose newborn can be registered (``govdata.demo.families.applicants``), each signed in through
``POST /api/v1/auth/citizen``.

Load: the app runs as ``uvicorn --factory govdata.app:create_app`` (1 worker) in its own process; the clients
run in this process (asyncio + httpx, keep-alive). A case is ``POST /api/v1/onething/cases`` then ``POST
/api/v1/onething/cases/{id}/consent``; only the consent is timed. Four loads, every package under each:
* 1 client: ``--sequential`` cases per package one after another, the packages interleaved (the machine's noise
  falls on all alike): the latency of one assembly;
* N clients (``--clients``, 50): closed loop for ``--seconds`` after ``--warmup``, client k acting for applicants
  k, k + N, … (no two clients for the same person);
* N at once: N cases created (not timed), then their N consents sent at the same instant, ``--bursts`` times;
* open loop (``--rates``, newborn only): cases started on a fixed schedule, each by the next free applicant.
"CPU ms/case" is the server process's CPU (user + system, from /proc) per case (create + consent), the database
server's not included. The cost per source is a least-squares line over 1, 3, 5, 8 proofs, per load and figure.

Checks: every consent answered 200 with exactly n proofs ``fetched``; afterwards, for every case the bench made,
exactly n ``exchange.call`` audit records with the case number as purpose and outcome ``ok``; ``govdata audit
verify`` over the whole chain; the server log's errors, by exception. Then, in this process (``--profile``): the
consent of each package alone (per-source cost without HTTP), the parts of an assembly timed alone, the consent
under cProfile (wall clock), and whole cases through the ASGI app with cProfile on every thread.

Run: .venv/bin/python bench/onething.py [--clients 50] [--seconds 20] [--warmup 3] [--proofs 0,1,3,5,8]
                                        [--sequential 100] [--bursts 5] [--rates 5,10,15] [--rounds 1]
                                        [--profile 40] [--applicants 200] [--keep]
                                        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
Exit status 1 when any consent failed, an answer lacked a proof, an audit count was wrong or verify failed.
Target (product issue): evidence assembly for a newborn case (5 sources through the gateway, audited): p95 ≤ 150
ms with 50 applicants at once; report the cost per extra source.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import harness  # noqa: E402
from harness import cpu_seconds, free_port  # noqa: E402

ROOT = HERE.parent
SHIPPED = "newborn"  # 5 proofs: birth certificate, mother's and father's household, marriage, mother's card
AGAIN = ["mother_household", "marriage", "mother_card", "birth_cert"]  # repeated beyond the shipped five
INPUTS = {"phone": "13907720000", "household_choice": "随母落户", "card_bank": "柳州银行"}
TARGET_P95_MS = 150.0
SHIPPED_PROOFS = 5



def govdata(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "govdata.cli", *args], capture_output=True, text=True,
                          env=os.environ.copy(), cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"govdata {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}"
                         f"\n{done.stderr[-3000:]}")
    return done.stdout


# ---- setup: the demo instance and the package variants -----------------------------------------------------------

def package_key(n: int) -> str:
    return SHIPPED if n == SHIPPED_PROOFS else f"bench_p{n}"


def variant(n: int) -> str:
    """newborn.yaml fetching n proofs: the first n of the shipped five (the rest ``when: False``), or the five and
    n − 5 repeated lookups under new keys. Same inputs, matters, forms and rules; the flow as ``after`` lists."""
    import yaml

    from govdata.onething import package as pkg
    from govdata.onething import packages

    path = packages.SHIPPED_DIR / f"{SHIPPED}.yaml"
    shipped = pkg.read_file(path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw.update(key=package_key(n), name=f"个人出生一件事(基准:调取 {n} 项证明)")
    raw.pop("flow", None)
    raw.pop("samples", None)
    for m in raw["matters"]:
        m["after"] = shipped.needs[m["key"]]
    evidence = raw["evidence"]
    by_key = {e["key"]: e for e in evidence}
    for e in evidence[n:]:
        e["when"] = "False"
    for i in range(max(0, n - len(by_key))):
        source = by_key[AGAIN[i % len(AGAIN)]]
        evidence.append({**copy.deepcopy(source), "key": f"again{i + 1}_{source['key']}",
                         "label": f"{source['label']}(复核 {i + 1})"})
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False, width=200)


def setup(work: Path, proofs: list[int]) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """The demo instance, the variants loaded; returns the newborn applicants and the setup times."""
    times: dict[str, float] = {}
    started = time.perf_counter()
    govdata("db", "upgrade")
    times["db upgrade"] = time.perf_counter() - started
    started = time.perf_counter()
    govdata("demo", "load")
    times["demo load"] = time.perf_counter() - started
    folder = work / "packages"
    folder.mkdir()
    files = []
    for n in proofs:
        if n != SHIPPED_PROOFS:
            files.append(folder / f"{package_key(n)}.yaml")
            files[-1].write_text(variant(n), encoding="utf-8")
    if files:
        started = time.perf_counter()
        govdata("onething", "load", *map(str, files))
        times["onething load (variants)"] = time.perf_counter() - started

    from govdata.db import new_session
    from govdata.demo import families

    with new_session() as db:
        people = families.applicants(db, SHIPPED, 100_000)
    return people, times


# ---- the server ----------------------------------------------------------------------------------------------------



@dataclass
class Server:
    port: int
    pid: int

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)


@contextmanager
def server() -> Iterator[Server]:
    """``uvicorn --factory govdata.app:create_app``, 1 worker (the process itself serves: its CPU is the app's)."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "govdata.app:create_app", "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning", "--no-access-log"]
    log = open(Path(os.environ["GOVDATA_VAR_DIR"]) / "server.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env=os.environ.copy(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        harness.wait_ready(port, proc)
        yield Server(port, proc.pid)
    finally:
        harness.stop(proc)
        log.close()
        _server_errors(Path(log.name))


def _server_errors(path: Path) -> None:
    """The server's errors, by exception (the last line of each traceback), with the request of the first."""
    lines = path.read_text(errors="replace").splitlines()
    requests = [line for line in lines if " ERROR " in line]
    exceptions = Counter(line for line in lines if re.match(r"^[\w.]+(Error|Exception|Timeout)\b", line))
    if requests or exceptions:
        print(f"server log: {len(requests)} errors; first: {requests[0][:200] if requests else '-'}", flush=True)
        for text, n in exceptions.most_common(5):
            print(f"  {n:>5} × {text[:300]}", flush=True)


# ---- the clients ---------------------------------------------------------------------------------------------------

@dataclass
class Call:
    start: float  # loop time the consent was sent
    ms: float  # consent latency
    create_ms: float
    status: int
    number: str | None
    fetched: int  # proofs the answer shows as fetched


@dataclass
class Run:
    package: str
    proofs: int
    clients: int
    calls: list[Call]  # measured consents (after the warm-up)
    seconds: float  # measured window
    numbers: dict[str, int] = field(default_factory=dict)  # every case made (warm-up too) → proofs expected
    errors: int = 0  # exceptions (timeouts, connection errors), warm-up included
    cpu_ms: float = 0.0  # server CPU per case in the measured window
    rate_in: float | None = None  # open loop: cases started per second on a fixed schedule
    bursts: int = 0  # burst runs: how many times ``clients`` consents were sent at once

    def latencies(self) -> list[float]:
        return sorted(c.ms for c in self.calls if c.status == 200)

    def q(self, p: float) -> float:
        xs = self.latencies()
        return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")

    @property
    def mean(self) -> float:
        xs = self.latencies()
        return statistics.fmean(xs) if xs else float("nan")

    @property
    def rate(self) -> float:
        return len(self.latencies()) / self.seconds if self.seconds else 0.0

    @property
    def refused(self) -> int:
        return sum(c.status != 200 for c in self.calls)

    @property
    def incomplete(self) -> int:
        return sum(c.status == 200 and c.fetched != self.proofs for c in self.calls)


async def sign_in_all(port: int, people: list[dict[str, Any]], concurrency: int = 4) -> list[tuple[dict, str]]:
    """Each applicant's citizen token (the demo's identity check)."""
    import httpx

    out: list[tuple[dict, str] | None] = [None] * len(people)
    queue: asyncio.Queue = asyncio.Queue()
    for i in range(len(people)):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            person = people[i]
            r = await client.post("/api/v1/auth/citizen", json={"id_number": person["id_number"],
                                                                "name": person["name"]})
            if r.status_code == 200:
                out[i] = (person, r.json()["access_token"])

    limits = httpx.Limits(keepalive_expiry=2)  # below uvicorn's 5 s: no request on a connection being closed
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return [p for p in out if p is not None]


async def _cycle(client: Any, person: dict, token: str, package: str, loop: asyncio.AbstractEventLoop
                 ) -> tuple[Call, str | None]:
    headers = {"Authorization": f"Bearer {token}"}
    began = loop.time()
    r = await client.post("/api/v1/onething/cases", headers=headers, json={
        "package": package, "applicant": {"id_number": person["id_number"], "name": person["name"],
                                          "inputs": INPUTS}})
    create_ms = (loop.time() - began) * 1000
    if r.status_code != 201:
        return Call(began, 0.0, create_ms, r.status_code, None, 0), None
    case = r.json()
    start = loop.time()
    r = await client.post(f"/api/v1/onething/cases/{case['id']}/consent", headers=headers, json={"agree": True})
    ms = (loop.time() - start) * 1000
    fetched = sum(e["status"] == "fetched" for e in r.json().get("evidence", [])) if r.status_code == 200 else 0
    return Call(start, ms, create_ms, r.status_code, case["number"], fetched), case["number"]


async def _load(port: int, pairs: list[tuple[dict, str]], package: str, proofs: int, clients: int,
                seconds: float, warmup: float) -> Run:
    """``clients`` closed loops, each with its own applicants (client k: applicants k, k + clients, …)."""
    import httpx

    loop = asyncio.get_running_loop()
    run = Run(package, proofs, clients, [], seconds)
    measure_from = loop.time() + warmup
    deadline = measure_from + seconds

    async def client_loop(k: int, http: httpx.AsyncClient) -> None:
        mine = pairs[k::clients]
        i = 0
        while loop.time() < deadline:
            person, token = mine[i % len(mine)]
            i += 1
            try:
                call, number = await _cycle(http, person, token, package, loop)
            except (httpx.HTTPError, OSError, ValueError):
                run.errors += 1
                continue
            if number:
                run.numbers[number] = proofs
            if call.start >= measure_from and call.start + call.ms / 1000 <= deadline:
                run.calls.append(call)

    limits = httpx.Limits(max_connections=clients + 5, max_keepalive_connections=clients + 5, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits) as http:
        await asyncio.gather(*(client_loop(k, http) for k in range(clients)))
    return run


async def _open(port: int, pairs: list[tuple[dict, str]], package: str, proofs: int, rate: float, seconds: float,
                warmup: float) -> Run:
    """Cases started on a fixed schedule (``rate`` per second), each by the next applicant who has none in
    flight; the consent is sent as soon as the case exists."""
    import httpx

    loop = asyncio.get_running_loop()
    run = Run(package, proofs, 0, [], seconds, rate_in=rate)
    free: asyncio.Queue = asyncio.Queue()
    for pair in pairs:
        free.put_nowait(pair)
    t0 = loop.time() + 0.05
    measure_from, deadline = t0 + warmup, t0 + warmup + seconds

    async def one(due: float, http: httpx.AsyncClient) -> None:
        person, token = pair = await free.get()
        try:
            call, number = await _cycle(http, person, token, package, loop)
        except (httpx.HTTPError, OSError, ValueError):
            run.errors += 1
            return
        finally:
            free.put_nowait(pair)
        if number:
            run.numbers[number] = proofs
        if measure_from <= due < deadline:
            run.calls.append(call)

    limits = httpx.Limits(max_connections=len(pairs), max_keepalive_connections=len(pairs), keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits) as http:
        tasks = []
        for i in range(int(rate * (warmup + seconds))):
            due = t0 + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one(due, http)))
        await asyncio.gather(*tasks)
    return run


def open_loop(srv: Server, pairs: list[tuple[dict, str]], n: int, rate: float, seconds: float, warmup: float) -> Run:
    cpu = srv.cpu_seconds()
    run = asyncio.run(_open(srv.port, pairs, package_key(n), n, rate, seconds, warmup))
    run.cpu_ms = (srv.cpu_seconds() - cpu) * 1000 / max(1, len(run.numbers))
    return run


async def _burst(port: int, pairs: list[tuple[dict, str]], package: str, proofs: int, size: int, bursts: int
                 ) -> Run:
    """``size`` applicants each with a case just created (not timed), then all their consents sent at the same
    instant; ``bursts`` times, other applicants each time when there are enough."""
    import httpx

    loop = asyncio.get_running_loop()
    run = Run(package, proofs, size, [], 0.0)
    limits = httpx.Limits(max_connections=size + 5, max_keepalive_connections=size + 5, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits) as http:
        for b in range(bursts):
            group = [pairs[(b * size + k) % len(pairs)] for k in range(size)]

            async def create(person: dict, token: str) -> tuple[dict, str, dict]:
                r = await http.post("/api/v1/onething/cases", headers={"Authorization": f"Bearer {token}"}, json={
                    "package": package, "applicant": {"id_number": person["id_number"], "name": person["name"],
                                                      "inputs": INPUTS}})
                r.raise_for_status()
                return person, token, r.json()

            created = await asyncio.gather(*(create(p, t) for p, t in group), return_exceptions=True)
            made = [c for c in created if isinstance(c, tuple)]
            run.errors += len(created) - len(made)
            began = loop.time()

            async def consent(token: str, case: dict) -> Call:
                start = loop.time()
                r = await http.post(f"/api/v1/onething/cases/{case['id']}/consent",
                                    headers={"Authorization": f"Bearer {token}"}, json={"agree": True})
                fetched = (sum(e["status"] == "fetched" for e in r.json().get("evidence", []))
                           if r.status_code == 200 else 0)
                return Call(start, (loop.time() - start) * 1000, 0.0, r.status_code, case["number"], fetched)

            calls = await asyncio.gather(*(consent(t, c) for _, t, c in made), return_exceptions=True)
            run.seconds += loop.time() - began
            for (_, _, case), call in zip(made, calls, strict=True):
                run.numbers[case["number"]] = proofs
                if isinstance(call, Call):
                    run.calls.append(call)
                else:
                    run.errors += 1
            await asyncio.sleep(0.5)  # the server idle again (the audit writer drained)
    return run


def burst(srv: Server, pairs: list[tuple[dict, str]], n: int, size: int, bursts: int) -> Run:
    cpu = srv.cpu_seconds()
    run = asyncio.run(_burst(srv.port, pairs, package_key(n), n, size, bursts))
    run.bursts = bursts
    run.cpu_ms = (srv.cpu_seconds() - cpu) * 1000 / max(1, len(run.numbers))
    return run


async def _sequential(port: int, pairs: list[tuple[dict, str]], proofs: list[int], count: int) -> dict[int, Run]:
    """One client, one case at a time, the packages interleaved (case k uses the next package in turn, the
    order rotating), so that the machine's noise falls on every package alike; a few unmeasured cycles first."""
    import httpx

    loop = asyncio.get_running_loop()
    runs = {n: Run(package_key(n), n, 1, [], 0.0, cpu_ms=float("nan")) for n in proofs}
    limits = httpx.Limits(max_connections=2, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits) as http:
        for i in range(count + 2):
            order = proofs[i % len(proofs):] + proofs[:i % len(proofs)]
            for j, n in enumerate(order):
                person, token = pairs[(i * len(proofs) + j) % len(pairs)]
                run = runs[n]
                began = loop.time()
                try:
                    call, number = await _cycle(http, person, token, package_key(n), loop)
                except (httpx.HTTPError, OSError, ValueError):
                    run.errors += 1
                    continue
                if number:
                    run.numbers[number] = n
                if i >= 2:
                    run.calls.append(call)
                    run.seconds += loop.time() - began
    return runs


def sequential(srv: Server, pairs: list[tuple[dict, str]], proofs: list[int], count: int) -> dict[int, Run]:
    return asyncio.run(_sequential(srv.port, pairs, proofs, count))


def load(srv: Server, pairs: list[tuple[dict, str]], n: int, clients: int, seconds: float, warmup: float) -> Run:
    cpu = srv.cpu_seconds()
    run = asyncio.run(_load(srv.port, pairs, package_key(n), n, clients, seconds, warmup))
    # CPU over the whole run (warm-up and drain included) per case made: the server does nothing else meanwhile
    run.cpu_ms = (srv.cpu_seconds() - cpu) * 1000 / max(1, len(run.numbers))
    return run


# ---- checks --------------------------------------------------------------------------------------------------------

def audit_check(expected: dict[str, int]) -> tuple[int, int, list[str]]:
    """Cases whose ``exchange.call`` records (purpose = the case number) are exactly n, all ``ok``."""
    from sqlalchemy import case, func, select

    from govdata.audit.models import AuditRecord
    from govdata.db import new_session

    with new_session() as db:
        rows = db.execute(select(AuditRecord.purpose, func.count(),
                                 func.sum(case((AuditRecord.outcome == "ok", 1), else_=0)))
                          .where(AuditRecord.kind == "exchange.call", AuditRecord.purpose.like("YJS%"))
                          .group_by(AuditRecord.purpose)).all()
    found = {purpose: (int(total), int(ok or 0)) for purpose, total, ok in rows}
    good, bad = 0, []
    for number, n in expected.items():
        total, ok = found.get(number, (0, 0))
        if total == n and ok == n:
            good += 1
        else:
            bad.append(f"{number}: {total} records, {ok} ok, {n} expected")
    return good, len(expected), bad


def audit_verify() -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "govdata.cli", "audit", "verify", "--json"], capture_output=True,
                         text=True, env=os.environ.copy(), cwd=ROOT, check=False)
    return json.loads(out.stdout) if out.stdout.strip() else {"ok": False, "error": out.stderr[-2000:]}


# ---- report --------------------------------------------------------------------------------------------------------

HEADER = (f"{'package':<11} {'proofs':>6} {'clients':>7} {'consents':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
          f"{'mean ms':>7} {'max ms':>7} {'consents/s':>10} {'create p50':>10} {'CPU ms/case':>11} {'errors':>6}")


def print_run(r: Run) -> None:
    create = statistics.median(c.create_ms for c in r.calls) if r.calls else float("nan")
    bad = r.refused + r.errors + r.incomplete
    cpu = "-" if r.cpu_ms != r.cpu_ms else f"{r.cpu_ms:.1f}"  # NaN: not measured per package
    clients = f"{r.rate_in:g}/s" if r.rate_in else f"{r.clients}×{r.bursts}" if r.bursts else str(r.clients)
    print(f"{r.package:<11} {r.proofs:>6} {clients:>7} {len(r.calls):>8} {r.q(0.5):>7.1f} {r.q(0.95):>7.1f} "
          f"{r.q(0.99):>7.1f} {r.mean:>7.1f} {r.q(1.0):>7.1f} {r.rate:>10.1f} {create:>10.1f} {cpu:>11} "
          f"{bad:>6}", flush=True)


def fit(points: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Least squares y = a + b·x: (b, a, r²)."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    slope, intercept = statistics.linear_regression(xs, ys)
    r2 = statistics.correlation(xs, ys) ** 2 if len(set(ys)) > 1 else 1.0
    return slope, intercept, r2


def merge(runs: list[Run]) -> Run:
    """Rounds of one configuration pooled: all measured consents, the windows added."""
    first = runs[0]
    out = Run(first.package, first.proofs, first.clients, [c for r in runs for c in r.calls],
              sum(r.seconds for r in runs), {k: v for r in runs for k, v in r.numbers.items()},
              sum(r.errors for r in runs), statistics.fmean(r.cpu_ms for r in runs), first.rate_in,
              sum(r.bursts for r in runs))
    return out


def report_cost(groups: dict[str, dict[int, Run]], proofs: list[int]) -> None:
    fitted = [n for n in proofs if n >= 1]
    print(f"\n## cost per extra source: least squares over {', '.join(map(str, fitted))} proofs "
          "(y = fixed + per source × n); the 0-proof package shows what a consent costs without any fetch")
    print(f"{'load':<16} {'figure':<20} {'per source':>11} {'fixed':>9} {'r²':>6}   "
          + "  ".join(f"{n:>2} proofs" for n in proofs))
    figures = [("consent p50 ms", lambda r: r.q(0.5)), ("consent p95 ms", lambda r: r.q(0.95)),
               ("consent mean ms", lambda r: r.mean), ("server CPU ms/case", lambda r: r.cpu_ms)]
    for load_label, runs in groups.items():
        for label, get in figures:
            if any(get(runs[n]) != get(runs[n]) for n in proofs):
                continue  # NaN: not measured per package
            if len(fitted) >= 2:
                slope, intercept, r2 = fit([(n, get(runs[n])) for n in fitted])
                fitted_text = f"{slope:>8.2f} ms {intercept:>6.1f} ms {r2:>6.3f}"
            else:
                fitted_text = f"{'':>11} {'':>9} {'':>6}"
            print(f"{load_label:<16} {label:<20} {fitted_text}   "
                  + "  ".join(f"{get(runs[n]):>9.1f}" for n in proofs), flush=True)


# ---- profile: one assembly at a time, in this process ---------------------------------------------------------------

def _start_cases(people: list[dict[str, Any]], count: int) -> list[tuple[Any, int]]:
    from govdata.db import new_session
    from govdata.demo.onething import citizen
    from govdata.onething import service

    out = []
    with new_session() as db:
        for person in (people * (1 + count // max(1, len(people))))[:count]:
            who = citizen(person)
            case = service.start(db, who, SHIPPED, {"id_number": person["id_number"], "name": person["name"],
                                                    "inputs": INPUTS})
            out.append((who, case.id))
    return out


def _assemble(who: Any, case_id: int) -> None:
    """What the consent endpoint does: ``service.consent`` and the case as answered."""
    from govdata.db import new_session
    from govdata.onething import service

    with new_session() as db:
        service.case_dict(db, service.consent(db, who, case_id, agree=True))


def profile(people: list[dict[str, Any]], count: int) -> None:
    """The shipped package, one case at a time in this process: (1) wall and CPU time of the parts; (2) the
    consent under cProfile with the wall clock (the request thread; waits show as lock acquisitions); (3) whole
    cases (create + consent) through the ASGI app, no socket, with cProfile on every thread counting each
    thread's CPU time (request threads, event loop, audit writer): where the server's CPU per case goes."""
    import cProfile
    import pstats

    from govdata.db import new_session
    from govdata.demo.onething import citizen
    from govdata.onething import service

    for who, case_id in _start_cases(people, 5):  # warm the caches (grants, packages, serving files)
        _assemble(who, case_id)
    parts: dict[str, list[tuple[float, float]]] = {"create: service.start + case_dict": [],
                                                    "consent: service.consent + case_dict": []}
    for person in (people * (1 + count // max(1, len(people))))[:count]:
        who = citizen(person)
        wall, cpu = time.perf_counter(), time.process_time()
        with new_session() as db:
            case = service.start(db, who, SHIPPED, {"id_number": person["id_number"], "name": person["name"],
                                                    "inputs": INPUTS})
            service.case_dict(db, case)
        parts["create: service.start + case_dict"].append((time.perf_counter() - wall, time.process_time() - cpu))
        wall, cpu = time.perf_counter(), time.process_time()
        _assemble(who, case.id)
        parts["consent: service.consent + case_dict"].append((time.perf_counter() - wall,
                                                              time.process_time() - cpu))
    print(f"\n## profile: {SHIPPED}, one case at a time in this process (no HTTP), {count} each; wall p50 and "
          "mean, CPU mean (process: every thread, the audit writer's too; thread: the calling thread only)")
    for label, xs in parts.items():
        _print_part(label, [w for w, _ in xs], [c for _, c in xs], "process")
    for label, fn in _parts(people, count).items():
        walls, cpus = [], []
        for i in range(count):
            wall, cpu = time.perf_counter(), time.thread_time()
            fn(i)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.thread_time() - cpu)
        _print_part(label, walls, cpus, "thread")

    cases = _start_cases(people, count)
    profiler = cProfile.Profile()
    profiler.enable()
    for who, case_id in cases:
        _assemble(who, case_id)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(tt for _, _, tt, _, _ in stats.stats.values())  # type: ignore[attr-defined]
    print(f"\n  consent under cProfile, wall clock, request thread: {total * 1000 / count:.1f} ms per consent "
          "(cProfile inflates small functions). ms per consent own / with callees, calls per consent:")
    harness.print_hot(stats, count, "tottime", 12)
    harness.print_hot(stats, count, "cumtime", 24, only="govdata/")
    _cpu_profile(people, count)


def per_source(people: list[dict[str, Any]], proofs: list[int], count: int) -> None:
    """The consent (service.consent + case_dict) of each package in this process, no HTTP, no other load: the
    packages interleaved, ``count`` each; wall and process CPU (the audit writer's included) per consent."""
    from govdata.db import new_session
    from govdata.demo.onething import citizen
    from govdata.onething import service

    chosen = (people * (1 + count // max(1, len(people))))[:count + 2]
    times: dict[int, list[tuple[float, float]]] = {n: [] for n in proofs}
    for i, person in enumerate(chosen):
        for n in proofs[i % len(proofs):] + proofs[:i % len(proofs)]:
            who = citizen(person)
            with new_session() as db:
                case_id = service.start(db, who, package_key(n), {"id_number": person["id_number"],
                                                                  "name": person["name"], "inputs": INPUTS}).id
            wall, cpu = time.perf_counter(), time.process_time()
            _assemble(who, case_id)
            if i >= 2:
                times[n].append((time.perf_counter() - wall, time.process_time() - cpu))
    print(f"\n## per source, in this process (service.consent + case_dict, no HTTP, one at a time, packages "
          f"interleaved, {count} each)")
    print(f"{'figure':<28} {'per source':>11} {'fixed':>9} {'r²':>6}   " + "  ".join(f"{n:>2} proofs" for n in proofs))
    fitted = [n for n in proofs if n >= 1]
    for label, get in (("wall p50 ms", lambda xs: statistics.median(w for w, _ in xs) * 1000),
                       ("wall mean ms", lambda xs: statistics.fmean(w for w, _ in xs) * 1000),
                       ("process CPU mean ms", lambda xs: statistics.fmean(c for _, c in xs) * 1000)):
        values = {n: get(times[n]) for n in proofs}
        slope, intercept, r2 = fit([(n, values[n]) for n in fitted]) if len(fitted) >= 2 else (0.0, 0.0, 0.0)
        print(f"{label:<28} {slope:>8.2f} ms {intercept:>6.1f} ms {r2:>6.3f}   "
              + "  ".join(f"{values[n]:>9.2f}" for n in proofs), flush=True)


def _print_part(label: str, walls: list[float], cpus: list[float], kind: str) -> None:
    ws = sorted(w * 1000 for w in walls)
    print(f"  {label:<58} wall p50 {ws[len(ws) // 2]:>6.2f} mean {statistics.fmean(ws):>6.2f} ms   "
          f"{kind} CPU {statistics.fmean(cpus) * 1000:>6.2f} ms", flush=True)


def _parts(people: list[dict[str, Any]], count: int) -> dict[str, Any]:
    """The pieces of an assembly, each alone (no profiler), on consented cases of the shipped package."""
    from govdata.audit import service as audit
    from govdata.db import new_session
    from govdata.exchange import gateway
    from govdata.onething import evidence as ev
    from govdata.onething import packages, service
    from govdata.onething.forms import context, eligibility, forms, missing

    cases = _start_cases(people, count)
    for who, case_id in cases:
        _assemble(who, case_id)
    db = new_session()
    spec = packages.current(db, SHIPPED)[1].spec
    system = ev.system_principal(db, spec.operator)
    code = ev.resource_codes(db, spec)["mother_household"]
    ids = [p["id_number"] for p in (people * (1 + count // max(1, len(people))))[:count]]
    consented = [service.get_case_row(db, case_id) for _, case_id in cases]
    db.rollback()

    def record(i: int) -> None:
        audit.record({"kind": "exchange.call", "outcome": "ok", "consumer_org": spec.operator, "provider_org": "x",
                      "resource": code, "items": ["id_number"], "query": {"filters": {"id_number": ids[i]}},
                      "purpose": "BENCH-PART", "rows": 1, "response_hash": "0" * 64, "extra": {}})

    return {
        "evidence.system_principal (organisation by code)": lambda i: ev.system_principal(db, spec.operator),
        "evidence.resource_codes (every published catalog entry)": lambda i: ev.resource_codes(db, spec),
        "evidence.plan (at create: codes + 5 grant checks)": lambda i: ev.plan(db, spec),
        "gateway.call, 1 lookup (户籍), audited: waits for the commit": lambda i: gateway.call(
            db, system, code, [("id_number", ids[i])], "BENCH-PART"),
        "audit.record alone (waits for the commit)": record,
        "a session + the case read back (its JSON columns)": lambda i: _read_case(cases[i][1]),
        "forms() of a consented case (5 matters, expressions)": lambda i: forms(consented[i], spec),
        "missing() of a consented case": lambda i: missing(consented[i], spec),
        "eligibility() of a consented case": lambda i: eligibility(consented[i], spec),
        "context() (the expression names)": lambda i: context(consented[i], spec),
        "service.case_dict of a consented case (the answer)": lambda i: service.case_dict(db, consented[i]),
    }


def _read_case(case_id: int) -> None:
    from govdata.db import new_session
    from govdata.onething import service

    with new_session() as db:
        case = service.get_case_row(db, case_id)
        case.plan, case.evidence, case.inputs  # noqa: B018 - loaded


def _cpu_profile(people: list[dict[str, Any]], count: int) -> None:
    import cProfile
    import pstats
    import threading

    import httpx

    from govdata.app import create_app
    from govdata.audit import service as audit

    app = create_app()
    chosen = (people * (1 + count // max(1, len(people))))[:count]

    async def sign_in() -> list[str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            out = []
            for p in chosen:
                r = await client.post("/api/v1/auth/citizen", json={"id_number": p["id_number"], "name": p["name"]})
                out.append(r.json()["access_token"])
            return out

    async def cases(tokens: list[str]) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as client:
            loop = asyncio.get_running_loop()
            for person, token in zip(chosen, tokens, strict=True):
                call, _ = await _cycle(client, person, token, SHIPPED, loop)
                assert call.status == 200 and call.fetched == SHIPPED_PROOFS, call

    tokens = asyncio.run(sign_in())
    audit.stop_writer()  # its thread must start under the profiler
    profilers: list[cProfile.Profile] = []

    def start(frame: Any, event: str, arg: Any) -> None:
        sys.setprofile(None)
        profiler = cProfile.Profile()  # wall clock: thread_time's system call per event distorts 5×
        profilers.append(profiler)
        profiler.enable()

    threading.setprofile(start)
    worker = threading.Thread(target=asyncio.run, args=(cases(tokens),))
    cpu = time.process_time()
    worker.start()
    worker.join()
    cpu = time.process_time() - cpu
    threading.setprofile(None)
    audit.stop_writer()
    stats = pstats.Stats(profilers[0])
    for p in profilers[1:]:
        stats.add(p)
    total = sum(tt for (f, line, name), (_, _, tt, _, _) in stats.stats.items()  # type: ignore[attr-defined]
                if not harness.waiting(f"{f}:{line}({name})" if line else name))
    print(f"\n  whole cases (create + consent) through the ASGI app, one at a time, cProfile on every thread "
          f"(request threads, event loop, audit writer), wall clock less the waits (locks, epoll, queues): "
          f"{total * 1000 / count:.1f} ms per case ({cpu * 1000 / count:.1f} ms of process CPU under the profiler; "
          "the httpx client is in both). ms per case own / with callees, calls per case:", flush=True)
    harness.print_hot(stats, count, "tottime", 25, waits=False)
    harness.print_hot(stats, count, "cumtime", 40, only="govdata/")


# ---- the run -------------------------------------------------------------------------------------------------------

def run(work: Path, args: argparse.Namespace, backend: str) -> int:
    proofs = sorted({int(n) for n in args.proofs.split(",")})
    people, times = setup(work, proofs)
    people = people[: args.applicants]
    logging.disable(logging.INFO)  # the app's INFO lines (serving files, workflows, httpx requests)
    print("setup: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
          + f"; newborn applicants used {len(people)}", flush=True)
    if len(people) < args.clients:
        print(f"only {len(people)} newborn applicants in the demo: fewer than {args.clients} clients")
        return 1
    plans: list[tuple[str, Any]] = []
    if args.clients > 1:
        plans.append((f"{args.clients} clients", lambda srv, pairs, n: load(srv, pairs, n, args.clients,
                                                                             args.seconds, args.warmup)))
    if args.bursts:
        plans.append((f"{args.clients} at once ×{args.bursts}",
                      lambda srv, pairs, n: burst(srv, pairs, n, args.clients, args.bursts)))
    runs: dict[str, dict[int, list[Run]]] = {"1 client": {}} | {label: {} for label, _ in plans}
    opened: list[Run] = []
    with server() as srv:
        started = time.perf_counter()
        pairs = asyncio.run(sign_in_all(srv.port, people))
        print(f"signed in {len(pairs)} applicants in {time.perf_counter() - started:.1f} s", flush=True)
        print(f"\n## {backend}: consent latency (the evidence assembly), 1 uvicorn worker, load average "
              f"{os.getloadavg()[0]:.1f}\n1 client: {args.sequential} consents per package one after another, the "
              f"packages interleaved; {args.clients} clients: closed loop, {args.seconds:g} s after "
              f"{args.warmup:g} s warm-up; {args.clients} at once: {args.clients} cases created, then their "
              f"{args.clients} consents sent at the same instant, {args.bursts} times; {args.rounds} round(s)\n"
              f"{HEADER}", flush=True)
        for _ in range(args.rounds):
            for n, r in sequential(srv, pairs, proofs, args.sequential).items():
                runs["1 client"].setdefault(n, []).append(r)
                print_run(r)
            for label, plan in plans:
                for n in proofs:
                    r = plan(srv, pairs, n)
                    runs[label].setdefault(n, []).append(r)
                    print_run(r)
        merged = {label: {n: merge(rs) for n, rs in by_n.items()} for label, by_n in runs.items()}
        if args.rounds > 1:
            print(f"-- pooled over {args.rounds} rounds")
            for by_n in merged.values():
                for n in proofs:
                    print_run(by_n[n])
        print("clients: 1 / N closed loop / N×b: N consents at once, b times / R/s: open loop. errors: non-200 "
              "answers + exceptions + answers without exactly n proofs fetched. create p50: the create-case call "
              "(closed loop). CPU ms/case: the server process's CPU per case made (create + consent)")
        report_cost(merged, proofs)
        if args.rates:
            print(f"\n## open loop: {package_key(SHIPPED_PROOFS)} cases started at a fixed rate (clients column: "
                  f"cases/s), each by the next of {len(pairs)} applicants with none in flight, {args.seconds:g} s "
                  f"after {args.warmup:g} s warm-up\n{HEADER}", flush=True)
            for rate in (float(x) for x in args.rates.split(",")):
                opened.append(open_loop(srv, pairs, SHIPPED_PROOFS, rate, args.seconds, args.warmup))
                print_run(opened[-1])
    every = [r for by_n in merged.values() for r in by_n.values()] + opened
    expected = {k: v for r in every for k, v in r.numbers.items()}
    good, total, bad = audit_check(expected)
    print(f"\naudit: {good:,} of {total:,} cases made by the bench have exactly n exchange.call records with the "
          f"case number as purpose, all outcome ok" + (f"; problems: {bad[:5]}" if bad else ""), flush=True)
    report = audit_verify()
    print(f"audit verify: ok={report.get('ok')} records={report.get('records')} "
          f"checkpoints={report.get('checkpoints')} seconds={report.get('seconds')}", flush=True)

    if SHIPPED_PROOFS in proofs and args.clients > 1:
        print(f"\n## target: newborn (5 proofs through the gateway, audited), consent p95 ≤ {TARGET_P95_MS:.0f} ms "
              f"with {args.clients} applicants at once")
        for label, by_n in merged.items():
            r = by_n[SHIPPED_PROOFS]
            p95 = r.q(0.95)
            verdict = ("met" if p95 <= TARGET_P95_MS
                       else f"MISSED by {p95 - TARGET_P95_MS:.0f} ms ({p95 / TARGET_P95_MS:.1f}× the target)")
            cpu = "" if r.cpu_ms != r.cpu_ms else f", {r.cpu_ms:.1f} ms server CPU per case"
            print(f"  {label:<16} p95 {p95:>7.1f} ms: {verdict}; {r.rate:.1f} consents/s{cpu}", flush=True)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    if args.profile:
        per_source(people, proofs, args.profile)
        profile(people, args.profile)
    ok = not bad and report.get("ok") and all(r.refused + r.errors + r.incomplete == 0 for r in every)
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50, help="applicants at once (closed loop)")
    parser.add_argument("--seconds", type=float, default=20, help="measured window of each closed-loop run")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--proofs", default="0,1,3,5,8", help="packages fetching this many proofs (5: newborn)")
    parser.add_argument("--applicants", type=int, default=200, help="newborn applicants signed in (demo mothers)")
    parser.add_argument("--sequential", type=int, default=100, help="consents per package measured with 1 client")
    parser.add_argument("--rates", default="5,10,15",
                        help="open loop: newborn cases started per second (empty: skip)")
    parser.add_argument("--bursts", type=int, default=5,
                        help="times --clients consents are sent at the same instant (0: skip)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every configuration, results pooled")
    parser.add_argument("--profile", type=int, default=40, help="assemblies under cProfile in-process (0: skip)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (database, server log)")
    parser.add_argument("--postgres", help="also run on a fresh database of this PostgreSQL server (admin URL)")
    parser.add_argument("--database-url", help=argparse.SUPPRESS)  # the PostgreSQL run, in its own process
    args = parser.parse_args()
    if not args.database_url:
        print(f"# one-thing evidence assembly benchmark — {time.strftime('%Y-%m-%d %H:%M %Z')} {platform.node()}, "
              f"{os.cpu_count()} CPUs, Python {platform.python_version()}; code: {source_digest()}", flush=True)
    if args.database_url:
        print(f"\n# PostgreSQL run — {time.strftime('%Y-%m-%d %H:%M %Z')}; code: {source_digest()}", flush=True)
    code = harness.in_scratch("govdata-bench-onething-", args.database_url, args.keep,
                              lambda work, backend: run(work, args, backend))
    if args.postgres:
        code = max(code, run_postgres(args.postgres))
    return code


def source_digest() -> str:
    """What was measured: a digest of every Python file under src/ (uncommitted work included)."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted((ROOT / "src").rglob("*.py")):
        h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                          check=False).stdout.strip()
    return f"git {head or '?'} + src/ sha256 {h.hexdigest()[:12]}"


def run_postgres(admin_url: str) -> int:
    """The same run on a fresh PostgreSQL database, in a new process (settings and caches start clean)."""
    return harness.run_postgres(__file__, admin_url, "govdata_bench_onething")


if __name__ == "__main__":
    sys.exit(main())
