"""Worker threads: claim a job, run it while a heartbeat keeps its lease, repeat; once a minute run the
schedules. Each application process starts ``worker_threads`` of them; ``govdata worker`` runs one alone."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from govdata.db import new_session
from govdata.jobs import service

logger = logging.getLogger("govdata.jobs")
IDLE_SECONDS = 1.0
SCHEDULE_SECONDS = 60.0

_wake = threading.Event()


def wake() -> None:
    """Tell idle workers in this process that a job was just queued."""
    _wake.set()


class Worker:
    def __init__(self, index: int = 0) -> None:
        self.name = f"{socket.gethostname()}:{os.getpid()}:{index}"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, name=f"govdata-worker-{index}", daemon=True)
        self._last_schedule = 0.0

    def start(self) -> Worker:
        self.thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        _wake.set()
        self.thread.join(timeout)

    def loop(self) -> None:
        while not self.stopping.is_set():
            try:
                worked = self.tick()
            except Exception:
                logger.exception("worker %s: unexpected error", self.name)
                worked = False
            if not worked:
                _wake.wait(IDLE_SECONDS)
                _wake.clear()

    def tick(self) -> bool:
        """Run the schedules when due and at most one job; True when a job ran."""
        with new_session() as db:
            if time.monotonic() - self._last_schedule >= SCHEDULE_SECONDS:
                self._last_schedule = time.monotonic()
                service.run_schedules(db)
            job = service.claim(db, self.name)
            if job is None:
                return False
            beat = _Heartbeat(job.id, self.name)
            try:
                service.run(db, job, self.name)
            finally:
                beat.stop()
            return True


class _Heartbeat:
    """Renews a running job's lease every LEASE/4, whatever the handler is busy with."""

    def __init__(self, job_id: str, worker: str) -> None:
        self.job_id, self.worker = job_id, worker
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True, name=f"heartbeat-{job_id[:8]}")
        self.thread.start()

    def run(self) -> None:
        interval = service.LEASE.total_seconds() / 4
        while not self.done.wait(interval):
            try:
                service.heartbeat(self.job_id, self.worker)
            except Exception:
                logger.exception("heartbeat for job %s failed", self.job_id)

    def stop(self) -> None:
        self.done.set()
        self.thread.join(2)


def start(count: int) -> list[Worker]:
    service.load_handlers()
    return [Worker(i).start() for i in range(count)]
