"""Cross-check: servicecontrol.platform.instance_info, run by real ansible, against lab ServiceControl instances.

The lab is an independent implementation of ServiceControl's HTTP API (lab/), so agreement here means both
read the facts the same way. Instances run as `python -m lab instance` processes on the Learning transport.
"""

from __future__ import annotations

import json

from functional_support import free_port, lab_instance, run_module


def instance_info(url, **options):
    """Run the module through `ansible` (AnsiballZ, the real module path) and return its result."""
    return run_module("servicecontrol.platform.instance_info", {"url": url, **options})


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
    audit_port, error_port = free_port(), free_port()
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
    port, dead_port = free_port(), free_port()
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
    port = free_port()
    result = instance_info("http://localhost:%s/api" % port, token="s3cr3t-token", retries=0, timeout=2)
    assert result.get("failed") is True
    assert "localhost:%s" % port in result["msg"]
    assert "s3cr3t-token" not in json.dumps(result)
