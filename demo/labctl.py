"""Start and stop lab ServiceControl instances in the background for the demo playbook.

    python demo/labctl.py start --name NAME --kind error|audit --env-file F --url URL --state-dir D
    python demo/labctl.py stop --name NAME --state-dir D

`start` launches `python -m lab instance --kind KIND --setup-and-run` with exactly the environment in the
env file (KEY=VALUE lines, as the instance_environment filter writes them), records its PID, and waits until
its HTTP API answers. It prints one JSON line: {"changed": bool, "pid": int}. Starting an instance that is
already answering changes nothing. `stop` terminates the recorded process.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback lab URL
            return response.status == 200
    except OSError:
        return False


def _read_env_file(path):
    environment = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            environment[key] = value
    return environment


def start(args):
    state = Path(args.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    if _answers(args.url):
        return {"changed": False, "pid": int((state / (args.name + ".pid")).read_text() or 0)}
    environment = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "TMPDIR")}
    environment.update(_read_env_file(args.env_file))
    environment["PYTHONPATH"] = str(ROOT)
    log = (state / (args.name + ".log")).open("ab")
    process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-m", "lab", "instance", "--kind", args.kind, "--setup-and-run"],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    (state / (args.name + ".pid")).write_text(str(process.pid))
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("%s exited with code %s; see %s" % (args.name, process.returncode, log.name))
        if _answers(args.url):
            return {"changed": True, "pid": process.pid}
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("%s did not answer on %s within %s s; see %s" % (args.name, args.url, args.timeout, log.name))


def stop(args):
    pid_file = Path(args.state_dir) / (args.name + ".pid")
    if not pid_file.exists():
        return {"changed": False}
    pid = int(pid_file.read_text())
    pid_file.unlink()
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return {"changed": False}
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    return {"changed": True, "pid": pid}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--name", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--kind", choices=["error", "audit"])
    parser.add_argument("--env-file")
    parser.add_argument("--url")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args(argv)
    result = start(args) if args.action == "start" else stop(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
