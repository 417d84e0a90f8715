# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups derived, not repeated: the BC/DR settings of primaries and backups from who backs up whom."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import (
    TopologyError,
    find_instance,
    topology_queues,
    validate_topology,
)

MINIMAL = {
    "transport": {"type": "RabbitMQ.QuorumConventionalRouting", "connection_string": "host=rabbit"},
    "instances": [
        {"name": "Particular.ServiceControl", "kind": "error", "url": "http://sc:33333/api"},
        {
            "name": "Particular.ServiceControl.Audit",
            "kind": "audit",
            "url": "http://sc:44444/api",
            "settings": {"ServiceControl.Audit/ServiceControlQueueAddress": "Particular.ServiceControl"},
        },
        {"kind": "error", "role": "backup", "url": "http://dr:33333/api"},
        {"kind": "audit", "role": "backup", "target": {"type": "container", "port": 44444}, "host": "dr"},
    ],
}


def normalised(topology=None):
    return validate_topology(copy.deepcopy(topology or MINIMAL))


def test_primaries_forward_to_the_backup_queues():
    result = normalised()
    error = find_instance(result, "Particular.ServiceControl")["settings"]
    audit = find_instance(result, "Particular.ServiceControl.Audit")["settings"]
    assert error["ServiceControl/ForwardErrorMessages"] is True
    assert error["ServiceBus/ErrorLogQueue"] == "error_backup"
    assert audit["ServiceControl.Audit/ForwardAuditMessages"] is True
    assert audit["ServiceBus/AuditLogQueue"] == "audit_backup"


def test_backups_are_named_differently_and_ingest_what_the_primaries_forward():
    result = normalised()
    error = find_instance(result, "Particular.ServiceControl.Backup")
    audit = find_instance(result, "Particular.ServiceControl.Audit.Backup")
    assert error["role"] == audit["role"] == "backup"
    settings = error["settings"]
    assert settings["ServiceBus/ErrorQueue"] == "error_backup"
    assert settings["ServiceControl/ForwardErrorMessages"] is False
    assert settings["ServiceControl/DisableExternalIntegrationsPublishing"] is True
    assert settings["LicensingComponent/ServiceControlThroughputDataQueue"] == "ServiceControl.ThroughputData.Backup"
    # The backup Audit instance's address comes from its target when it has no url.
    assert json.loads(settings["ServiceControl/RemoteInstances"]) == [{"api_uri": "http://dr:44444/api"}]
    assert audit["settings"]["ServiceBus/AuditQueue"] == "audit_backup"
    assert audit["settings"]["ServiceControl.Audit/ServiceControlQueueAddress"] == "Particular.ServiceControl.Backup"
    assert audit["settings"]["ServiceControl.Audit/ForwardAuditMessages"] is False


def test_the_queues_follow_the_documented_order():
    assert topology_queues(copy.deepcopy(MINIMAL)) == ["error", "audit", "error_backup", "audit_backup"]


def test_explicit_settings_win():
    topology = copy.deepcopy(MINIMAL)
    topology["instances"][0]["settings"] = {"ServiceBus/ErrorLogQueue": "dr.error"}
    topology["instances"][2].update(name="DR.ServiceControl", settings={"ServiceControl/RemoteInstances": "[]"})
    result = normalised(topology)
    assert find_instance(result, "Particular.ServiceControl")["settings"]["ServiceBus/ErrorLogQueue"] == "dr.error"
    backup = find_instance(result, "DR.ServiceControl")["settings"]
    assert backup["ServiceBus/ErrorQueue"] == "dr.error"
    assert backup["ServiceControl/RemoteInstances"] == "[]"
    audit = find_instance(result, "Particular.ServiceControl.Audit.Backup")["settings"]
    assert audit["ServiceControl.Audit/ServiceControlQueueAddress"] == "DR.ServiceControl"


def test_a_primary_that_does_not_forward_cannot_have_a_backup():
    topology = copy.deepcopy(MINIMAL)
    topology["instances"][0]["settings"] = {"ServiceControl/ForwardErrorMessages": False}
    with pytest.raises(TopologyError, match="sets ServiceControl/ForwardErrorMessages=false, so its backup"):
        normalised(topology)


def test_which_primary_a_backup_belongs_to_must_be_clear():
    topology = copy.deepcopy(MINIMAL)
    topology["instances"].append({"name": "Second", "kind": "error", "settings": {"ServiceBus/ErrorQueue": "error2"}})
    with pytest.raises(TopologyError, match="has neither a name nor backup_of"):
        normalised(topology)
    topology["instances"][2]["backup_of"] = "Nobody"
    with pytest.raises(TopologyError, match="names backup_of 'Nobody', which is not a primary error instance"):
        normalised(topology)
    topology["instances"][2]["backup_of"] = "Second"
    backup = find_instance(normalised(topology), "Second.Backup")
    assert backup["settings"]["ServiceBus/ErrorQueue"] == "error2_backup"
    assert backup["backup_of"] == "Second"


def test_a_backup_named_like_its_primary_is_refused():
    topology = copy.deepcopy(MINIMAL)
    topology["instances"][2]["name"] = "Particular.ServiceControl"
    with pytest.raises(TopologyError, match="share the InstanceName"):
        normalised(topology)
