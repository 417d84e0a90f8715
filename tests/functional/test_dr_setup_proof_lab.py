"""`dr_setup`'s proof runs when it can show something new, and is skipped when nothing changed.

The proof (a probe failure and a probe audit, found in each primary and its backup, the failure archived on
both) runs on the first run; a second run with nothing to change skips it and says when this topology was
proven; a run that changes an instance proves again, so does dr_setup_probe=always; dr_setup_probe=false
keeps meaning never. Runs a copy of examples/lab (its own state, report and ports) on the lab and the
Learning transport.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil

import pytest
from test_demo import DEMO_LOCK, ROOT, example_playbook, total

# Other ports than the demo's, so a `make demo` left running does not answer for this copy.
PORTS = {"33333": "36333", "44444": "47444", "33335": "36335", "44446": "47446", "9090": "9093"}
PRIMARY_ERROR = "http://localhost:36333/api"
BACKUP_ERROR = "http://localhost:36335/api"
SKIPPED = re.compile(r"Proof skipped: proven on (\d{4}-\d\d-\d\d \d\d:\d\d UTC) for this topology; nothing changed;")


@pytest.fixture(autouse=True)
def _one_lab_topology_at_a_time():
    """The demo's machine-wide lock: the legs of `make test` run side by side, and lab runs share the cores."""
    with DEMO_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def copy_of_the_example(directory):
    """examples/lab beside a link to the lab, so its `python -m lab` runs from the copy's repository root."""
    example = directory / "examples" / "lab"
    shutil.copytree(ROOT / "examples" / "lab", example, ignore=shutil.ignore_patterns(".state", "dr-report", "*.retry"))
    (directory / "lab").symlink_to(ROOT / "lab", target_is_directory=True)
    topology = example / "inventory" / "group_vars" / "all" / "topology.yml"
    text = topology.read_text(encoding="utf-8")
    for port, other in PORTS.items():
        text = text.replace(port, other)
    topology.write_text(text, encoding="utf-8")
    return example, topology


def playbook(example, name, *arguments, succeeds=True):
    code, output, counts = example_playbook(example, name, *arguments)
    assert (code == 0) is succeeds, output[-6000:]
    return output, counts


def archived():
    return total(BACKUP_ERROR, "errors?status=archived")


def proved(output):
    """The probes were sent and each was found in the primary and in the backup."""
    return len(re.findall(r"ok: \[localhost\] => \(item=\S+ at http://localhost:\d+/api\)", output)) >= 4


def test_the_proof_is_skipped_when_nothing_changed_and_runs_again_after_a_change_or_when_asked(tmp_path):
    example, topology = copy_of_the_example(tmp_path)
    record = example / "dr-report" / "dr-setup-proof.json"
    try:
        output, recap = playbook(example, "dr-setup.yml")
        assert recap[0] > 0 and recap[1] == 0
        assert "Proving forwarding: changed in this run: queues, Particular.ServiceControl" in output
        assert proved(output), output[-6000:]
        proof = json.loads(record.read_text(encoding="utf-8"))
        assert proof["instances"][0] == "Particular.ServiceControl" and len(proof["fingerprint"]) == 64
        assert ".learningtransport" not in record.read_text(encoding="utf-8")  # no connection string
        before = archived()
        assert before >= 1

        # Nothing to change: the earlier proof stands, no probe is sent, and the run says so.
        output, recap = playbook(example, "dr-setup.yml")
        assert recap == (0, 0), output[-4000:]
        assert SKIPPED.search(output).group(1) == proof["proven_at"], output[-4000:]
        assert "set dr_setup_probe=always to prove again" in output
        assert not proved(output)
        assert json.loads(record.read_text(encoding="utf-8")) == proof
        assert archived() == before

        # The plan says the same and writes no proof record of its own.
        output, recap = playbook(example, "dr-setup.yml", "--check")
        assert SKIPPED.search(output), output[-4000:]
        assert json.loads(record.read_text(encoding="utf-8")) == proof

        # One backup setting changes: that instance is reconfigured and forwarding proven again.
        text = topology.read_text(encoding="utf-8")
        backup_retention = text.rindex('ServiceControl/ErrorRetentionPeriod: "15"')
        topology.write_text(
            text[:backup_retention] + text[backup_retention:].replace('"15"', '"16"', 1), encoding="utf-8"
        )
        output, recap = playbook(example, "dr-setup.yml")
        assert recap[0] > 0 and recap[1] == 0
        assert "Proving forwarding: changed in this run: Particular.ServiceControl.Backup." in output, output[-4000:]
        assert proved(output)
        assert json.loads(record.read_text(encoding="utf-8"))["proven_at"] >= proof["proven_at"]

        # Nothing changed, but asked for: always proves again (true is always).
        for value in ("always", "true"):
            before = archived()
            output, recap = playbook(example, "dr-setup.yml", "-e", "dr_setup_probe=%s" % value)
            assert recap == (0, 0), output[-4000:]
            assert "Proving forwarding: dr_setup_probe=always." in output, output[-4000:]
            assert proved(output)
            assert archived() == before + 1

        # false is never: no proof, although the topology was proven before.
        before = archived()
        output, recap = playbook(example, "dr-setup.yml", "-e", "dr_setup_probe=false")
        assert recap == (0, 0) and "Proof skipped: dr_setup_probe=never." in output, output[-4000:]
        assert not proved(output) and archived() == before

        # A value it does not know is refused before anything changes.
        output, recap = playbook(example, "dr-setup.yml", "-e", "dr_setup_probe=sometimes", succeeds=False)
        assert "dr_setup_probe is 'sometimes'; use changed" in output, output[-3000:]
        assert recap == (0, 1) and "Create the standard and backup queues" not in output
        assert total(PRIMARY_ERROR, "errors?status=unresolved") == 0
    finally:
        playbook(example, "dr-stop.yml")
