# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for servicecontrol.platform.failed_messages: the module plans and sends the requests; the waiting
happens here, on the controller, so progress lines can be printed while ServiceControl works."""

from __future__ import annotations

import time

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.servicecontrol.platform.plugins.module_utils._api import (
    ServiceControlApiError,
    ServiceControlClient,
    api_argument_spec,
    client_options,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._failed_messages import (
    Reader,
    count_requests,
    drain_options,
    finish,
    progress_line,
    timeout_message,
    wait,
)

display = Display()

MODULE = "servicecontrol.platform.failed_messages"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        validated = ArgumentSpecValidator(api_argument_spec(**drain_options())).validate(args)
        if validated.error_messages:
            # The module reports the same problems with Ansible's usual wording.
            return self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        params = validated.validated_parameters
        started = time.monotonic()
        module_result = self._execute_module(
            module_name=MODULE, module_args=dict(args, wait=False), task_vars=task_vars
        )
        result.update(module_result)
        state = result.pop("wait_state", None)
        if result.get("failed") or not params["wait"] or state is None or self._task.check_mode:
            return result
        try:
            self._wait(params, state, result, started)
        except ServiceControlApiError as exc:
            result.update(failed=True, **exc.fail_kwargs())
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=str(exc))
        return result

    def _wait(self, params, state, result, started):
        # This module's "timeout" is the wait; its requests take "request_timeout".
        client = ServiceControlClient(**client_options(params, timeout=params["request_timeout"]))
        counter = count_requests(client)
        last_line = [0.0]

        def progress(left, rate, eta):
            # One line per poll at most every poll_interval; -v shows them all.
            now = time.monotonic()
            if now - last_line[0] >= max(params["poll_interval"], 5) or display.verbosity > 0 or left == 0:
                display.display(progress_line(left, rate, eta))
                last_line[0] = now

        with client:
            reader = Reader(client)
            remaining_time = max(0.0, params["timeout"] - (time.monotonic() - started))
            outcome = wait(reader, state, remaining_time, params["poll_interval"], progress=progress)
            result.update(finish(reader, state))
        result["http_calls"] = int(result.get("http_calls") or 0) + counter[0]
        result["elapsed"] = round(time.monotonic() - started, 3)
        if outcome["timed_out"]:
            result["failed"] = True
            result["msg"] = timeout_message(state, outcome, params["timeout"], result.get("plan") or [])
