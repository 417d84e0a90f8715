"""Benchmark: a second `dr_setup` run against an unchanged topology, as a share of the first run's time.

Runs `ansible-playbook dr-setup.yml` in examples/lab (the lab, Learning transport) from a clean state, then
again (nothing to change: the proof is skipped, dr_setup_probe=changed), then once more with
dr_setup_probe=always (the proof runs although nothing changed), then stops the instances. Repeats that
--rounds times and prints each run's wall time and CPU time (of ansible-playbook and its module processes),
the medians and the ratios. Figures, not pass/fail.

    .venv/bin/python benchmarks/dr_setup_repeat.py [--rounds 3] [--example DIR]

--example runs a copy of examples/lab (its own state directory and ports); the default uses the demo's fixed
ports, so it waits for the machine-wide demo lock that tests/functional/test_demo.py holds.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "lab"
DEMO_LOCK = Path(tempfile.gettempdir()) / "servicecontrol-platform-demo.lock"


def run(example, playbook, *extra):
    environment = dict(os.environ)
    environment.setdefault("ANSIBLE_COLLECTIONS_PATH", str(ROOT / ".build" / "collections"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), playbook, *extra],
        cwd=example,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (playbook, (completed.stdout + completed.stderr)[-3000:]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, completed.stdout


def one_round(example):
    shutil.rmtree(example / ".state", ignore_errors=True)
    shutil.rmtree(example / "dr-report", ignore_errors=True)
    try:
        first = run(example, "dr-setup.yml")
        second = run(example, "dr-setup.yml")
        if "Proof skipped: proven on" not in second[2]:
            raise SystemExit("the second run did not skip the proof:\n%s" % second[2][-3000:])
        always = run(example, "dr-setup.yml", "-e", "dr_setup_probe=always")
    finally:
        run(example, "dr-stop.yml")
    return first[:2], second[:2], always[:2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--example", type=Path, default=EXAMPLE, help="a copy of examples/lab to run in")
    arguments = parser.parse_args()
    example = arguments.example.resolve()
    lock = DEMO_LOCK.open("a") if example == EXAMPLE else contextlib.nullcontext()
    rounds = []
    with lock:
        if example == EXAMPLE:
            fcntl.flock(lock, fcntl.LOCK_EX)
        for number in range(1, arguments.rounds + 1):
            first, second, always = one_round(example)
            rounds.append((first, second, always))
            print(
                "round %d: first %.1f s (cpu %.1f s), second %.1f s (cpu %.1f s), always %.1f s (cpu %.1f s)"
                % (number, *first, *second, *always),
                flush=True,
            )
    medians = [[statistics.median(run[kind][what] for run in rounds) for what in (0, 1)] for kind in range(3)]
    (first_wall, first_cpu), (second_wall, second_cpu), (always_wall, always_cpu) = medians
    line = "median %-58s %.1f s, cpu %.1f s"
    print(line % ("first run (creates queues, starts four instances, proof):", first_wall, first_cpu))
    print(line % ("second run (nothing to change, proof skipped):", second_wall, second_cpu))
    print(line % ("second run with dr_setup_probe=always:", always_wall, always_cpu))
    print("second / first: %.0f%% (cpu %.0f%%)" % (100 * second_wall / first_wall, 100 * second_cpu / first_cpu))
    print("always / first: %.0f%% (cpu %.0f%%)" % (100 * always_wall / first_wall, 100 * always_cpu / first_cpu))
    ratios = sorted(100 * run[1][0] / run[0][0] for run in rounds)
    print("second / first per round: %s" % ", ".join("%.0f%%" % ratio for ratio in ratios))


if __name__ == "__main__":
    main()
