"""The lab topology, the lab endpoint under load and the accounting shared by the replacement tests
(test_replace_error_instance_lab.py and test_replace_error_instance_resume_lab.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

from functional_support import LOCAL_PLAYBOOK, free_port

from lab.endpoint import EndpointIdentity, EndpointSimulator, FailureSpec, RetryPolicy
from lab.transports import open_lab_transport

ROOT = Path(__file__).resolve().parents[2]
EXCEPTIONS = ("System.InvalidOperationException", "System.TimeoutException", "Sales.PaymentDeclinedException")
TYPES = ("Sales.Messages.PlaceOrder", "Sales.Messages.CancelOrder")
SEEDED = 45
LOAD_RATE = 3.0  # failed messages per second while the playbook runs
REFAIL_FRACTION = 0.3


def _collections_path():
    if "ANSIBLE_COLLECTIONS_PATH" in os.environ:
        return os.environ["ANSIBLE_COLLECTIONS_PATH"]
    inside_tree = ROOT.parent.parent.name == "ansible_collections"
    return str(ROOT.parents[2] if inside_tree else ROOT / ".build" / "collections")


class Lab:
    """One lab topology on one transport: an old Error instance, an Audit instance, the new instance's place."""

    def __init__(self, tmp_path, transport_type, connection_string, token):
        self.tmp = tmp_path
        self.transport_type = transport_type
        self.connection_string = connection_string
        self.ports = {name: free_port() for name in ("old", "audit", "new")}
        # Unique names, so runs on a shared broker never meet.
        self.old = "Particular.ServiceControl.%s" % token
        self.new = "Particular.ServiceControl.%s.New" % token
        self.audit = "Particular.ServiceControl.Audit.%s" % token
        self.error_queue = "error.%s" % token
        self.audit_queue = "audit.%s" % token
        self.endpoint = "Sales.%s" % token
        self.report = tmp_path / "report"

    def url(self, name):
        return "http://localhost:%d/api" % self.ports[name]

    def _target(self, directory):
        return {
            "type": "lab",
            "directory": str(self.tmp / directory),
            "command": [sys.executable, "-m", "lab", "instance"],
            "chdir": str(ROOT),
        }

    def topology(self):
        return {
            "transport": {"type": self.transport_type, "connection_string": self.connection_string},
            "instances": [
                {
                    "name": self.old,
                    "kind": "error",
                    "version": "6.19.2",
                    "url": self.url("old"),
                    "target": self._target("old"),
                    "settings": {
                        "ServiceControl/Port": self.ports["old"],
                        "ServiceControl/DbPath": str(self.tmp / "db-old"),
                        "ServiceControl/ErrorRetentionPeriod": "10",
                        "ServiceBus/ErrorQueue": self.error_queue,
                        "ServiceControl/ForwardErrorMessages": False,
                        "ServiceControl/RemoteInstances": json.dumps([{"api_uri": self.url("audit")}]),
                    },
                },
                {
                    "name": self.audit,
                    "kind": "audit",
                    "version": "6.19.2",
                    "url": self.url("audit"),
                    "target": self._target("audit"),
                    "settings": {
                        "ServiceControl.Audit/Port": self.ports["audit"],
                        "ServiceControl.Audit/DbPath": str(self.tmp / "db-audit"),
                        "ServiceBus/AuditQueue": self.audit_queue,
                        "ServiceControl.Audit/ForwardAuditMessages": False,
                        "ServiceControl.Audit/ServiceControlQueueAddress": self.old,
                    },
                },
            ],
        }

    def variables(self, **extra):
        return {
            "servicecontrol_topology": self.topology(),
            "dr_setup_report_dir": str(self.tmp / "dr-report"),
            "replace_error_instance_report_dir": str(self.report),
            "replace_error_instance_old": self.old,
            "replace_error_instance_new": {
                "name": self.new,
                "url": self.url("new"),
                "target": self._target("new"),
                "settings": {
                    "ServiceControl/Port": self.ports["new"],
                    "ServiceControl/DbPath": str(self.tmp / "db-new"),
                },
            },
            "replace_error_instance_rules": [
                {"name": "payment declined: archive", "action": "archive", "exception_type": EXCEPTIONS[2]}
            ],
            "replace_error_instance_default_action": "retry",
            "replace_error_instance_quiet_period": {"mode": "warn"},
            "replace_error_instance_pause_check_seconds": 3,
            **extra,
        }

    def playbook(self, name, variables, *extra, check=False, kill_at=None):
        """Run a collection playbook; with kill_at, SIGKILL it when that text first appears in its output."""
        vars_file = self.tmp / ("vars-%s.json" % uuid.uuid4().hex[:8])
        vars_file.write_text(json.dumps(variables))
        argv = [
            *LOCAL_PLAYBOOK,
            "-e",
            "@%s" % vars_file,
            "servicecontrol.platform.%s" % name,
            *extra,
        ]
        if check:
            argv.append("--check")
        environment = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=_collections_path())
        process = subprocess.Popen(  # noqa: S603
            argv, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        lines = []
        killed = False
        deadline = time.monotonic() + 900
        for line in process.stdout:
            lines.append(line)
            if kill_at and not killed and kill_at in line:
                os.killpg(process.pid, signal.SIGKILL)
                killed = True
            assert time.monotonic() < deadline, "the playbook ran for more than 900 s"
        process.wait()
        output = "".join(lines)
        (self.tmp / ("%s-%s.log" % (name, vars_file.stem))).write_text(output)
        if kill_at:
            assert killed, "the playbook never reached %r:\n%s" % (kill_at, output[-4000:])
        recap = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output)
        counts = dict(zip(("ok", "changed", "unreachable", "failed"), map(int, recap.groups()))) if recap else {}
        return process.returncode, output, counts

    def stop_all(self):
        for directory in ("old", "audit", "new"):
            pid_file = self.tmp / directory / "instance.pid"
            if pid_file.exists():
                subprocess.run(["kill", "-TERM", "--", "-" + pid_file.read_text().strip()], check=False)  # noqa: S603, S607


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback lab instance
        return json.loads(response.read() or b"null")


