# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""servicecontrol.platform.failed_messages and failed_messages_info, run by real ansible-playbook against lab Error
instances on the Learning transport: a primary that forwards to a backup, failures from the lab endpoint simulator
in several groups, and retries that the simulated endpoint handles (one message type always fails again).

The lab (lab/) is an independent implementation of ServiceControl; the simulator only talks to queues.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.request

import pytest
from functional_support import LOCAL_PLAYBOOK, ROOT, free_port, lab_instance

from lab.endpoint import EndpointIdentity, EndpointSimulator, FailureSpec, RetryPolicy
from lab.transports import open_lab_transport

#: (endpoint, message type, exception type, count): four groups under the default classifier.
FAILURES = (
    ("Sales", "Sales.Messages.PlaceOrder", "System.InvalidOperationException", 12),
    ("Sales", "Sales.Messages.CancelOrder", "System.ArgumentException", 4),
    ("Billing", "Billing.Messages.ChargeCard", "System.FormatException", 8),
    ("Shipping", "Shipping.Messages.ShipOrder", "System.TimeoutException", 6),
)
TOTAL = sum(f[3] for f in FAILURES)


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def statuses(api):
    """{status: count} over every failed message, and {message type: {status: count}}."""
    by_type, total = {}, {}
    for view in get_json(api + "/errors?per_page=1000"):
        total[view["status"]] = total.get(view["status"], 0) + 1
        per = by_type.setdefault(view["message_type"], {})
        per[view["status"]] = per.get(view["status"], 0) + 1
    return total, by_type


def wait_until(what, predicate, seconds=60):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for %s" % what
        time.sleep(0.3)


def environment(tmp_path, name, port, error_queue, forward_to=None):
    return {
        "SERVICECONTROL_TRANSPORTTYPE": "LearningTransport",
        "SERVICECONTROL_CONNECTIONSTRING": str(tmp_path / "lt"),
        "SERVICECONTROL_INSTANCENAME": name,
        "SERVICEBUS_ERRORQUEUE": error_queue,
        "SERVICEBUS_ERRORLOGQUEUE": forward_to or (error_queue + ".log"),
        "SERVICECONTROL_FORWARDERRORMESSAGES": "true" if forward_to else "false",
        "SERVICECONTROL_PORT": str(port),
        "SERVICECONTROL_DBPATH": str(tmp_path / ("db-" + name)),
        "SERVICECONTROL_ERRORRETENTIONPERIOD": "15",
        "LAB_SERVICECONTROL_VERSION": "6.19.2",
        "LAB_PROCESS_RETRY_BATCHES_FREQUENCY": "1",
    }


