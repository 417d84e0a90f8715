"""`ansible-playbook dr-failover.yml` in examples/lab: when the primaries are lost, the backups take over.

Builds the lab BC/DR topology with dr-setup.yml (as `make demo` does), checks that failover is refused while the
primaries answer, stops the primaries, runs the failover in check mode (nothing changes) and for real, then lets an
endpoint fail messages into `error` and checks that the former backup Error instance ingests them, that the
ServicePulse stand-in's app.constants.js points at it, and that a second run changes nothing. The lab has no
ServicePulse: the example writes a stand-in app.constants.js (ServicePulse 2.x layout) under its state directory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import urllib.request

# The demo's instances listen on fixed ports: its machine-wide lock (an autouse fixture, imported to apply)
# keeps one demo at a time.
from test_demo import (  # pylint: disable=unused-import
    EXAMPLE,
    STATE,
    URLS,
    _one_demo_at_a_time,  # noqa: F401
    endpoint,
    example_playbook,
    total,
    wait_for,
    why,
)

SERVICEPULSE = STATE / "ServicePulse" / "app" / "js" / "app.constants.js"
REPORT = EXAMPLE / "dr-report"
BACKUP_CONFIG = STATE / "Particular.ServiceControl.Backup" / "ServiceControl.exe.config"


def playbook(name, *arguments):
    return example_playbook(EXAMPLE, name, *arguments)


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
            return True
    except OSError:
        return False


def stop_primary(name):
    """The primary site is lost: its process ends without any tidy-up by the collection."""
    pid_file = STATE / name / "instance.pid"
    pid = int(pid_file.read_text().strip())
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    pid_file.unlink()


def snapshot():
    return {path: path.read_bytes() for path in (SERVICEPULSE, BACKUP_CONFIG)}


def test_the_backups_take_over_when_the_primaries_are_lost():
    shutil.rmtree(STATE, ignore_errors=True)
    shutil.rmtree(REPORT, ignore_errors=True)
    try:
        code, output, _recap = playbook("dr-setup.yml")
        assert code == 0, why(output, 6000)

        # Refused while the primaries answer; the stand-in ServicePulse still points at the primary.
        code, output, _recap = playbook("dr-failover.yml")
        assert code != 0, output[-4000:]
        assert "Particular.ServiceControl, Particular.ServiceControl.Audit still answer" in output, output[-4000:]
        assert "Nothing was changed" in output
        assert "service_control_url: 'http://localhost:33333/api/'" in SERVICEPULSE.read_text()
        assert not (REPORT / "dr-failover.md").exists()

        stop_primary("Particular.ServiceControl")
        stop_primary("Particular.ServiceControl.Audit")
        assert not answers(URLS["primary error"]) and not answers(URLS["primary audit"])

        # Check mode: the plan is printed, nothing changes (ServicePulse file, the backup's configuration).
        before = snapshot()
        code, output, _recap = playbook("dr-failover.yml", "--check", "--diff")
        assert code == 0, why(output, 6000)
        assert "backups_take_over" in output and "error_backup" in output
        assert "+  service_control_url: 'http://localhost:33335/api/'," in output  # the diff of the file
        assert snapshot() == before
        assert "(plan, check mode)" in (REPORT / "dr-failover.md").read_text()

        code, output, recap = playbook("dr-failover.yml")
        assert code == 0, why(output, 6000)
        assert recap[0] > 0 and recap[1] == 0
        text = SERVICEPULSE.read_text()
        assert "service_control_url: 'http://localhost:33335/api/'" in text
        assert text == before[SERVICEPULSE].decode().replace("localhost:33333", "localhost:33335")
        report = (REPORT / "dr-failover.md").read_text()
        assert "http://localhost:9090/?scu=http://localhost:33335/api/" in report
        assert "si://localhost:33335/api" in report and "servicecontrol.platform.dr_setup" in report
        assert "input queue `Particular.ServiceControl`" in report
        data = json.loads((REPORT / "dr-failover.json").read_text())
        assert [row["ingests"] for row in data["backups_take_over"]] == ["error", "audit"]

        # The former backup ingests what the endpoints send to error and audit now.
        unresolved = total(URLS["backup error"], "errors?status=unresolved")
        audits = total(URLS["backup audit"], "messages")
        endpoint("fail", "--count", "3", "--message-type", "Sales.PlaceOrder")
        endpoint("audit", "--count", "4")
        assert wait_for(URLS["backup error"], "errors?status=unresolved", unresolved + 3) == unresolved + 3
        assert wait_for(URLS["backup audit"], "messages", audits + 4) >= audits + 4

        code, output, recap = playbook("dr-failover.yml")
        assert code == 0, why(output, 6000)
        assert recap == (0, 0), "a second run changes nothing: %s" % output[-3000:]
    finally:
        code, output, _recap = playbook("dr-stop.yml")
        assert code == 0, why(output, 4000)
