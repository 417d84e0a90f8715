"""`make demo` is one of the README's two commands: run its playbook as a newcomer would and check the outcome."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_playbook_runs_the_dr_topology_on_the_lab():
    environment = dict(os.environ)
    if "ANSIBLE_COLLECTIONS_PATH" not in environment:
        # Run from the collection tree (…/ansible_collections/servicecontrol/platform) or from a checkout.
        inside_tree = ROOT.parent.parent.name == "ansible_collections"
        collections = ROOT.parents[2] if inside_tree else ROOT / ".build" / "collections"
        environment["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    environment["ANSIBLE_FORCE_COLOR"] = "0"
    completed = subprocess.run(  # noqa: S603 - fixed argv
        [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i",
            "demo/inventory.yml",
            "demo/site.yml",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    assert "Failed messages: primary 5, backup 5 (forwarded through error_backup)" in output
    assert "Audit messages in the backup Audit instance: 7 (forwarded through audit_backup)" in output
    assert "failed=0" in output
