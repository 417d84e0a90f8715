# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that read the one ServiceControl topology description (see topology_queues.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.servicecontrol.platform.plugins.module_utils._report import instance_rows, markdown
from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import (
    TopologyError,
    instance_environment,
    topology_queues,
    validate_topology,
)


def _topology_queues(topology, include_instance_queues=False):
    try:
        return topology_queues(topology, include_instance_queues=include_instance_queues)
    except TopologyError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _instance_environment(topology, name):
    try:
        return instance_environment(topology, name)
    except TopologyError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _topology_instances(topology):
    """The instances after validation and derivation (backups named and configured): no settings, no secrets."""
    try:
        return instance_rows(validate_topology(topology))
    except TopologyError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _topology_report(topology, title="ServiceControl topology", results=None):
    try:
        return markdown(validate_topology(topology), title, topology_queues(topology), results)
    except TopologyError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _api_url(url):
    text = str(url or "").rstrip("/")
    return text if text.lower().endswith("/api") else text + "/api"


def _dr_probe_places(probe, instances):
    """[[probe, primary API URL], [probe, backup API URL]] for one probe result of dr_setup."""
    backup = probe["item"]
    primary = next((i for i in instances if i["name"] == backup.get("backup_of")), None)
    if primary is None:
        raise AnsibleFilterError("No primary named %s for backup %s." % (backup.get("backup_of"), backup.get("name")))
    return [[probe, _api_url(primary["url"])], [probe, _api_url(backup["url"])]]


class FilterModule:
    def filters(self):
        return {
            "topology_queues": _topology_queues,
            "instance_environment": _instance_environment,
            "topology_instances": _topology_instances,
            "topology_report": _topology_report,
            "dr_probe_places": _dr_probe_places,
        }
