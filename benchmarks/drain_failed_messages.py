"""Benchmark: draining 10,000 failed messages in 50 groups with `failed_messages`, against the lab doing the same
work when asked directly.

Two lab Error instances on the Learning transport (A and B) each ingest the same kind of load: N failed messages
in G failure groups (one exception type per group). Then, side by side:

- A is drained by `ansible-playbook` running `servicecontrol.platform.failed_messages` (the first 10 groups archived
  by one `group_title` rule, the rest retried by `default_action: retry`, `wait_for: none_unresolved`);
- B gets the same requests straight from this script (one archive request per group, then `errors/retry/all`
  once the archives are done), polled every 0.2 s until nothing is unresolved: the lab's own processing time.

Prints the module's HTTP calls, its wall time (whole `ansible-playbook` run and the task's own `elapsed`), the
lab's ingestion and processing times and the ratio. Figures, not pass/fail.

    .venv/bin/python benchmarks/drain_failed_messages.py                  # 10000 messages, 50 groups
    .venv/bin/python benchmarks/drain_failed_messages.py --count 2000 --groups 10
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "functional")]

from functional_support import LOCAL_PLAYBOOK  # noqa: E402

from lab.endpoint import EndpointIdentity, EndpointSimulator, FailureSpec  # noqa: E402
from lab.transports import open_lab_transport  # noqa: E402

CLASSIFIER = "Exception Type and Stack Trace"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(req, timeout=60) as response:  # noqa: S310 - loopback
        return response.headers, response.read()


def count(api, status):
    headers, _body = request("HEAD", "%s/errors?status=%s" % (api, status))
    return int(headers["Total-Count"])


@contextmanager
def lab_error_instance(work, name, error_queue):
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "SERVICECONTROL_TRANSPORTTYPE": "LearningTransport",
        "SERVICECONTROL_CONNECTIONSTRING": str(work / "lt"),
        "SERVICECONTROL_INSTANCENAME": name,
        "SERVICEBUS_ERRORQUEUE": error_queue,
        "SERVICECONTROL_FORWARDERRORMESSAGES": "false",
        "SERVICECONTROL_PORT": str(port),
        "SERVICECONTROL_DBPATH": str(work / ("db-" + name)),
        "SERVICECONTROL_ERRORRETENTIONPERIOD": "15",
        "LAB_SERVICECONTROL_VERSION": "6.19.2",
    }
    log = (work / (name + ".log")).open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "lab", "instance", "--kind", "error", "--setup-and-run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    api = "http://localhost:%d/api" % port
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                request("GET", api)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("lab instance %s did not start; see %s" % (name, log.name)) from None
                time.sleep(0.2)
        yield api
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def load(work, error_queue, messages, groups):
    with open_lab_transport("LearningTransport", str(work / "lt")) as transport:
        simulator = EndpointSimulator(
            transport, EndpointIdentity("Sales", machine="bench"), error_queue=error_queue, audit_queue=None, seed=1
        )
        simulator.setup()
        for n in range(messages):
            failure = FailureSpec(exception_type="Bench.Exception%02d" % (n % groups))
            simulator.fail(1, "Sales.Messages.PlaceOrder", failure)


def wait_for(predicate, seconds, interval=0.2):
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > seconds:
            raise SystemExit("timed out after %d s" % seconds)
        time.sleep(interval)
    return time.monotonic() - started


def drain_with_module(work, api, poll_interval):
    playbook = work / "drain.yml"
    task = {
        "url": api,
        "rules": [{"name": "first ten groups", "action": "archive", "group_title": "Bench.Exception0*"}],
        "default_action": "retry",
        "wait_for": "none_unresolved",
        "poll_interval": poll_interval,
        "timeout": 1800,
    }
    playbook.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {"servicecontrol.platform.failed_messages": task, "register": "drained"},
                        {
                            "ansible.builtin.copy": {
                                "dest": str(work / "drained.json"),
                                "content": "{{ drained | to_json }}",
                            }
                        },
                    ],
                }
            ]
        )
    )
    environment = dict(os.environ, ANSIBLE_NOCOLOR="1")
    environment.setdefault(
        "ANSIBLE_COLLECTIONS_PATH", "%s:%s" % (ROOT / ".build" / "devlink", ROOT / ".build" / "collections")
    )
    started = time.monotonic()
    completed = subprocess.run(
        [
            *LOCAL_PLAYBOOK,
            str(playbook),
        ],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    wall = time.monotonic() - started
    if completed.returncode != 0:
        raise SystemExit("the drain failed:\n%s" % (completed.stdout + completed.stderr)[-4000:])
    progress = [line for line in completed.stdout.splitlines() if line.startswith("failed_messages:")]
    return wall, json.loads((work / "drained.json").read_text()), progress


def drain_directly(api):
    """The same requests the module sends for these rules, straight to the lab, polled every 0.2 s."""
    _headers, body = request("GET", "%s/recoverability/groups/%s" % (api, urllib.parse.quote(CLASSIFIER)))
    groups = json.loads(body)
    started = time.monotonic()
    archived_before = count(api, "archived")
    to_archive = [g for g in groups if g["title"].startswith("Bench.Exception0")]
    for group in to_archive:
        request("POST", "%s/recoverability/groups/%s/errors/archive" % (api, group["id"]))
    target = archived_before + sum(g["count"] for g in to_archive)
    wait_for(lambda: count(api, "archived") >= target, 1800)
    request("POST", "%s/errors/retry/all" % api)
    wait_for(lambda: count(api, "unresolved") == 0, 1800)
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--poll-interval", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="drain-bench-"))
    try:
        with (
            lab_error_instance(work, "Bench.A", "error-a") as api_a,
            lab_error_instance(work, "Bench.B", "error-b") as api_b,
        ):
            # One instance after the other, so the two do not compete for the cores while they ingest.
            started = time.monotonic()
            load(work, "error-a", args.count, args.groups)
            wait_for(lambda: count(api_a, "unresolved") == args.count, 3600, interval=1)
            ingest = time.monotonic() - started
            load(work, "error-b", args.count, args.groups)
            wait_for(lambda: count(api_b, "unresolved") == args.count, 3600, interval=1)
            wall, drained, progress = drain_with_module(work, api_a, args.poll_interval)
            baseline = drain_directly(api_b)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        "messages: %d in %d groups (sent to and ingested by one instance in %.1f s)" % (args.count, args.groups, ingest)
    )
    print(
        "module: %d HTTP calls, task %.1f s, ansible-playbook %.1f s; retried %d, archived %d, remaining %d, %s"
        % (
            drained["http_calls"],
            drained["elapsed"],
            wall,
            drained["retried"],
            drained["archived"],
            drained["remaining"],
            drained["strategy"],
        )
    )
    print("plan: %s" % json.dumps(drained["plan"]))
    print("lab's own processing of the same requests: %.1f s" % baseline)
    print("module task / lab: %.2fx" % (drained["elapsed"] / baseline))
    for line in progress[:3] + progress[-2:]:
        print("  " + line)


if __name__ == "__main__":
    main()
