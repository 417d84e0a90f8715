# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replacing an Error instance: the plan per strategy and target, its refusals, the preflight, the quiet period
and the reconciliation that proves no failed message was lost."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils import _replacement as r
from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import TopologyError, validate_topology

SECRET = "s3cr3t-pw"
OLD = "Particular.ServiceControl"
AUDIT = "Particular.ServiceControl.Audit"

#: Like examples/lab/inventory/group_vars/all/topology.yml (the documented BC/DR layout, lab processes).
LAB = {
    "transport": {"type": "LearningTransport", "connection_string": "/state/.learningtransport"},
    "instances": [
        {
            "name": OLD,
            "kind": "error",
            "version": "6.19.2",
            "url": "http://localhost:33333/api",
            "target": {"type": "lab", "directory": "/state/Particular.ServiceControl"},
            "settings": {
                "ServiceControl/Port": 33333,
                "ServiceControl/DbPath": "/state/data/Particular.ServiceControl",
                "ServiceControl/ErrorRetentionPeriod": "15",
                "ServiceControl/RemoteInstances": '[{"api_uri":"http://localhost:44444/api"}]',
                "ServiceControl/IngestErrorMessages": False,
            },
        },
        {
            "name": AUDIT,
            "kind": "audit",
            "version": "6.19.2",
            "url": "http://localhost:44444/api",
            "target": {"type": "lab", "directory": "/state/Particular.ServiceControl.Audit"},
            "settings": {
                "ServiceControl.Audit/Port": 44444,
                "ServiceControl.Audit/DbPath": "/state/data/Particular.ServiceControl.Audit",
                "ServiceControl.Audit/ServiceControlQueueAddress": OLD,
            },
        },
        {
            "kind": "error",
            "role": "backup",
            "version": "6.19.2",
            "url": "http://localhost:33335/api",
            "target": {"type": "lab", "directory": "/state/Particular.ServiceControl.Backup"},
            "settings": {
                "ServiceControl/Port": 33335,
                "ServiceControl/DbPath": "/state/data/Particular.ServiceControl.Backup",
                "ServiceControl/ErrorRetentionPeriod": "15",
            },
        },
        {
            "kind": "audit",
            "role": "backup",
            "version": "6.19.2",
            "url": "http://localhost:44446/api",
            "target": {"type": "lab", "directory": "/state/Particular.ServiceControl.Audit.Backup"},
            "settings": {
                "ServiceControl.Audit/Port": 44446,
                "ServiceControl.Audit/DbPath": "/state/data/Particular.ServiceControl.Audit.Backup",
            },
        },
    ],
}
LAB_NEW = {
    "url": "http://localhost:33343/api",
    "target": {"directory": "/state/Particular.ServiceControl.New"},
    "settings": {"ServiceControl/Port": 33343, "ServiceControl/DbPath": "/state/data/Particular.ServiceControl.New"},
}

#: RabbitMQ, both instances as Windows services on sc1.
WINDOWS = {
    "transport": {
        "type": "RabbitMQ.QuorumConventionalRouting",
        "connection_string": "host=rabbit;password=%s" % SECRET,
    },
    "instances": [
        {
            "name": OLD,
            "kind": "error",
            "version": "6.19.2",
            "url": "http://sc1:33333/api",
            "target": {
                "type": "windows",
                "host": "sc1",
                "service_account": "svc-sc",
                "service_account_password": SECRET,
            },
            "settings": {
                "ServiceControl/ErrorRetentionPeriod": "10.00:00:00",
                "ServiceControl/ForwardErrorMessages": False,
                "ServiceControl/RemoteInstances": '[{"api_uri":"http://sc1:44444/api"}]',
            },
        },
        {
            "name": AUDIT,
            "kind": "audit",
            "version": "6.19.2",
            "url": "http://sc1:44444/api",
            "target": {"type": "windows", "host": "sc1"},
            "settings": {"ServiceControl.Audit/ServiceControlQueueAddress": OLD},
        },
    ],
}

