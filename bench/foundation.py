"""Foundation benchmark: action-log search as the log grows, and the cost of authentication per API call.

Run: .venv/bin/python bench/foundation.py [--sizes 100000,1000000] [--seconds 10]
Prints figures side by side; compare ratios measured in the same run (the machines are noisy).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

WORK = Path(tempfile.mkdtemp(prefix="govdata-bench-"))
os.environ["GOVDATA_VAR_DIR"] = str(WORK)
os.environ["GOVDATA_DATABASE_URL"] = f"sqlite:///{WORK / 'bench.db'}"

from sqlalchemy import insert  # noqa: E402

from govdata import migrate, security  # noqa: E402
from govdata.accounts import service as accounts  # noqa: E402
from govdata.accounts.schemas import CredentialCreate, UserCreate  # noqa: E402
from govdata.actionlog import service as actionlog  # noqa: E402
from govdata.actionlog.models import ActionLogEntry  # noqa: E402
from govdata.db import new_session  # noqa: E402
from govdata.orgs import service as orgs  # noqa: E402
from govdata.orgs.schemas import OrgCreate  # noqa: E402
from govdata.principal import CLI  # noqa: E402

PASSWORD = "Bench-Passw0rd!"
ACTIONS = ["auth.login", "org.update", "user.update", "credential.create", "auth.login_failed", "user.create"]


def setup() -> tuple[str, str]:
    migrate.upgrade()
    with new_session() as db:
        orgs.create(db, CLI, OrgCreate(code="DSJ", name="大数据局", level="city", region_code="450200"))
        accounts.create_user(db, CLI, UserCreate(username="admin", full_name="管理员", password=PASSWORD,
                                                 org="DSJ", role="bureau_admin"))
        _, person = accounts.login(db, "admin", PASSWORD, CLI, kind="api")
        _, system = accounts.create_credential(db, CLI, CredentialCreate(org="DSJ", name="bench"))
    return person, system


def grow_log(target: int) -> None:
    """Append synthetic entries (200 actors, 6 actions, a year of history) until the log holds ``target``."""
    with new_session() as db:
        have = db.query(ActionLogEntry).count()
        now = datetime.now(UTC)
        rng = random.Random(have)
        batch = []
        for i in range(have, target):
            batch.append({
                "at": now - timedelta(seconds=(target - i) * 30), "actor_type": "user",
                "actor_name": f"user{rng.randrange(200):03d}", "actor_org": f"ORG{rng.randrange(40):02d}",
                "ip": "10.1.2.3", "action": rng.choice(ACTIONS), "outcome": "success", "target_type": "org",
                "target_id": f"T{rng.randrange(5000):04d}", "summary": f"修改机构 测试机构{rng.randrange(5000)}",
            })
            if len(batch) == 20000:
                db.execute(insert(ActionLogEntry), batch)
                db.commit()
                batch.clear()
        if batch:
            db.execute(insert(ActionLogEntry), batch)
            db.commit()


def time_queries(label: str, make_filter, runs: int = 40) -> tuple[float, float]:
    samples = []
    with new_session() as db:
        for i in range(runs):
            start = time.perf_counter()
            actionlog.search(db, make_filter(i), page=1, page_size=50)
            samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


QUERIES = {
    "newest page, no filter": lambda i: actionlog.ActionFilter(),
    "by actor": lambda i: actionlog.ActionFilter(actor=f"user{i % 200:03d}"),
    "by action": lambda i: actionlog.ActionFilter(action=ACTIONS[i % len(ACTIONS)]),
    "by target": lambda i: actionlog.ActionFilter(target_type="org", target_id=f"T{i:04d}"),
    "last 24 hours": lambda i: actionlog.ActionFilter(since=datetime.now(UTC) - timedelta(days=1)),
    "free text (LIKE)": lambda i: actionlog.ActionFilter(q=f"测试机构{i}"),
}


def bench_search(sizes: list[int]) -> None:
    print("\n## Action-log search (SQLite WAL, page of 50 with total count), ms")
    print(f"{'query':<26}" + "".join(f"{f'{n:,} p50':>14}{f'{n:,} p95':>14}" for n in sizes))
    results = {}
    for n in sizes:
        t0 = time.perf_counter()
        grow_log(n)
        print(f"(log grown to {n:,} entries in {time.perf_counter() - t0:.1f} s)")
        for label, make in QUERIES.items():
            results[(label, n)] = time_queries(label, make)
    for label in QUERIES:
        row = "".join(f"{results[(label, n)][0]:>14.2f}{results[(label, n)][1]:>14.2f}" for n in sizes)
        print(f"{label:<26}{row}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(url: str, seconds: int, token: str | None = None) -> tuple[float, str, str]:
    cmd = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", url]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} error responses\n{out}")
    return rps, p50, p99


def bench_http(person: str, system: str, seconds: int) -> None:
    if not shutil.which("wrk"):
        print("\n(wrk not installed: apt-get install wrk — HTTP part skipped)")
        return
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "govdata.cli", "serve", "--port", str(port), "--workers", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        cases = [
            ("GET /healthz (SELECT 1, no auth)", f"{base}/healthz", None),
            ("GET /api/v1/me (person token)", f"{base}/api/v1/me", person),
            ("GET /api/v1/me (system credential)", f"{base}/api/v1/me", system),
            ("GET /api/v1/orgs?page_size=20", f"{base}/api/v1/orgs?page_size=20", person),
        ]
        print(f"\n## HTTP, 1 worker, wrk -t2 -c16 -d{seconds}s, same run")
        print(f"{'endpoint':<38}{'req/s':>10}{'p50':>10}{'p99':>10}{'vs healthz':>12}")
        floor = None
        for label, url, token in cases:
            rps, p50, p99 = wrk(url, seconds, token)
            floor = floor or rps
            print(f"{label:<38}{rps:>10.0f}{p50:>10}{p99:>10}{rps / floor:>11.0%}")
    finally:
        server.terminate()
        server.wait(timeout=10)


def bench_login() -> None:
    hashed = security.hash_password(PASSWORD)
    samples = []
    for _ in range(20):
        start = time.perf_counter()
        security.verify_password(hashed, PASSWORD)
        samples.append((time.perf_counter() - start) * 1000)
    print(f"\n## argon2id verify (argon2-cffi defaults): median {statistics.median(samples):.1f} ms per login")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    print(f"# govdata foundation benchmark — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}")
    person, system = setup()
    bench_login()
    bench_http(person, system, args.seconds)
    bench_search([int(n) for n in args.sizes.split(",")])
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
