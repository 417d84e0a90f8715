# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that point ServicePulse and ServiceInsight at an Error instance (see servicepulse_constants.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.servicecontrol.platform.plugins.module_utils._servicepulse import (
    ServicePulseError,
    serviceinsight_link,
    servicepulse_constants,
    servicepulse_links,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import TopologyError


def _constants(content, service_control_url, monitoring_urls=None):
    try:
        return servicepulse_constants(content, service_control_url, monitoring_urls)
    except ServicePulseError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _links(topology, service_control_url, monitoring_url=None, names=None):
    try:
        return servicepulse_links(topology, service_control_url, monitoring_url, names)
    except (ServicePulseError, TopologyError) as exc:
        raise AnsibleFilterError(str(exc)) from None


def _serviceinsight(service_control_url):
    try:
        return serviceinsight_link(service_control_url)
    except ServicePulseError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {
            "servicepulse_constants": _constants,
            "servicepulse_links": _links,
            "serviceinsight_link": _serviceinsight,
        }