#: Particular's images on one podman host.
CONTAINERS = {
    "transport": {
        "type": "RabbitMQ.ClassicConventionalRouting",
        "connection_string": "host=rabbit;password=%s" % SECRET,
    },
    "instances": [
        {
            "name": OLD,
            "kind": "error",
            "version": "6.19.2",
            "url": "http://localhost:33333/api",
            "target": {"type": "container", "port": 33333, "ravendb_port": 8081},
            "settings": {
                "ServiceControl/ForwardErrorMessages": False,
                "ServiceControl/RemoteInstances": '[{"api_uri":"http://localhost:44444/api"}]',
            },
        },
        {
            "name": AUDIT,
            "kind": "audit",
            "version": "6.19.2",
            "target": {"type": "container", "port": 44444},
            "settings": {"ServiceControl.Audit/ServiceControlQueueAddress": OLD},
        },
    ],
}


def topology(base):
    return copy.deepcopy(base)


def by_name(plan_topology, name):
    return next(i for i in validate_topology(plan_topology)["instances"] if i["name"] == name)


def refused(base, *args, **kwargs):
    with pytest.raises(r.ReplacementError) as caught:
        r.replacement_plan(topology(base), *args, **kwargs)
    message = str(caught.value)
    assert SECRET not in message
    return message


# -- new_name ---------------------------------------------------------------------------------------------------


def test_new_name_on_the_lab_repoints_audits_and_backups_and_carries_the_settings_over():
    plan = r.replacement_plan(topology(LAB), OLD, LAB_NEW)
    new = by_name(plan["topology"], OLD + ".New")
    assert plan["strategy"] == "new_name" and plan["prepare_ahead"] is True
    assert plan["stop_old_before_start"] is False and plan["remove_old_before_create"] is False
    assert plan["old"]["name"] == OLD and plan["old"]["forwards_to"] == "error_backup"
    # Carried over: remotes, queues and forwarding (derived for the backup), retention; ingestion is not.
    assert new["settings"]["ServiceControl/RemoteInstances"] == '[{"api_uri":"http://localhost:44444/api"}]'
    assert new["settings"]["ServiceBus/ErrorQueue"] == "error"
    assert new["settings"]["ServiceControl/ForwardErrorMessages"] is True
    assert new["settings"]["ServiceBus/ErrorLogQueue"] == "error_backup"
    assert new["settings"]["ServiceControl/ErrorRetentionPeriod"] == "15"
    assert new["settings"]["ServiceControl/IngestErrorMessages"] is True  # the old one's false stays behind
    assert "ServiceControl/RemoteInstances" in plan["new"]["carried_over"]
    assert "ServiceControl/Port" not in plan["new"]["carried_over"]  # given, not carried
    # Audits point at the new name; backups keep their names and follow the new primary.
    assert plan["audits_to_update"] == [AUDIT]
    assert (
        by_name(plan["topology"], AUDIT)["settings"]["ServiceControl.Audit/ServiceControlQueueAddress"] == new["name"]
    )
    backup = by_name(plan["topology"], OLD + ".Backup")
    assert backup["backup_of"] == new["name"] and backup["settings"]["ServiceBus/ErrorQueue"] == "error_backup"
    backup_audit = by_name(plan["topology"], AUDIT + ".Backup")
    assert backup_audit["settings"]["ServiceControl.Audit/ServiceControlQueueAddress"] == OLD + ".Backup"
    assert plan["new_ports"] == ["localhost:33343"]
    assert plan["same_host"] is True and plan["same_host_windows_queue_clash"] is False
    assert OLD + ".New" in plan["endpoint_plugin_note"] and "queue address" in plan["endpoint_plugin_note"]
    assert {c["check"] for c in plan["checks"]} >= {"versions", "carried over", "InstanceName", "ports and paths"}


