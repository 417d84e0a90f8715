# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deployment decisions per target: cmdlet parameters, container definitions, lab processes, upgrade paths."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils import _deployment as d
from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import find_instance, validate_topology

SECRET = "s3cr3t-pw"
TOPOLOGY = {
    "transport": {
        "type": "RabbitMQ.QuorumConventionalRouting",
        "connection_string": "host=rabbit;password=%s" % SECRET,
    },
    "instances": [
        {
            "name": "Particular.ServiceControl",
            "kind": "error",
            "version": "6.19.2",
            "target": {"type": "windows", "host": "sc1"},
            "settings": {
                "ServiceControl/Port": 33333,
                "ServiceControl/ForwardErrorMessages": True,
                "ServiceBus/ErrorLogQueue": "error_backup",
                "ServiceControl/ErrorRetentionPeriod": "10.00:00:00",
                "ServiceControl/RemoteInstances": '[{"api_uri":"http://sc1:44444/api"}]',
            },
        },
        {
            "name": "Particular.ServiceControl.Audit",
            "kind": "audit",
            "version": "6.19.2",
            "target": {"type": "container", "port": 44444},
            "settings": {"ServiceControl.Audit/ServiceControlQueueAddress": "Particular.ServiceControl"},
        },
    ],
}


def instance(name, topology=None):
    normalised = validate_topology(copy.deepcopy(topology or TOPOLOGY))
    return normalised, find_instance(normalised, name)


def test_windows_create_renders_the_cmdlet_parameters():
    normalised, error = instance("Particular.ServiceControl")
    created = d.windows_create(error, normalised["transport"])
    assert created["cmdlet"] == "New-ServiceControlInstance"
    parameters = created["parameters"]
    assert parameters["Name"] == "Particular.ServiceControl"
    assert parameters["Transport"] == "RabbitMQ.QuorumConventionalRouting"
    assert parameters["Port"] == "33333" and parameters["DatabaseMaintenancePort"] == "33334"
    assert parameters["ErrorLogQueue"] == "error_backup"
    assert parameters["ForwardErrorMessages"] is True
    assert parameters["ErrorRetentionPeriod"] == "10.00:00:00"
    assert parameters["SkipQueueCreation"] is True
    assert parameters["Acknowledgements"] == "RabbitMQBrokerVersion310,RabbitMQManagementApi"
    assert parameters["DBPath"].endswith("\\Particular.ServiceControl\\DB")
    assert created["secret_parameters"] == ["ConnectionString"]
    assert created["config_file"].endswith("\\ServiceControl.exe.config")
    # What the cmdlet cannot take is written into the config afterwards; what it took is not repeated.
    after = created["settings_after_create"]
    assert after["ServiceControl/RemoteInstances"] == '[{"api_uri":"http://sc1:44444/api"}]'
    assert "ServiceControl/Port" not in after and "ServiceBus/ErrorLogQueue" not in after


def test_windows_audit_needs_the_error_instance_name_and_msmq_takes_no_connection_string():
    topology = copy.deepcopy(TOPOLOGY)
    topology["transport"] = {"type": "MSMQ"}
    normalised, audit = instance("Particular.ServiceControl.Audit", topology)
    created = d.windows_create(audit, normalised["transport"], {"type": "windows"}, skip_queue_creation=False)
    assert created["cmdlet"] == "New-ServiceControlAuditInstance"
    assert created["parameters"]["ServiceControlQueueAddress"] == "Particular.ServiceControl"
    assert "ConnectionString" not in created["parameters"] and "SkipQueueCreation" not in created["parameters"]
    assert "Acknowledgements" not in created["parameters"]
    audit["settings"]["ServiceControl.Audit/ServiceControlQueueAddress"] = None
    with pytest.raises(d.DeploymentError, match="ServiceControlQueueAddress"):
        d.windows_create(audit, normalised["transport"], {"type": "windows"})


@pytest.mark.parametrize(
    ("current", "target", "problem"),
    [
        ("5.11.0", "6.19.2", None),
        ("6.5.0", "6.19.2", None),
        ("5.10.3", "6.19.2", "upgrade 5.10.3 to 5.11.0 first"),
        ("4.33.0", "6.19.2", "skips major version 5; upgrade to 5.11.0 first"),
        ("4.32.0", "5.11.0", "upgrade 4.32.0 to 4.33.0 first"),
        ("6.19.2", "6.18.0", "cannot be downgraded"),
    ],
)
def test_upgrade_paths_are_those_the_tooling_enforces(current, target, problem):
    found = d.upgrade_problem(current, target)
    assert (found is None) if problem is None else (problem in found)


