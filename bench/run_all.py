"""Every benchmark, one after another, each in its own process (``make bench``). Figures go to stdout; copy them
into docs/benchmarks.md with the machine and the date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SCRIPTS = ["foundation.py", "catalog_import.py", "catalog_search.py", "ingest.py", "audit.py", "serving.py",
           "exchange.py", "onething.py", "opendata.py"]


def main() -> int:
    failed = []
    for script in SCRIPTS:
        print(f"\n===== {script} =====", flush=True)
        if subprocess.run([sys.executable, str(HERE / script)], check=False).returncode != 0:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
