"""Resumable and safe: servicecontrol.platform.replace_error_instance killed at each phase boundary and re-run
loses nothing, and the kept-name strategy never runs two instances of one InstanceName (see
test_replace_error_instance_lab.py for the proof under load and replacement_support.py for the accounting)."""

from __future__ import annotations

import json
import uuid

from replacement_support import (
    Lab,
    account,
    assert_queues_empty,
    get_json,
    set_up_with_failures,
    wait_for,
)

# Where the phases meet: killing the playbook as one of these starts leaves the one before it just done (or, for
# the tasks of the instance role, half done: the settings written, the restart not yet).
BOUNDARIES = [
    "PLAY [Pre-clean and prepare",
    "TASK [Switch error ingestion off on the old instance",
    "TASK [Retry or archive the failed messages by the drain rules, until none is unresolved]",
    "TASK [Create (or upgrade) the new instance",
    "TASK [Switch error ingestion on for the new instance",
    "PLAY [Resume - reconcile",
    "PLAY [Step 4",
]


def test_killed_at_every_phase_boundary_and_re_run_loses_nothing(tmp_path):
    """One replacement, killed at the first boundary, re-run and killed at the next, and so on, then run to the
    end: each re-run resumes from what the earlier ones left (the cheapest way to cover every boundary)."""
    (tmp_path / "transport").mkdir()
    lab = Lab(tmp_path, "LearningTransport", str(tmp_path / "transport"), uuid.uuid4().hex[:6])
    try:
        endpoints = set_up_with_failures(lab)
        endpoints.start()
        variables = lab.variables(replace_error_instance_confirm=True)
        for boundary in BOUNDARIES:
            code, output, _counts = lab.playbook("replace_error_instance", variables, kill_at=boundary)
            assert code != 0, "killed at %s" % boundary
        code, output, _counts = lab.playbook("replace_error_instance", variables)
        endpoints.finish()
        assert code == 0, output[-8000:]
        wait_for("the error queue to be ingested", lambda: not endpoints.transport.depth(lab.error_queue), 120)
        account(lab, endpoints)
        assert_queues_empty(lab, endpoints)
        report = json.loads((lab.report / "replace-error-instance.json").read_text())
        assert report["state"]["reconciliation"]["ok"], report["state"]["reconciliation"]
    finally:
        lab.stop_all()


def test_keeping_the_name_stops_the_old_instance_before_the_new_one_starts(tmp_path):
    """keep_name: two instances of one InstanceName must never run on one broker (they share `<name>` and
    `<name>.staging`), so the old one is stopped first; the new one, elsewhere on this host, takes its name."""
    (tmp_path / "transport").mkdir()
    lab = Lab(tmp_path, "LearningTransport", str(tmp_path / "transport"), uuid.uuid4().hex[:6])
    lab.new = lab.old
    try:
        endpoints = set_up_with_failures(lab)
        endpoints.start()
        variables = lab.variables(replace_error_instance_confirm=True, replace_error_instance_strategy="keep_name")
        code, output, _counts = lab.playbook("replace_error_instance", variables)
        endpoints.finish()
        assert code == 0, output[-8000:]
        assert not (tmp_path / "old" / "instance.pid").exists(), "the old instance is stopped"
        assert get_json(lab.url("new") + "/configuration")["host"]["instance_name"] == lab.old
        wait_for("the error queue to be ingested", lambda: not endpoints.transport.depth(lab.error_queue), 120)
        report = json.loads((lab.report / "replace-error-instance.json").read_text())
        assert report["state"]["phases"]["replace"]["old_stopped"]
        assert report["state"]["reconciliation"]["ok"], report["state"]["reconciliation"]
        # What the old instance held when it was stopped, as the playbook read it for its reconciliation.
        held_file = json.loads((lab.report / "replace-error-instance.old-messages.json").read_text())["messages"]
        held = {m["message_id"]: (m["status"], None) for m in held_file}
        assert report["state"]["old_messages_file"].endswith("replace-error-instance.old-messages.json")
        account(lab, endpoints, old=held)
        assert_queues_empty(lab, endpoints)
    finally:
        lab.stop_all()