def test_new_name_on_the_same_host_must_not_reuse_the_old_ports_paths_or_directory():
    message = refused(LAB, OLD)
    assert "needs target.directory" in message
    assert "needs port 33333 on host localhost, which the old instance Particular.ServiceControl uses" in message
    same_places = {
        "target": {"directory": "/state/Particular.ServiceControl"},
        "settings": {"ServiceControl/Port": 33343, "ServiceControl/DbPath": "/state/data/Particular.ServiceControl"},
    }
    message = refused(LAB, OLD, same_places)
    assert "same DbPath as the old instance Particular.ServiceControl" in message
    assert "same target directory as the old instance" in message


def test_new_name_refuses_the_ports_and_paths_of_another_instance():
    others = {
        "target": {"directory": "/state/Particular.ServiceControl.Backup"},
        "settings": {
            "ServiceControl/Port": 44446,
            "ServiceControl/DbPath": "/state/data/Particular.ServiceControl.Backup",
        },
    }
    message = refused(LAB, OLD, others)
    assert "port 44446" in message and AUDIT + ".Backup" in message
    assert "same DbPath as Particular.ServiceControl.Backup" in message
    assert "same target directory as Particular.ServiceControl.Backup" in message


def test_new_name_refuses_the_old_name_and_names_of_other_instances():
    assert "needs a new InstanceName" in refused(LAB, OLD, dict(LAB_NEW, name=OLD))
    assert "needs a new InstanceName" in refused(LAB, OLD, dict(LAB_NEW, name=OLD.lower()))
    message = refused(LAB, OLD, dict(LAB_NEW, name=AUDIT))
    assert "already the InstanceName of Particular.ServiceControl.Audit (audit, primary)" in message


def test_replacing_a_backup_repoints_the_backup_audit():
    new = {
        "name": "Particular.ServiceControl.Backup2",
        "target": {"directory": "/state/b2"},
        "settings": {"ServiceControl/Port": 33345, "ServiceControl/DbPath": "/state/data/b2"},
    }
    plan = r.replacement_plan(topology(LAB), OLD + ".Backup", new)
    assert plan["audits_to_update"] == [AUDIT + ".Backup"]
    placed = by_name(plan["topology"], "Particular.ServiceControl.Backup2")
    assert placed["role"] == "backup" and placed["backup_of"] == OLD
    assert placed["settings"]["ServiceBus/ErrorQueue"] == "error_backup"
    assert placed["settings"]["ServiceControl/ForwardErrorMessages"] is False
    assert plan["checks"][0]["detail"].endswith("is a backup Error instance of the topology")


def test_windows_new_name_on_the_same_host_clashes_with_the_installer_queue_check():
    message = refused(WINDOWS, OLD)
    assert "needs port 33333 on host sc1" in message and "needs port 33334 on host sc1" in message
    plan = r.replacement_plan(topology(WINDOWS), OLD, {"settings": {"ServiceControl/Port": 33335}})
    assert plan["new_ports"] == ["sc1:33335", "sc1:33336"]
    assert plan["same_host_windows_queue_clash"] is True
    explanation = plan["same_host_windows_queue_clash_explanation"]
    assert (
        "QueueNameValidator" in explanation
        and "ErrorQueue 'error' is a queue of Particular.ServiceControl" in explanation
    )
    assert "placeholder -ErrorQueue" in explanation and "another machine" in explanation
    assert any(c["check"] == "Windows queue names" and c["result"] == "warning" for c in plan["checks"])
    new = by_name(plan["topology"], OLD + ".New")
    assert new["url"] is None  # another port: derived, not the old address
    assert SECRET not in json.dumps(plan["new"]) and "********" in json.dumps(plan["new"])


