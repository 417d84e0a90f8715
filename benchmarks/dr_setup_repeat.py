"""Benchmark: a second `dr_setup` run against an unchanged topology, as a share of the first run's time.

Runs `ansible-playbook dr-setup.yml` in examples/lab (the lab, Learning transport) from a clean state, then
again, then stops the instances. Prints both wall times and the ratio. Figures, not pass/fail.

    .venv/bin/python benchmarks/dr_setup_repeat.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "lab"


def run(playbook):
    environment = dict(os.environ)
    environment.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".build" / "collections"))
    started = time.monotonic()
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), playbook],
        cwd=EXAMPLE,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (playbook, (completed.stdout + completed.stderr)[-3000:]))
    return elapsed


def main():
    shutil.rmtree(EXAMPLE / ".state", ignore_errors=True)
    try:
        first = run("dr-setup.yml")
        second = run("dr-setup.yml")
    finally:
        run("dr-stop.yml")
    print("first run (creates queues, starts four instances, probe): %.1f s" % first)
    print("second run (nothing to change, probe again):              %.1f s" % second)
    print("second / first: %.0f%%" % (100 * second / first))


if __name__ == "__main__":
    main()
