# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology filters: controller-side wrappers around module_utils/_topology.py."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.servicecontrol.platform.plugins.filter.topology import FilterModule
from ansible_collections.servicecontrol.platform.tests.unit.plugins.module_utils.test_topology import (
    SECRET,
    dr_topology,
)


def test_filter_wraps_errors_for_ansible():
    filters = FilterModule().filters()
    assert filters["topology_queues"](dr_topology()) == ["error", "audit", "error_backup", "audit_backup"]
    with pytest.raises(AnsibleFilterError, match="share the InstanceName"):
        topology = dr_topology()
        topology["instances"][3]["name"] = "Particular.ServiceControl.Audit"
        filters["topology_queues"](topology)


def test_instance_environment_uses_fully_qualified_servicecontrol_names():
    environment = FilterModule().filters()["instance_environment"](dr_topology(), "Particular.ServiceControl")
    assert environment["SERVICECONTROL_TRANSPORTTYPE"] == "RabbitMQ.QuorumConventionalRouting"
    assert environment["SERVICECONTROL_CONNECTIONSTRING"].endswith("password=%s" % SECRET)
    assert environment["SERVICECONTROL_FORWARDERRORMESSAGES"] == "true"
    assert environment["SERVICEBUS_ERRORLOGQUEUE"] == "error_backup"
    assert environment["SERVICEBUS_ERRORQUEUE"] == "error"
    assert environment["SERVICECONTROL_INSTANCENAME"] == "Particular.ServiceControl"
    assert environment["LICENSINGCOMPONENT_SERVICECONTROLTHROUGHPUTDATAQUEUE"] == "ServiceControl.ThroughputData"
    # Bare names would apply to every instance type on the host; ServiceBus/* bare names are ignored.
    assert "FORWARDERRORMESSAGES" not in environment
    assert "ERRORLOGQUEUE" not in environment


def test_audit_environment_uses_the_audit_namespace():
    environment = FilterModule().filters()["instance_environment"](dr_topology(), "Particular.ServiceControl.Audit")
    assert environment["SERVICECONTROL_AUDIT_TRANSPORTTYPE"] == "RabbitMQ.QuorumConventionalRouting"
    assert environment["SERVICECONTROL_AUDIT_FORWARDAUDITMESSAGES"] == "true"
    assert environment["SERVICEBUS_AUDITLOGQUEUE"] == "audit_backup"


def test_instance_environment_of_an_unknown_instance_lists_the_known_ones():
    with pytest.raises(AnsibleFilterError, match="No instance named 'Nope'"):
        FilterModule().filters()["instance_environment"](dr_topology(), "Nope")