def test_windows_new_name_on_another_host_carries_ports_and_needs_nothing_free_on_the_old_host():
    plan = r.replacement_plan(topology(WINDOWS), OLD, {"target": {"host": "sc2"}, "version": "6.19.2"})
    assert plan["same_host"] is False and plan["same_host_windows_queue_clash"] is False
    assert plan["new_ports"] == ["sc2:33333", "sc2:33334"]
    new = by_name(plan["topology"], OLD + ".New")
    assert new["target"]["host"] == "sc2" and new["target"]["service_account"] == "svc-sc"
    assert any(c["check"] == "remotes" for c in plan["checks"]) is False  # sc1, not localhost


def test_lab_on_another_host_warns_about_localhost_remotes():
    new = dict(LAB_NEW, host="lab2")
    plan = r.replacement_plan(topology(LAB), OLD, new)
    assert plan["same_host"] is False
    assert any(c["check"] == "remotes" and c["result"] == "warning" for c in plan["checks"])


# -- keep_name -----------------------------------------------------------------------------------------------------


def test_keep_name_on_the_same_windows_host_removes_the_old_service_first():
    plan = r.replacement_plan(topology(WINDOWS), OLD, strategy="keep_name")
    assert plan["prepare_ahead"] is False and plan["stop_old_before_start"] is True
    assert plan["remove_old_before_create"] is True
    assert plan["remove_old_database"] is True  # default DBPath: the new instance would open the old database
    assert plan["audits_to_update"] == [] and plan["endpoint_plugin_note"] is None
    assert plan["same_host_windows_queue_clash"] is False  # the old one is gone when the new one is installed
    new = by_name(plan["topology"], OLD)
    assert new["url"] == "http://sc1:33333/api"
    assert by_name(plan["topology"], AUDIT)["settings"]["ServiceControl.Audit/ServiceControlQueueAddress"] == OLD
    own_database = {"target": {"db_path": "D:\\SC\\DB2", "log_path": "D:\\SC\\Logs2"}}
    plan = r.replacement_plan(topology(WINDOWS), OLD, own_database, strategy="keep_name")
    assert plan["remove_old_before_create"] is True and plan["remove_old_database"] is False
    assert any(c["check"] == "remove first" and "keeping its database" in c["detail"] for c in plan["checks"])


def test_keep_name_refuses_another_name():
    message = refused(WINDOWS, OLD, {"name": "Other"}, strategy="keep_name")
    assert "keeps the InstanceName, but the new instance is named 'Other'" in message


def test_keep_name_on_msmq_on_another_machine_stops_the_old_one_but_removes_nothing_first():
    msmq = topology(WINDOWS)
    msmq["transport"] = {"type": "MSMQ"}
    plan = r.replacement_plan(msmq, OLD, {"host": "sc2"}, strategy="keep_name")
    assert plan["stop_old_before_start"] is True and plan["remove_old_before_create"] is False
    assert any("MSMQ queues are per machine" in c["detail"] for c in plan["checks"])
    assert by_name(plan["topology"], OLD)["target"]["host"] == "sc2"


def test_keep_name_in_containers_reuses_the_container_and_its_database_only_when_removed_first():
    plan = r.replacement_plan(topology(CONTAINERS), OLD, {"version": "6.19.2"}, strategy="keep_name")
    assert plan["remove_old_before_create"] is True and plan["remove_old_database"] is True
    assert plan["new_ports"] == ["localhost:33333", "localhost:8081"]  # the old one's, freed by removing it
    own = {"target": {"container_name": "sc-error-2"}}
    plan = r.replacement_plan(topology(CONTAINERS), OLD, own, strategy="keep_name")
    assert plan["remove_old_before_create"] is False and plan["stop_old_before_start"] is True


def test_containers_new_name_needs_its_own_ports_and_gets_its_own_database():
    message = refused(CONTAINERS, OLD)
    assert "port 33333" in message
    message = refused(CONTAINERS, OLD, {"target": {"port": 44444}})
    assert "port 44444" in message and AUDIT in message
    plan = r.replacement_plan(topology(CONTAINERS), OLD, {"target": {"port": 33343, "ravendb_port": 8082}})
    assert plan["new_ports"] == ["localhost:33343", "localhost:8082"]
    assert by_name(plan["topology"], OLD + ".New")["target"]["type"] == "container"


