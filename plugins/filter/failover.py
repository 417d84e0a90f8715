# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the BC/DR failover: the backups take over (see failover_topology.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.servicecontrol.platform.plugins.module_utils._failover import (
    failover_plan,
    failover_report,
    failover_topology,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import TopologyError


def _failover_topology(topology):
    try:
        return failover_topology(topology)
    except TopologyError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _failover_plan(topology):
    try:
        return failover_plan(topology)
    except TopologyError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _failover_report(plan, links=None, results=None, check_mode=False, serviceinsight=None):
    return failover_report(plan, links, results, check_mode, serviceinsight)


class FilterModule:
    def filters(self):
        return {
            "failover_topology": _failover_topology,
            "failover_plan": _failover_plan,
            "failover_report": _failover_report,
        }