class Handlers:
    """The endpoints handling what ServiceControl retries: CancelOrder always fails again, the rest succeed."""

    def __init__(self, root):
        self.stop = threading.Event()
        self.threads = []
        for name in ("Sales", "Billing", "Shipping"):
            thread = threading.Thread(target=self._run, args=(root, name), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _run(self, root, name):
        with open_lab_transport("LearningTransport", root) as transport:
            simulator = EndpointSimulator(transport, EndpointIdentity(name, machine="lab-host"), audit_queue=None)
            policy = RetryPolicy(fail_types=frozenset({"Sales.Messages.CancelOrder"}))
            while not self.stop.is_set():
                simulator.handle_messages(policy, idle_timeout=0.5)

    def close(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


@pytest.fixture
def dr_pair(tmp_path):
    """A primary Error instance forwarding to error_backup, and the backup ingesting it; both with TOTAL failures."""
    root = str(tmp_path / "lt")
    primary_port, backup_port = free_port(), free_port()
    with open_lab_transport("LearningTransport", root) as transport:
        for name in ("Sales", "Billing", "Shipping"):
            EndpointSimulator(transport, EndpointIdentity(name, machine="lab-host"), audit_queue=None).setup()
        transport.create_queue("error_backup")
    primary_env = environment(tmp_path, "Particular.ServiceControl", primary_port, "error", "error_backup")
    backup_env = environment(tmp_path, "Particular.ServiceControl.Backup", backup_port, "error_backup")
    with (
        lab_instance("error", primary_env, tmp_path, primary_port) as primary,
        lab_instance("error", backup_env, tmp_path, backup_port) as backup,
    ):
        with open_lab_transport("LearningTransport", root) as transport:
            for endpoint, message_type, exception_type, count in FAILURES:
                simulator = EndpointSimulator(
                    transport, EndpointIdentity(endpoint, machine="lab-host"), audit_queue=None
                )
                simulator.fail(count, message_type, FailureSpec(exception_type=exception_type))
        for api in (primary, backup):
            wait_until("the failures on %s" % api, lambda api=api: statuses(api)[0].get("unresolved") == TOTAL)
        handlers = Handlers(root)
        try:
            yield primary, backup, tmp_path
        finally:
            handlers.close()


def run_playbook(tmp_path, name, tasks):
    playbook = tmp_path / (name + ".yml")
    playbook.write_text(json.dumps([{"name": name, "hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    completed = subprocess.run(  # noqa: S603 - fixed argv
        [
            *LOCAL_PLAYBOOK,
            str(playbook),
        ],
        env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="default"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return completed


def results_of(tmp_path):
    return json.loads((tmp_path / "results.json").read_text())


def save(*names):
    """A task writing the registered results to results.json (read back by the test)."""
    content = "{%s}" % ", ".join('"%s": {{ %s | to_json }}' % (n, n) for n in names)
    return {"ansible.builtin.copy": {"dest": "{{ playbook_dir }}/results.json", "content": content}}


RULES = [
    {"name": "billing poison", "action": "archive", "group_title": "System.FormatException: *"},
    {"name": "orders", "action": "retry", "message_type": "Sales.Messages.PlaceOrder"},
]


def test_drain_by_rules_check_mode_real_run_and_idempotence(dr_pair):
    primary, _backup, tmp_path = dr_pair
    drain = {"url": primary, "rules": RULES, "wait_for": "dispatched", "poll_interval": 1, "timeout": 120}
    tasks = [
        {"name": "Plan", "servicecontrol.platform.failed_messages": drain, "check_mode": True, "register": "planned"},
        {"name": "Drain", "servicecontrol.platform.failed_messages": drain, "register": "drained"},
        {"name": "Again", "servicecontrol.platform.failed_messages": drain, "register": "again"},
        {
            "name": "Retry the cancellations, which fail again",
            "servicecontrol.platform.failed_messages": dict(
                drain,
                rules=[{"name": "cancellations", "action": "retry", "message_type": "Sales.Messages.CancelOrder"}],
            ),
            "register": "refail",
        },
        {
            "name": "Read",
            "servicecontrol.platform.failed_messages_info": {
                "url": primary,
                "include_messages": True,
                "status": ["unresolved", "archived"],
            },
            "register": "info",
        },
        save("planned", "drained", "again", "refail", "info"),
    ]
    completed = run_playbook(tmp_path, "drain", tasks)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = results_of(tmp_path)
    planned, drained, again, refail, info = (results[k] for k in ("planned", "drained", "again", "refail", "info"))

    assert planned["changed"] is True
    plan = {entry["name"]: entry for entry in planned["plan"]}
    assert plan["billing poison"]["count"] == 8 and plan["billing poison"]["route"].endswith("/errors/archive")
    assert plan["orders"]["count"] == 12
    assert plan["default"] == {"name": "default", "action": "keep", "count": 10, "route": None}
    assert (planned["retried"], planned["archived"]) == (12, 8)

    assert drained["changed"] is True and (drained["retried"], drained["archived"]) == (12, 8)
    assert len(drained["retried_ids"]) == 12 and len(drained["archived_ids"]) == 8
    assert drained["refailed"] == 0 and drained["remaining"] == 10
    assert "failed_messages:" in completed.stdout and "unresolved left" in completed.stdout

    assert again["changed"] is False and again["retried"] == again["archived"] == 0

    assert refail["retried"] == 4
    wait_until(
        "the cancellations back", lambda: statuses(primary)[1]["Sales.Messages.CancelOrder"] == {"unresolved": 4}
    )
    _total, by_type = statuses(primary)
    assert by_type["Sales.Messages.PlaceOrder"] == {"resolved": 12}
    assert by_type["Billing.Messages.ChargeCard"] == {"archived": 8}
    assert by_type["Shipping.Messages.ShipOrder"] == {"unresolved": 6}
    assert info["counts"]["archived"] == 8 and info["counts"]["resolved"] == 12
    assert len(info["messages"]) == info["counts"]["unresolved"] + 8


def test_the_guard_on_a_backup(dr_pair):
    primary, backup, tmp_path = dr_pair
    # Retry the orders on the primary first: their backup copies must then be skipped.
    tasks = [
        {
            "name": "Retry orders on the primary",
            "servicecontrol.platform.failed_messages": {
                "url": primary,
                "rules": [RULES[1]],
                "wait_for": "dispatched",
                "poll_interval": 1,
            },
        },
        {
            "name": "Refused on the backup (detected from what the instances report)",
            "servicecontrol.platform.failed_messages": {
                "url": backup,
                "primary_url": primary,
                "default_action": "retry",
            },
            "register": "refused",
            "ignore_errors": True,
        },
        {
            "name": "Refused without primary_url",
            "servicecontrol.platform.failed_messages": {
                "url": backup,
                "backup": True,
                "allow_backup_retry": True,
                "default_action": "retry",
            },
            "register": "unchecked",
            "ignore_errors": True,
        },
        {
            "name": "Retry on the backup only what the primary never retried",
            "servicecontrol.platform.failed_messages": {
                "url": backup,
                "primary_url": primary,
                "allow_backup_retry": True,
                "rules": [{"action": "retry", "endpoint": "Sales"}],
                "wait_for": "dispatched",
                "poll_interval": 1,
            },
            "register": "guarded",
        },
        save("refused", "unchecked", "guarded"),
    ]
    completed = run_playbook(tmp_path, "guard", tasks)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = results_of(tmp_path)
    refused, unchecked, guarded = results["refused"], results["unchecked"], results["guarded"]
    assert refused["failed"] is True and "is a backup Error instance" in refused["msg"]
    assert refused["changed"] is False
    assert unchecked["failed"] is True and "primary_url is not" in unchecked["msg"]
    assert guarded["backup"] is True
    # The 12 orders were retried on the primary; the 4 cancellations were not.
    assert guarded["retried"] == 4 and guarded["skipped"] == 12
    _total, by_type = statuses(backup)
    assert by_type["Sales.Messages.PlaceOrder"] == {"unresolved": 12}
    assert by_type["Billing.Messages.ChargeCard"] == {"unresolved": 8}