# -- force_upgrade ---------------------------------------------------------------------------------------------------


def windows_4x():
    old = topology(WINDOWS)
    for instance in old["instances"]:
        instance["version"] = "4.33.0"
    return old


def test_force_upgrade_of_a_4x_windows_instance_to_5x_keeps_everything_in_place():
    plan = r.replacement_plan(windows_4x(), OLD, {"version": "5.11.0"}, strategy="force_upgrade")
    assert plan["in_place"] is True and plan["prepare_ahead"] is False
    assert plan["upgrade"]["cmdlet"] == "Invoke-ServiceControlInstanceUpgrade"
    assert plan["upgrade"]["parameters"]["Force"] is True and plan["upgrade"]["parameters"]["Name"] == OLD
    new = by_name(plan["topology"], OLD)
    assert new["version"] == "5.11.0" and new["url"] == "http://sc1:33333/api"
    assert plan["new_ports"] == [] and plan["remove_old_before_create"] is False


def test_force_upgrade_is_refused_with_the_reason_where_servicecontrol_does_not_allow_it():
    message = refused(WINDOWS, OLD, {"version": "6.19.2"}, strategy="force_upgrade")
    assert "only ServiceControl 4.x primary instances that use RavenDB 3.5 persistence" in message
    assert "works only with the 5.x tooling" in message
    message = refused(windows_4x(), OLD, {"version": "6.19.2"}, strategy="force_upgrade")
    assert "the new version is 6.19.2" in message
    containers = topology(CONTAINERS)
    containers["instances"][0]["version"] = "4.33.0"
    message = refused(containers, OLD, {"version": "5.11.0"}, strategy="force_upgrade")
    assert "target 'container'" in message
    message = refused(windows_4x(), OLD, {"version": "5.11.0", "host": "sc2"}, strategy="force_upgrade")
    assert "keeps the instance's host" in message
    message = refused(windows_4x(), OLD, {"version": "5.11.0", "name": "X"}, strategy="force_upgrade")
    assert "keeps the InstanceName" in message


# -- general refusals --------------------------------------------------------------------------------------------------


def test_the_old_instance_must_be_an_error_instance_of_the_topology_and_the_strategy_known():
    assert "No instance named 'Nope'" in refused(LAB, "Nope")
    assert "Particular.ServiceControl.Audit is an audit instance" in refused(LAB, AUDIT)
    message = refused(LAB, OLD, LAB_NEW, strategy="swap")
    assert "Unknown replacement strategy 'swap'" in message and "new_name, keep_name, force_upgrade" in message
    assert "unknown key(s) port" in refused(LAB, OLD, dict(LAB_NEW, port=1))
    with pytest.raises(TopologyError):
        r.replacement_plan({"transport": {"type": "Nope"}, "instances": []}, OLD)


def test_versions_below_4_33_are_refused_for_the_old_and_the_new_instance():
    old = topology(LAB)
    old["instances"][0]["version"] = "4.32.1"
    del old["instances"][0]["settings"]["ServiceControl/IngestErrorMessages"]  # 4.32 does not read it
    message = refused(old, OLD, dict(LAB_NEW, version="4.30.0"))
    assert "The old instance Particular.ServiceControl has version 4.32.1" in message
    assert "The new instance Particular.ServiceControl.New has version 4.30.0" in message
    assert "4.33.0 or later" in message
    assert "not a ServiceControl version" in refused(LAB, OLD, dict(LAB_NEW, version="latest"))


def test_every_problem_is_listed_in_one_message_without_the_connection_string():
    message = refused(WINDOWS, OLD, {"name": AUDIT, "version": "4.0.0"})
    assert "already the InstanceName" in message and "has version 4.0.0" in message
    message = refused(WINDOWS, OLD, {"version": "4.0.0", "target": {"db_path": "C:\\x"}})
    assert "has version 4.0.0" in message and "port 33333" in message


