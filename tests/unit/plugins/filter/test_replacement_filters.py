# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The replacement filters adapt _replacement: results pass through, every refusal is an AnsibleFilterError."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.servicecontrol.platform.plugins.filter.instance import FilterModule as InstanceFilters
from ansible_collections.servicecontrol.platform.plugins.filter.replacement import FilterModule
from ansible_collections.servicecontrol.platform.tests.unit.plugins.module_utils.test_replacement import (
    CONTAINERS,
    LAB,
    LAB_NEW,
    OLD,
    SECRET,
    WINDOWS,
)

FILTERS = FilterModule().filters()
INSTANCE_PLAN = InstanceFilters().filters()["instance_plan"]


def test_the_filters_the_playbook_relies_on_are_there():
    assert set(FILTERS) == {"replacement_plan", "replacement_preflight", "quiet_period", "replacement_reconciliation"}


@pytest.mark.parametrize(
    ("base", "new", "strategy"),
    [
        (LAB, LAB_NEW, "new_name"),
        (WINDOWS, {"settings": {"ServiceControl/Port": 33335}}, "new_name"),
        (WINDOWS, None, "keep_name"),
        (CONTAINERS, {"target": {"port": 33343, "ravendb_port": 8082}}, "new_name"),
        (CONTAINERS, None, "keep_name"),
    ],
)
def test_every_planned_topology_passes_instance_plan_for_every_instance(base, new, strategy):
    plan = FILTERS["replacement_plan"](copy.deepcopy(base), OLD, new, strategy)
    for instance in plan["topology"]["instances"]:
        name = instance.get("name")
        if name:
            assert INSTANCE_PLAN(plan["topology"], name)["name"] == name
    assert INSTANCE_PLAN(plan["topology"], plan["new"]["name"])["url"] == plan["new"]["url"]


def test_plan_refusals_are_filter_errors_without_the_connection_string():
    with pytest.raises(AnsibleFilterError, match="strategy new_name") as caught:
        FILTERS["replacement_plan"](copy.deepcopy(WINDOWS), OLD)
    assert SECRET not in str(caught.value)
    with pytest.raises(AnsibleFilterError, match="Unknown replacement strategy"):
        FILTERS["replacement_plan"](copy.deepcopy(WINDOWS), OLD, None, "rename")
    with pytest.raises(AnsibleFilterError, match="topology is invalid"):
        FILTERS["replacement_plan"]({"transport": {"type": "MSMQ"}, "instances": []}, OLD)


def test_preflight_quiet_period_and_reconciliation_pass_results_through_and_refuse_bad_input():
    assert FILTERS["replacement_preflight"]([{"item": "http://sc:33333/api", "version": "6.19.2"}]) == []
    with pytest.raises(AnsibleFilterError, match="not a ServiceControl version"):
        FILTERS["replacement_preflight"]([], "later")
    assert FILTERS["quiet_period"]({"counts": {"unresolved": 0}, "recent_failures": 0}, 0)["ok"] is True
    with pytest.raises(AnsibleFilterError, match="mode 'never'"):
        FILTERS["quiet_period"]({}, 0, {"mode": "never"})
    assert FILTERS["replacement_reconciliation"]({}, [], [])["ok"] is True
    with pytest.raises(AnsibleFilterError, match="snapshot must be a mapping"):
        FILTERS["replacement_reconciliation"]([], [], [])