def test_rabbitmq_upgrades_from_6_5_or_older_need_the_acknowledgements():
    _normalised, error = instance("Particular.ServiceControl")
    old = d.windows_upgrade(error, "6.5.0", "RabbitMQ.QuorumConventionalRouting")
    new = d.windows_upgrade(error, "6.6.0", "RabbitMQ.QuorumConventionalRouting")
    assert old["cmdlet"] == "Invoke-ServiceControlInstanceUpgrade"
    assert old["parameters"]["Acknowledgements"] == d.RABBITMQ_ACKNOWLEDGEMENTS
    assert "Acknowledgements" not in new["parameters"]
    with pytest.raises(d.DeploymentError, match=r"upgrade 5\.10\.0 to 5\.11\.0 first"):
        d.windows_upgrade(error, "5.10.0", "RabbitMQ.QuorumConventionalRouting")


def test_ingestion_switch_follows_the_version():
    _normalised, error = instance("Particular.ServiceControl")
    assert d.ingestion_settings(error, False) == {"ServiceControl/IngestErrorMessages": "false"}
    error["version"] = "4.32.0"
    with pytest.raises(d.DeploymentError, match=r"4\.33\.0"):
        d.ingestion_settings(error, False)
    _normalised, audit = instance("Particular.ServiceControl.Audit")
    assert d.ingestion_settings(audit, False) == {"ServiceControl.Audit/IngestAuditMessages": "false"}
    audit["version"] = "6.4.0"  # before 6.5 the audit instance read the key in the ServiceControl namespace
    assert d.ingestion_settings(audit, False) == {"ServiceControl/IngestAuditMessages": "false"}
    audit["version"] = "4.33.0"
    assert d.ingestion_settings(audit, False) == {"ServiceBus/AuditQueue": "!disable"}
    assert d.ingestion_settings(audit, True) == {"ServiceBus/AuditQueue": "audit"}


def test_container_definitions_database_setup_and_instance():
    normalised, audit = instance("Particular.ServiceControl.Audit")
    containers = d.container_definitions(audit, normalised["transport"])
    database, setup, main = containers["database"], containers["setup"], containers["instance"]
    assert database["image"] == "docker.io/particular/servicecontrol-ravendb:6.19.2"
    assert database["volumes"] == ["particular.servicecontrol.audit-db-data:/var/lib/ravendb/data"]
    assert main["image"] == setup["image"] == "docker.io/particular/servicecontrol-audit:6.19.2"
    assert setup["command"] == ["--setup"] and "command" not in main
    assert main["ports"] == ["44444:44444"]
    env = main["env"]
    assert env["SERVICECONTROL_AUDIT_TRANSPORTTYPE"] == "RabbitMQ.QuorumConventionalRouting"
    assert env["SERVICECONTROL_AUDIT_CONNECTIONSTRING"].endswith(SECRET)
    assert env["SERVICECONTROL_AUDIT_SERVICECONTROLQUEUEADDRESS"] == "Particular.ServiceControl"
    assert env["SERVICECONTROL_AUDIT_RAVENDB_CONNECTIONSTRING"] == "http://particular.servicecontrol.audit-db:8080"
    assert not any(key.endswith(("_PORT", "_HOSTNAME", "_DBPATH")) for key in env)
    assert setup["env"] == env


def test_container_on_host_networking_talks_to_its_database_on_localhost():
    normalised, audit = instance("Particular.ServiceControl.Audit")
    containers = d.container_definitions(
        audit, normalised["transport"], {"type": "container", "network": "host", "ravendb_port": 8081}
    )
    assert containers["instance"]["network_mode"] == "host" and containers["instance"]["ports"] == []
    assert containers["instance"]["env"]["SERVICECONTROL_AUDIT_RAVENDB_CONNECTIONSTRING"] == "http://localhost:8081"