def test_settings_overrides_win_and_none_drops_a_carried_setting():
    new = dict(LAB_NEW, settings=dict(LAB_NEW["settings"], **{"ServiceControl/RemoteInstances": None}))
    new["settings"]["ServiceControl/ErrorRetentionPeriod"] = "20"
    plan = r.replacement_plan(topology(LAB), OLD, new)
    placed = by_name(plan["topology"], OLD + ".New")
    assert "ServiceControl/RemoteInstances" not in placed["settings"]
    assert placed["settings"]["ServiceControl/ErrorRetentionPeriod"] == "20"


def test_the_result_topology_is_what_instance_plan_accepts():
    plan = r.replacement_plan(topology(LAB), OLD, LAB_NEW)
    placed = validate_topology(plan["topology"])
    assert [i["name"] for i in placed["instances"]] == [
        OLD + ".New",
        AUDIT,
        OLD + ".Backup",
        AUDIT + ".Backup",
    ]


# -- preflight ---------------------------------------------------------------------------------------------------------


def info(name, url, version, **extra):
    return dict(
        {"item": {"name": name, "url": url}, "version": version, "instance_name": name, "failed": False}, **extra
    )


def test_preflight_names_each_instance_below_the_minimum_unreachable_or_without_version():
    results = [
        info(OLD, "http://sc1:33333/api", "6.19.2"),
        info(AUDIT, "http://sc1:44444/api", "4.32.0"),
        {"item": "http://user:pw@sc2:33333/api", "failed": True, "msg": "connection refused"},
        info("Particular.Monitoring", "http://sc1:33633", None),
        info("Unknown", "http://sc3:33333/api", "Unknown"),
    ]
    problems = r.replacement_preflight(results)
    assert len(problems) == 4
    assert "Particular.ServiceControl.Audit at http://sc1:44444/api runs ServiceControl 4.32.0" in problems[0]
    assert "4.33.0 or later" in problems[0]
    assert "http://sc2:33333/api could not be read (connection refused)" in problems[1] and "pw" not in problems[1]
    assert "Particular.Monitoring at http://sc1:33633 reports version none" in problems[2]
    assert "reports version Unknown" in problems[3]
    assert r.replacement_preflight(results[:1]) == []
    assert r.replacement_preflight(results[:2], minimum="4.30.0") == []


def test_preflight_reports_skipped_items_and_refuses_a_bad_minimum():
    assert "was not read" in r.replacement_preflight([{"item": {"name": OLD, "url": "u"}, "skipped": True}])[0]
    with pytest.raises(r.ReplacementError, match="not a ServiceControl version"):
        r.replacement_preflight([], minimum="soon")


# -- quiet period ---------------------------------------------------------------------------------------------


def test_quiet_period_defaults_pass_a_quiet_instance():
    result = r.quiet_period({"counts": {"unresolved": 5}, "recent_failures": 2}, 0, {})
    assert result["ok"] is True and result["refuse"] == [] and result["warn"] == []
    assert result["thresholds"] == r.QUIET_PERIOD_DEFAULTS


def test_quiet_period_refuses_or_warns_naming_the_value_and_the_threshold():
    busy = {"counts": {"unresolved": 1500}, "recent_failures": {"count": 40, "minutes": 15}}
    result = r.quiet_period(busy, 250, None)
    assert result["ok"] is False and result["warn"] == []
    assert (
        "250 messages wait in the error queue" in result["refuse"][0]
        and "max_error_queue_depth=100" in result["refuse"][0]
    )
    assert "1500 failed messages are unresolved, above max_unresolved=1000" in result["refuse"][1]
    assert (
        "40 messages failed in the last 5 minutes, above max_recent_failures=10"
        in r.quiet_period(busy, 0, {"recent_minutes": 5})["refuse"][-1]
    )
    warned = r.quiet_period(busy, 250, {"mode": "warn"})
    assert warned["ok"] is True and len(warned["warn"]) == 3 and warned["refuse"] == []
    relaxed = r.quiet_period(
        busy, 250, {"max_error_queue_depth": None, "max_unresolved": 2000, "max_recent_failures": 50}
    )
    assert relaxed["ok"] is True


