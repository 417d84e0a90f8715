# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run-state filter: what a step observed merged into a run's state (see run_state_merge.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.servicecontrol.platform.plugins.module_utils._run_state import RunStateError, merge, plain


def _merge(state, update):
    try:
        current = plain(state if state is not None else {}, "The state")
        if not isinstance(current, dict):
            raise RunStateError("The state is %s, not a mapping." % type(current).__name__)
        changes = plain(update, "The update")
        if not isinstance(changes, dict):
            raise RunStateError("The update is %s, not a mapping." % type(changes).__name__)
        return merge(current, changes)
    except RunStateError as exc:
        raise AnsibleFilterError("run_state_merge: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {"run_state_merge": _merge}
