"""`make demo` is one of the README's two commands: run it as a newcomer would and check the outcome.

`make demo` runs `ansible-playbook dr-setup.yml` in examples/lab, an infrastructure-as-code repository that
imports the collection's `servicecontrol.platform.dr_setup` on the lab and the Learning transport. This test
runs that playbook, runs it again (nothing changes), then lets an endpoint fail and audit messages and checks
that the backups received what the primaries forwarded, and stops the instances (`make demo-stop`).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "lab"
STATE = EXAMPLE / ".state"
URLS = {
    "primary error": "http://localhost:33333/api",
    "primary audit": "http://localhost:44444/api",
    "backup error": "http://localhost:33335/api",
    "backup audit": "http://localhost:44446/api",
}
# The instances listen on fixed ports, so one demo runs at a time on this machine, whichever checkout, leg or
# run starts it: `make test` runs this test on its main leg, on its 2.21 leg and from the installed artifact
# (tests/artifact.sh), and the legs run side by side.
DEMO_LOCK = Path(tempfile.gettempdir()) / "servicecontrol-platform-demo.lock"


@pytest.fixture(autouse=True)
def _one_demo_at_a_time():
    with DEMO_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _environment():
    environment = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    if "ANSIBLE_COLLECTIONS_PATH" not in environment:
        # Run from the collection tree (…/ansible_collections/servicecontrol/platform) or from a checkout.
        inside_tree = ROOT.parent.parent.name == "ansible_collections"
        collections = ROOT.parents[2] if inside_tree else ROOT / ".build" / "collections"
        environment["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    return environment


def example_playbook(example, name, *arguments):
    """Run a playbook of an example repository as its user would; (exit code, output, (changed, failed) or None)."""
    completed = subprocess.run(  # noqa: S603 - fixed argv
        [str(Path(sys.executable).with_name("ansible-playbook")), name, *arguments],
        cwd=example,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = completed.stdout + completed.stderr
    recap = re.search(r"localhost\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", output)
    return completed.returncode, output, (int(recap.group(1)), int(recap.group(2))) if recap else None


def playbook(name):
    return example_playbook(EXAMPLE, name)


def why(output, tail=4000):
    """What a failed run said: its failing tasks' lines (the first of them can be far from the end of a long
    output, which is all a truncated CI summary would otherwise show), then the end of the output."""
    # "[ERROR]" is how ansible-core 2.19 and later open an error, "ERROR!" how older releases did.
    marks = ("fatal:", "failed:", "[ERROR]", "ERROR!")
    failures = [line[:2000] for line in output.splitlines() if line.startswith(marks)]
    # The first line is what pytest's short summary keeps.
    first = failures[0] if failures else "(no failing task in the output)"
    return "%s\n%s\n--- the end of the output ---\n%s" % (first, "\n".join(failures[1:5]), output[-tail:])


def total(url, route):
    with urllib.request.urlopen("%s/%s" % (url, route), timeout=10) as response:  # noqa: S310 - loopback
        return int(response.headers.get("Total-Count", len(json.loads(response.read() or b"[]"))))


def wait_for(url, route, expected, within=60):
    deadline = time.monotonic() + within
    seen = -1
    while time.monotonic() < deadline:
        seen = total(url, route)
        if seen >= expected:
            return seen
        time.sleep(0.5)
    return seen


def endpoint(*arguments):
    transport = str(STATE / ".learningtransport")
    command = [sys.executable, "-m", "lab", "endpoint", "--transport", "LearningTransport", "--connection-string"]
    completed = subprocess.run(  # noqa: S603 - fixed argv
        [*command, transport, "--endpoint", "Sales", *arguments],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr


def test_demo_builds_the_dr_topology_and_the_backups_receive_what_the_primaries_forward():
    shutil.rmtree(STATE, ignore_errors=True)
    shutil.rmtree(EXAMPLE / "dr-report", ignore_errors=True)
    try:
        code, output, recap = playbook("dr-setup.yml")
        assert code == 0, why(output, 6000)
        assert recap[0] > 0 and recap[1] == 0
        for url in URLS.values():
            assert url in output  # the instances' addresses are printed
        # The probe: found in both primaries and both backups, then the probe failure archived on both.
        assert "Wait until each probe failure is in the primary and in its backup" in output
        assert output.count("Archive each probe failure") == 1
        assert total(URLS["backup error"], "errors?status=archived") >= 1
        assert total(URLS["primary error"], "errors?status=unresolved") == 0
        report = (EXAMPLE / "dr-report" / "dr-setup.md").read_text(encoding="utf-8")
        assert "```mermaid" in report and "-- forwards --> q_error_backup" in report

        code, output, recap = playbook("dr-setup.yml")
        assert code == 0, why(output, 6000)
        # A second run changes nothing (and skips the proof: nothing changed since the first run proved it).
        assert recap == (0, 0), "a second run changes nothing: %s" % output[-3000:]

        endpoint("fail", "--count", "5", "--message-type", "Sales.PlaceOrder")
        endpoint("audit", "--count", "7")
        assert wait_for(URLS["primary error"], "errors?status=unresolved", 5) == 5
        assert wait_for(URLS["backup error"], "errors?status=unresolved", 5) == 5, "the backup received every failure"
        assert wait_for(URLS["backup audit"], "messages", 7) >= 7, "the backup received every forwarded audit"
    finally:
        code, output, _recap = playbook("dr-stop.yml")
        assert code == 0, why(output, 4000)
