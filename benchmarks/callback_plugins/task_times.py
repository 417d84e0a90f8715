"""Benchmark helper, not part of the collection: writes when each task of an ansible-playbook run started and
ended (epoch seconds) as JSON lines to the file named by BENCH_TASK_TIMES, so a benchmark can say which tasks
took the time. Enabled by the benchmark through ANSIBLE_CALLBACK_PLUGINS and ANSIBLE_CALLBACKS_ENABLED."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._path = os.environ.get("BENCH_TASK_TIMES")
        self._current = None

    def _flush(self, ended):
        if self._current and self._path:
            self._current["ended"] = ended
            with open(self._path, "a", encoding="utf-8") as out:
                out.write(json.dumps(self._current) + "\n")
        self._current = None

    def _start(self, task):
        now = time.time()
        self._flush(now)
        self._current = {"task": task.get_name(), "started": now}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task)

    def v2_playbook_on_play_start(self, play):
        self._flush(time.time())

    def v2_playbook_on_stats(self, stats):
        self._flush(time.time())
