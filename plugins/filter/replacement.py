# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that decide, on the controller, how an Error instance is replaced (see replacement_plan.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.servicecontrol.platform.plugins.module_utils._replacement import (
    MINIMUM_VERSION,
    ReplacementError,
    quiet_period,
    replacement_plan,
    replacement_preflight,
    replacement_reconciliation,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import TopologyError


def _replacement_plan(topology, old_name, new=None, strategy="new_name"):
    try:
        return replacement_plan(topology, old_name, new, strategy)
    except (TopologyError, ReplacementError) as exc:
        raise AnsibleFilterError(str(exc)) from None


def _replacement_preflight(results, minimum=MINIMUM_VERSION):
    try:
        return replacement_preflight(results, minimum)
    except ReplacementError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _quiet_period(info, error_queue_depth, thresholds=None):
    try:
        return quiet_period(info, error_queue_depth, thresholds)
    except ReplacementError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _replacement_reconciliation(snapshot, old_messages, new_messages, processed_message_ids=None):
    try:
        return replacement_reconciliation(snapshot, old_messages, new_messages, processed_message_ids)
    except ReplacementError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {
            "replacement_plan": _replacement_plan,
            "replacement_preflight": _replacement_preflight,
            "quiet_period": _quiet_period,
            "replacement_reconciliation": _replacement_reconciliation,
        }