def test_quiet_period_refuses_what_it_cannot_measure_and_unknown_thresholds():
    result = r.quiet_period({}, None, {})
    assert result["ok"] is False and len(result["refuse"]) == 3 and "nothing was measured" in result["refuse"][0]
    with pytest.raises(r.ReplacementError, match="Unknown quiet-period threshold"):
        r.quiet_period({}, 0, {"max_depth": 1})
    with pytest.raises(r.ReplacementError, match="mode 'loud'"):
        r.quiet_period({}, 0, {"mode": "loud"})


# -- reconciliation -------------------------------------------------------------------------------------------


def message(failed_id, status, message_id=None):
    return {"id": failed_id, "message_id": message_id or "m-" + failed_id, "status": status}


SNAPSHOT = {"unresolved_ids": ["a", "b", "c"], "retried_ids": ["a", "b"], "archived_ids": ["c"], "probe_id": "probe"}


def test_reconciliation_accounts_for_every_message():
    old = [message("a", "retryIssued"), message("b", "retryIssued"), message("c", "archived")]
    new = [message("a", "unresolved"), message("probe", "unresolved", "probe-message")]
    result = r.replacement_reconciliation(SNAPSHOT, old, new, ["M-B"])
    assert result["ok"] is True and result["missing"] == []
    assert result["counts"]["retried_failed_again"] == 1 and result["counts"]["retried_succeeded"] == 1
    assert result["counts"]["accounted_on_old"] == 3 and result["counts"]["snapshot"] == 3
    assert result["probe_found"] is True


def test_reconciliation_names_every_missing_message_with_its_reason():
    old = [message("a", "unresolved"), message("b", "retryIssued"), message("c", "retryIssued")]
    result = r.replacement_reconciliation(dict(SNAPSHOT, unresolved_ids=["a", "b", "c", "d"]), old, [], [])
    reasons = {m["id"]: m["reason"] for m in result["missing"]}
    assert result["ok"] is False
    assert reasons["a"] == "still unresolved on the old instance"
    assert reasons["c"] == "archived by the drain but retryIssued on the old instance"
    assert reasons["d"] == "not found on the old instance"
    assert "neither on the new instance" in reasons["b"]
    assert reasons["probe"] == "the ingestion probe is not on the new instance"
    no_evidence = r.replacement_reconciliation({"retried_ids": ["b"]}, old, [])
    assert "no Audit evidence" in no_evidence["missing"][0]["reason"]


def test_reconciliation_finds_the_probe_by_its_message_id_and_refuses_bad_input():
    result = r.replacement_reconciliation(
        {"probe_id": "probe-message"}, [], [message("x", "unresolved", "probe-message")]
    )
    assert result["ok"] is True
    with pytest.raises(r.ReplacementError, match="needs an 'id'"):
        r.replacement_reconciliation({}, [{"status": "archived"}], [])
    with pytest.raises(r.ReplacementError, match="snapshot must be a mapping"):
        r.replacement_reconciliation(None, [], [])


def test_an_integrated_servicepulse_follows_the_new_instance():
    with_pulse = topology(LAB)
    with_pulse["servicepulse"] = [{"name": "pulse", "kind": "integrated", "instance": OLD}]
    plan = r.replacement_plan(with_pulse, OLD, LAB_NEW)
    assert plan["topology"]["servicepulse"] == [{"name": "pulse", "kind": "integrated", "instance": OLD + ".New"}]
    assert with_pulse["servicepulse"][0]["instance"] == OLD  # the input is not changed


def test_statuses_are_read_in_either_spelling():
    old = [message("a", "retry_issued")]
    assert r.replacement_reconciliation({"unresolved_ids": ["a"]}, old, [])["ok"] is True
