"""Proof that nothing is lost: servicecontrol.platform.replace_error_instance, run by real ansible-playbook,
replaces a lab Error instance while a lab endpoint keeps failing messages and part of the retries fail again.

At the end every failure ever sent is accounted for exactly once - archived on the old instance, retried by
it and then processed (or failed again and held by the new instance), or held by the new instance because it
arrived while ingestion was paused - and nothing is left in any queue. Then the same with the playbook killed
at each phase boundary and re-run.

The lab (lab/) is an independent implementation of ServiceControl; the endpoint simulator talks only to queues.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from functional_support import endpoint, require_reachable
from replacement_support import (
    SEEDED,
    Lab,
    account,
    assert_queues_empty,
    failed_messages,
    set_up_with_failures,
    wait_for,
)


@pytest.fixture(params=["LearningTransport", "RabbitMQ.QuorumConventionalRouting"])
def lab(request, tmp_path):
    token = uuid.uuid4().hex[:6]
    if request.param == "LearningTransport":
        connection_string = str(tmp_path / "transport")
        Path(connection_string).mkdir()
    else:
        connection_string = endpoint("SCTEST_RABBITMQ_CONNECTION_STRING")
        require_reachable(endpoint("SCTEST_RABBITMQ_MANAGEMENT_URL"), "RabbitMQ")
    built = Lab(tmp_path, request.param, connection_string, token)
    yield built
    built.stop_all()


def test_replacement_under_load_loses_nothing(lab):
    endpoints = set_up_with_failures(lab)

    # The plan: printed and written to the report; the instances, their settings and the queues stay as they are.
    config_before = (lab.tmp / "old" / "ServiceControl.exe.config").read_bytes()
    pid_before = (lab.tmp / "old" / "instance.pid").read_text()
    code, output, _counts = lab.playbook("replace_error_instance", lab.variables(), check=True)
    assert code == 0, output[-6000:]
    assert (lab.tmp / "old" / "ServiceControl.exe.config").read_bytes() == config_before
    assert (lab.tmp / "old" / "instance.pid").read_text() == pid_before
    assert not (lab.tmp / "new").exists() and not (lab.report / "replace-error-instance.state.json").exists()
    assert [status for status, _attempts in failed_messages(lab.url("old")).values()].count("unresolved") >= SEEDED
    assert "(plan, check mode)" in (lab.report / "replace-error-instance.md").read_text()

    code, output, _counts = lab.playbook("replace_error_instance", lab.variables())
    assert code != 0 and "replace_error_instance_confirm=true" in output, "the confirmation gate"

    endpoints.start()
    code, output, _counts = lab.playbook("replace_error_instance", lab.variables(replace_error_instance_confirm=True))
    time.sleep(3)  # a little more load after the replacement, into the new instance
    endpoints.finish()
    assert code == 0, output[-8000:]
    assert "unresolved left" in output, "the drain shows its progress"

    wait_for("the error queue to be ingested", lambda: not endpoints.transport.depth(lab.error_queue), 120)
    tally = account(lab, endpoints)
    assert all(tally.values()), tally  # every path was exercised: archived, retried and processed, held by the new
    assert_queues_empty(lab, endpoints)

    report = json.loads((lab.report / "replace-error-instance.json").read_text())
    assert report["state"]["reconciliation"]["ok"], report["state"]["reconciliation"]
    assert "Ingestion pause:" in (lab.report / "replace-error-instance.md").read_text()

    code, output, counts = lab.playbook("replace_error_instance", lab.variables(replace_error_instance_confirm=True))
    assert code == 0, output[-6000:]
    assert counts["changed"] == 0, "a re-run after the end changes nothing:\n" + output[-6000:]