def failed_messages(api):
    """Every failed message an Error instance holds, by NServiceBus message id: {message_id: (status, attempts)}."""
    found, page = {}, 1
    while True:
        batch = get_json("%s/errors?per_page=500&page=%d" % (api, page))
        for view in batch:
            found[view["message_id"]] = (view["status"], view.get("number_of_processing_attempts", 1))
        if len(batch) < 500:
            return found
        page += 1


def wait_for(what, predicate, seconds=120):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for %s" % what
        time.sleep(0.5)


class Endpoints:
    """The lab endpoint: fails messages at a steady rate, and handles retries, part of which fail again."""

    def __init__(self, lab):
        self.lab = lab
        self.transport = open_lab_transport(lab.transport_type, lab.connection_string)
        self.simulator = EndpointSimulator(
            self.transport,
            EndpointIdentity(lab.endpoint, machine="lab-host"),
            error_queue=lab.error_queue,
            audit_queue=lab.audit_queue,
            seed=7,
        )
        self.simulator.setup()
        self.sent = []
        self.retries_succeeded = []
        self.retries_failed = []
        self.stop = threading.Event()
        self.threads = []
        self.lock = threading.Lock()

    def fail(self, count):
        for n in range(count):
            failure = FailureSpec(exception_type=EXCEPTIONS[n % len(EXCEPTIONS)])
            message = self.simulator.fail(1, TYPES[n % len(TYPES)], failure)[0]
            with self.lock:
                self.sent.append(message.message_id)

    def _load(self):
        n = 0
        while not self.stop.is_set():
            self.fail(1) if n % 2 else self.fail(2)
            n += 1
            self.stop.wait(2 / LOAD_RATE)

    def _handle(self):
        policy = RetryPolicy(fail_fraction=REFAIL_FRACTION, seed=11)
        handler = EndpointSimulator(
            open_lab_transport(self.lab.transport_type, self.lab.connection_string),
            EndpointIdentity(self.lab.endpoint, machine="lab-host"),
            error_queue=self.lab.error_queue,
            audit_queue=self.lab.audit_queue,
            seed=13,
        )
        while not (self.stop.is_set() and self.handler_idle):
            stats = handler.handle_messages(policy, idle_timeout=1.0)
            self.handler_idle = stats.processed == 0
            self.retries_succeeded += stats.succeeded_ids
            self.retries_failed += stats.failed_ids

    def start(self):
        self.handler_idle = False
        self.threads = [
            threading.Thread(target=self._load, daemon=True),
            threading.Thread(target=self._handle, daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in self.threads), "the lab endpoint did not stop"


def account(lab, endpoints, old=None):
    """Every failure ever sent is accounted for exactly once; returns the tally. ``old``: what the old
    instance held, when it no longer answers."""
    old, new = old if old is not None else failed_messages(lab.url("old")), failed_messages(lab.url("new"))
    # Once a retry succeeded, nothing retries that message again (it is no longer unresolved anywhere), so a
    # success is the last outcome; otherwise a failed retry is.
    outcome_of_last_retry = {message_id: "failed again" for message_id in endpoints.retries_failed}
    outcome_of_last_retry.update((message_id, "processed") for message_id in endpoints.retries_succeeded)
    tally = {"archived on the old instance": 0, "retried and processed": 0, "held by the new instance": 0}
    problems = []
    for message_id in sorted(set(endpoints.sent)):
        on_old, on_new = old.get(message_id), new.get(message_id)
        if on_old and on_old[0] == "unresolved":
            problems.append("%s is still unresolved on the old instance" % message_id)
        elif on_old and on_old[0] == "archived":
            if on_new:
                problems.append("%s is archived on the old instance and also on the new one" % message_id)
            tally["archived on the old instance"] += 1
        elif on_new:
            if on_new[0] not in ("unresolved", "archived"):
                problems.append("%s is %s on the new instance" % (message_id, on_new[0]))
            tally["held by the new instance"] += 1
        elif on_old and outcome_of_last_retry.get(message_id) == "processed":
            tally["retried and processed"] += 1
        else:
            problems.append(
                "%s is lost: old %s, new %s, retry %s"
                % (message_id, on_old, on_new, outcome_of_last_retry.get(message_id))
            )
    assert not problems, "\n".join(problems[:20])
    assert sum(tally.values()) == len(set(endpoints.sent))
    return tally


def assert_queues_empty(lab, endpoints):
    queues = [lab.error_queue, lab.endpoint, lab.old, lab.new, lab.old + ".staging", lab.new + ".staging"]
    depths = {}
    for queue in queues:
        try:
            depths[queue] = endpoints.transport.depth(queue)
        except (LookupError, ValueError):
            depths[queue] = 0  # never created: nothing in it
    assert all(not depth for depth in depths.values()), depths


def set_up_with_failures(lab):
    code, output, _counts = lab.playbook("dr_setup", lab.variables(dr_setup_probe=False))
    assert code == 0, output[-6000:]
    endpoints = Endpoints(lab)
    endpoints.fail(SEEDED)
    wait_for("the seeded failures on the old instance", lambda: len(failed_messages(lab.url("old"))) >= SEEDED)
    return endpoints
