"""Cross-check: servicecontrol.platform.instance_info, run by real ansible, against lab ServiceControl instances.

The lab is an independent implementation of ServiceControl's HTTP API (lab/), so agreement here means both
read the facts the same way. Instances run as `python -m lab instance` processes on the Learning transport.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def lab_instance(kind, environment, tmp_path, port):
    """Run `python -m lab instance --setup-and-run` until the block ends; yield its API URL."""
    url = "http://localhost:%s/api" % port
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "LAB_CHECK_REMOTES_INTERVAL": "1", **environment}
    log = (tmp_path / ("%s-%s.log" % (kind, port))).open("wb")
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "lab", "instance", "--kind", kind, "--setup-and-run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback
                    break
            except OSError:
                assert process.poll() is None, "lab %s instance exited; see %s" % (kind, log.name)
                assert time.monotonic() < deadline, "lab %s instance did not answer on %s" % (kind, url)
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def instance_info(url, **options):
    """Run the module through `ansible` (AnsiballZ, the real module path) and return its result."""
    arguments = json.dumps({"url": url, **options})
    completed = subprocess.run(  # noqa: S603 - fixed argv
        [
            str(Path(sys.executable).with_name("ansible")),
            "localhost",
            "-c",
            "local",
            "-i",
            "localhost,",
            "-e",
            "ansible_python_interpreter=%s" % sys.executable,
            "-m",
            "servicecontrol.platform.instance_info",
            "-a",
            arguments,
            "-o",
        ],
        env=dict(os.environ, ANSIBLE_NOCOLOR="1"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode in (0, 2), completed.stderr
    # One-line output: "localhost | SUCCESS => {...}" or "localhost | FAILED! => {...}".
    line = next(text for text in completed.stdout.splitlines() if text.startswith("localhost |"))
    status, _separator, payload = line.partition(" => ")
    result = json.loads(payload)
    result["failed"] = "FAILED" in status
    return result


def error_environment(tmp_path, port, version, remotes="[]"):
    return {
        "SERVICECONTROL_TRANSPORTTYPE": "LearningTransport",
        "SERVICECONTROL_CONNECTIONSTRING": str(tmp_path / "lt"),
        "SERVICECONTROL_PORT": str(port),
        "SERVICECONTROL_DBPATH": str(tmp_path / ("db-error-%s" % port)),
        "SERVICECONTROL_FORWARDERRORMESSAGES": "false",
        "SERVICECONTROL_ERRORRETENTIONPERIOD": "15",
        "SERVICECONTROL_REMOTEINSTANCES": remotes,
        "LAB_SERVICECONTROL_VERSION": version,
    }


def test_error_and_audit_instances_are_read_as_servicecontrol_reports_them(tmp_path):
    audit_port, error_port = _free_port(), _free_port()
    audit_environment = {
        "SERVICECONTROL_AUDIT_TRANSPORTTYPE": "LearningTransport",
        "SERVICECONTROL_AUDIT_CONNECTIONSTRING": str(tmp_path / "lt"),
        "SERVICECONTROL_AUDIT_PORT": str(audit_port),
        "SERVICECONTROL_AUDIT_DBPATH": str(tmp_path / "db-audit"),
        "SERVICECONTROL_AUDIT_FORWARDAUDITMESSAGES": "true",
        "SERVICEBUS_AUDITLOGQUEUE": "audit_backup",
        "SERVICECONTROL_AUDIT_SERVICECONTROLQUEUEADDRESS": "Particular.ServiceControl",
        "LAB_SERVICECONTROL_VERSION": "6.19.2",
    }
    (tmp_path / "lt" / "audit_backup").mkdir(parents=True)
    remotes = json.dumps([{"api_uri": "http://localhost:%s/api" % audit_port}])
    with lab_instance("audit", audit_environment, tmp_path, audit_port) as audit_url:
        error_env = error_environment(tmp_path, error_port, "6.19.2", remotes)
        with lab_instance("error", error_env, tmp_path, error_port) as url:
            error = instance_info(url)
            audit = instance_info(audit_url)

    assert error["instance_kind"] == "error"
    assert error["version"] == "6.19.2"
    assert error["instance_name"] == "Particular.ServiceControl"
    assert error["transport"] == "LearningTransport"
    assert error["queues"] == {"error_queue": "error", "error_log_queue": "error.log"}
    assert error["forwarding"] is False
    assert [(r["status"], r["version"]) for r in error["remotes"]] == [("online", "6.19.2")]
    assert error["remotes"][0]["instance_kind"] == "audit"

    assert audit["instance_kind"] == "audit"
    assert audit["instance_name"] == "Particular.ServiceControl.Audit"
    assert audit["queues"] == {"audit_queue": "audit", "audit_log_queue": "audit_backup"}
    assert audit["forwarding"] is True
    assert audit["remotes"] == []


def test_old_version_and_unreachable_remote(tmp_path):
    # A 4.33.0 instance (the minimum for the replacement procedure) whose remote audit instance is down.
    port, dead_port = _free_port(), _free_port()
    remotes = json.dumps([{"api_uri": "http://localhost:%s/api" % dead_port}])
    # 4.x reads only the fully qualified forms (ServiceControl/Name or ServiceControl_Name), not bare names.
    environment = {
        "ServiceControl/TransportType": "LearningTransport",
        "ServiceControl_ConnectionString": str(tmp_path / "lt"),
        "ServiceControl/Port": str(port),
        "ServiceControl/DbPath": str(tmp_path / "db"),
        "ServiceControl/ForwardErrorMessages": "false",
        "ServiceControl/ErrorRetentionPeriod": "15.00:00:00",
        "ServiceControl/RemoteInstances": remotes,
        "LAB_SERVICECONTROL_VERSION": "4.33.0",
    }
    with lab_instance("error", environment, tmp_path, port) as url:
        result = instance_info(url)
        without_remotes = instance_info(url, include_remotes=False)

    assert result["version"] == "4.33.0"
    assert result["instance_kind"] == "error"
    assert [r["status"] for r in result["remotes"]] == ["unavailable"]
    assert without_remotes["remotes"] == []


def test_an_unreachable_instance_fails_with_the_url_and_no_secret(tmp_path):
    port = _free_port()
    result = instance_info("http://localhost:%s/api" % port, token="s3cr3t-token", retries=0, timeout=2)
    assert result.get("failed") is True
    assert "localhost:%s" % port in result["msg"]
    assert "s3cr3t-token" not in json.dumps(result)