def test_containers_need_a_full_version():
    normalised, audit = instance("Particular.ServiceControl.Audit")
    audit["version"] = None
    with pytest.raises(d.DeploymentError, match="full 'version'"):
        d.container_definitions(audit, normalised["transport"])


def test_lab_definition_on_both_settings_paths():
    normalised, error = instance("Particular.ServiceControl")
    by_file = d.lab_definition(error, normalised["transport"], {"type": "lab", "directory": "/srv/sc"})
    assert by_file["argv"] == [
        "python3",
        "-m",
        "lab",
        "instance",
        "--kind",
        "error",
        "--config",
        "/srv/sc/ServiceControl.exe.config",
        "--setup-and-run",
    ]
    assert by_file["environment"] == {"LAB_SERVICECONTROL_VERSION": "6.19.2"}
    by_env = d.lab_definition(
        error, normalised["transport"], {"type": "lab", "directory": "/srv/sc", "config": "environment"}
    )
    assert "--config" not in by_env["argv"]
    assert by_env["environment"]["SERVICECONTROL_PORT"] == "33333"
    assert by_env["environment"]["SERVICEBUS_ERRORLOGQUEUE"] == "error_backup"
    with pytest.raises(d.DeploymentError, match=r"target\.directory"):
        d.lab_definition(error, normalised["transport"], {"type": "lab"})


def test_settings_changes_mask_secrets_and_ignore_key_case():
    changes = d.settings_changes(
        {"servicecontrol/port": "33333", "ServiceControl/ConnectionString": "old"},
        {"ServiceControl/Port": "33333", "ServiceControl/ConnectionString": "new", "ServiceBus/ErrorQueue": "error"},
        {"servicecontrol/connectionstring"},
    )
    assert changes == [
        {"key": "ServiceControl/ConnectionString", "before": d.MASK, "after": d.MASK},
        {"key": "ServiceBus/ErrorQueue", "before": None, "after": "error"},
    ]


def test_problems_servicecontrol_would_refuse_are_found_before_any_change():
    topology = copy.deepcopy(TOPOLOGY)
    topology["instances"][1]["settings"] = {}
    topology["instances"].append(
        {
            "name": "Other",
            "kind": "error",
            "target": {"type": "windows", "host": "sc1"},
            "settings": {"ServiceControl/Port": 33333},
        }
    )
    normalised = validate_topology(topology)
    problems = " ".join(d.deployment_problems(normalised["instances"]))
    assert (
        "Audit instance Particular.ServiceControl.Audit has no ServiceControl.Audit/ServiceControlQueueAddress"
        in problems
    )
    assert "Instances Particular.ServiceControl and Other both use port 33333 on host sc1" in problems
    assert "Error instance Other does not set ServiceControl/ForwardErrorMessages" in problems


def test_remote_changes_match_like_the_cmdlets():
    assert d.remote_changes(["http://A:44444/api"], ["http://a:44444/api", "http://b:44444/api"]) == {
        "add": ["http://b:44444/api"],
        "remove": [],
    }


def test_verification_compares_what_the_instance_reports():
    _normalised, error = instance("Particular.ServiceControl")
    described = {
        "instance_kind": "error",
        "instance_name": "Particular.ServiceControl",
        "version": "6.19.2",
        "queues": {"error_queue": "error", "error_log_queue": "error_backup"},
        "forwarding": True,
        "remotes": [{"api_uri": "http://sc1:44444"}],  # ServiceControl reports it with every /api removed
    }
    assert d.verification_problems(error, described) == []
    described.update(forwarding=False, version="6.18.0", remotes=[])
    problems = d.verification_problems(error, described)
    assert "Particular.ServiceControl: the version is 6.18.0, expected 6.19.2" in problems
    assert "Particular.ServiceControl: forwarding is False, expected True" in problems
    assert any("the remotes are []" in problem for problem in problems)


def test_windows_remove_keeps_database_and_logs_unless_asked():
    _normalised, error = instance("Particular.ServiceControl")
    assert d.windows_remove(error) == {
        "cmdlet": "Remove-ServiceControlInstance",
        "parameters": {"Name": ["Particular.ServiceControl"]},
    }
    assert d.windows_remove(error, remove_db=True, remove_logs=True)["parameters"] == {
        "Name": ["Particular.ServiceControl"],
        "RemoveDB": True,
        "RemoveLogs": True,
    }
