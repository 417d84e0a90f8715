# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for servicecontrol.platform.run_state: writes a run's state on the controller, in-process.

A state write inside replace_error_instance's ingestion pause used to be a copy (two module runs, about 2 s);
here it is a few milliseconds (docs/benchmarks.md)."""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.servicecontrol.platform.plugins.module_utils._run_state import (
    RunStateError,
    plain,
    write,
)

ARGUMENT_SPEC = {
    "fact": {"type": "str", "default": "run_state"},
    "path": {"type": "path", "required": True},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        validated = ArgumentSpecValidator(ARGUMENT_SPEC).validate(dict(self._task.args))
        if validated.error_messages:
            return dict(result, failed=True, msg="run_state: %s" % "; ".join(validated.error_messages))
        params = validated.validated_parameters
        fact = params["fact"]
        if not fact.isidentifier():
            return dict(result, failed=True, msg="run_state: fact %r is not a valid variable name." % fact)
        task_vars = task_vars or {}
        if fact not in task_vars:
            return dict(
                result,
                failed=True,
                msg="run_state: the fact %s is not set. Set it with ansible.builtin.set_fact before writing it."
                " Nothing was written." % fact,
            )
        try:
            # The fact as it stands, read here rather than passed in templated: a state of thousands of ids would
            # be walked by the templar on every call.
            state = plain(task_vars[fact], "The fact %s" % fact)
            if not isinstance(state, dict):
                raise RunStateError("The fact %s holds %s, not a mapping." % (fact, type(state).__name__))
            written = not self._task.check_mode
            if written:
                write(params["path"], state)
        except RunStateError as exc:
            return dict(result, failed=True, msg="run_state: %s Nothing was written." % exc)
        # The run's own record, not a change to what the playbook manages.
        result.update(changed=False, written=written, path=params["path"])
        return result
