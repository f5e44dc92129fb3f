"""What the server benchmarks (exchange.py, onething.py) share: a scratch environment, a free port, a process's
CPU time, and the same run repeated on a fresh PostgreSQL database in a new process."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def use_environment(work: Path, url: str | None) -> str:
    """Point govdata at ``work`` (SQLite there unless ``url``); returns the database URL."""
    os.environ["GOVDATA_VAR_DIR"] = str(work)
    os.environ["GOVDATA_DATA_DIR"] = str(work / "data")
    os.environ["GOVDATA_DATABASE_URL"] = url or f"sqlite:///{work / 'bench.db'}"
    os.environ.setdefault("GOVDATA_SECRET_KEY", secrets.token_urlsafe(32))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # tests.scratchdb, tests.factories
    return os.environ["GOVDATA_DATABASE_URL"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_postgres(script: str, admin_url: str, prefix: str) -> int:
    """Run ``script`` again with this process's arguments on a fresh PostgreSQL database (``--database-url``),
    in a new process so that settings and caches start clean; the database is dropped afterwards."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.scratchdb import create_pg_database, drop_pg_database

    from govdata import db as dbmod

    url, name = create_pg_database(admin_url, prefix)
    argv = [a for i, a in enumerate(sys.argv[1:]) if a != "--postgres" and sys.argv[i] != "--postgres"]
    try:
        return subprocess.run([sys.executable, str(Path(script).resolve()), *argv, "--database-url", url],
                              check=False).returncode
    finally:
        dbmod.reset_caches()
        drop_pg_database(admin_url, name)


def wait_ready(port: int, proc: subprocess.Popen) -> None:
    """Until the server on ``port`` answers /healthz (a SystemExit if it exits or takes over 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"uvicorn exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("uvicorn did not start within 60 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# Profiler entries that are waiting, not working (locks, epoll, queues, the database driver's waits)
WAITS = ("acquire' of '_thread.lock", "acquire' of '_thread.RLock", "poll' of 'select.epoll", "select.select",
         "time.sleep", "get' of '_queue.SimpleQueue", "'run_forever'", "'run_until_complete'", "threading.py",
         "thread' of '_thread", "queue.py", "psycopg/connection.py", "psycopg/waiting.py")


def waiting(label: str) -> bool:
    return any(w in label for w in WAITS)


def print_hot(stats: Any, calls: int, key: str, limit: int, only: str = "", waits: bool = True) -> None:
    """The heaviest entries of merged cProfile ``stats`` by ``key`` (tottime | cumtime), per call: ms own,
    ms with callees, calls; ``only`` keeps entries whose place contains it, ``waits=False`` drops the waits."""
    rows = []
    for (filename, line, name), (_, nc, tt, ct, _) in stats.stats.items():
        where = f"{filename}:{line}({name})" if line else name
        for prefix in (str(ROOT / "src") + "/", str(ROOT / ".venv/lib/python3.11/site-packages") + "/"):
            where = where.replace(prefix, "")
        if only in where and (waits or not waiting(where)):
            rows.append((tt if key == "tottime" else ct, nc, tt, ct, where))
    rows.sort(reverse=True)
    print(f"  by {key}{' in ' + only if only else ''}:")
    for _, nc, tt, ct, where in rows[:limit]:
        print(f"    {tt * 1000 / calls:>7.2f} {ct * 1000 / calls:>7.2f} {nc / calls:>7.1f}  {where[:110]}")


def in_scratch(prefix: str, database_url: str | None, keep: bool, run: Callable[[Path, str], int]) -> int:
    """``run(work, backend)`` in a new scratch folder pointed at by the environment (SQLite there unless
    ``database_url``), removed afterwards unless ``keep``; returns its exit status."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        use_environment(work, database_url)
        return run(work, "PostgreSQL" if database_url else "SQLite (WAL)")
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
