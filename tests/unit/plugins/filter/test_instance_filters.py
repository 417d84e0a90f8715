# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The instance filters: plans per target, .exe.config updates with secrets masked, upgrades, verification."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.servicecontrol.platform.plugins.filter.instance import FilterModule
from ansible_collections.servicecontrol.platform.tests.unit.plugins.module_utils.test_deployment import SECRET, TOPOLOGY

FILTERS = FilterModule().filters()


def topology():
    return copy.deepcopy(TOPOLOGY)


def test_windows_plan_carries_create_and_remove():
    plan = FILTERS["instance_plan"](topology(), "Particular.ServiceControl")
    assert plan["target_type"] == "windows"
    assert plan["windows"]["cmdlet"] == "New-ServiceControlInstance"
    assert plan["windows"]["remove"]["cmdlet"] == "Remove-ServiceControlInstance"
    assert plan["url"] == "http://sc1:33333/api"
    assert SECRET not in str(plan["settings_shown"])


def test_ingestion_off_lands_in_the_plan_and_the_config_file():
    plan = FILTERS["instance_plan"](topology(), "Particular.ServiceControl", False)
    assert plan["settings"]["ServiceControl/IngestErrorMessages"] == "false"
    update = FILTERS["exe_config_update"]("", topology(), "Particular.ServiceControl", False)
    assert '<add key="ServiceControl/IngestErrorMessages" value="false" />' in update["content"]
    assert update["changed"] is True


def test_config_update_masks_the_connection_string_in_its_changes():
    update = FILTERS["exe_config_update"]("", topology(), "Particular.ServiceControl")
    shown = {change["key"]: change for change in update["changes"]}
    assert shown["NServiceBus/Transport"]["after"] == "********"
    assert SECRET in update["content"]  # the file itself holds it (written with no_log)
    again = FILTERS["exe_config_update"](update["content"], topology(), "Particular.ServiceControl")
    assert again == {"content": update["content"], "changed": False, "changes": []}


def test_upgrade_is_none_when_current_and_refused_off_the_path():
    assert FILTERS["instance_upgrade"]("6.19.2", topology(), "Particular.ServiceControl") is None
    upgrade = FILTERS["instance_upgrade"]("6.4.0", topology(), "Particular.ServiceControl")
    assert upgrade["cmdlet"] == "Invoke-ServiceControlInstanceUpgrade"
    with pytest.raises(AnsibleFilterError, match=r"upgrade 5\.2\.0 to 5\.11\.0 first"):
        FILTERS["instance_upgrade"]("5.2.0", topology(), "Particular.ServiceControl")


def test_unknown_target_type_and_undeployable_topologies_fail_clearly():
    broken = topology()
    broken["instances"][0]["target"] = {"type": "kubernetes"}
    with pytest.raises(AnsibleFilterError, match=r"target\.type 'kubernetes'; use one of: windows, container, lab"):
        FILTERS["instance_plan"](broken, "Particular.ServiceControl")
    broken = topology()
    broken["instances"][1]["settings"] = {}
    with pytest.raises(AnsibleFilterError, match=r"has no ServiceControl\.Audit/ServiceControlQueueAddress"):
        FILTERS["instance_plan"](broken, "Particular.ServiceControl")
