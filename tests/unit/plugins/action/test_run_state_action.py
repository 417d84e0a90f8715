# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run_state action plugin: it writes the fact it is named, on the controller, and never sets a fact."""

from __future__ import annotations

import json
from unittest.mock import MagicMock

import pytest


@pytest.fixture
def action(import_action):
    return import_action("run_state")


def run(action, args, task_vars=None, check_mode=False):
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    plugin = action.ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    return plugin.run(task_vars=task_vars or {})


def test_writes_the_named_fact_and_returns_no_fact(action, tmp_path):
    path = tmp_path / "report" / "state.json"
    state = {"phases": {"pause": {"started": "t1"}}, "snapshot": {"retried_ids": ["a", "b"]}}
    result = run(action, {"fact": "__rei_state", "path": str(path)}, {"__rei_state": state})
    assert result["written"] is True and result["changed"] is False and not result.get("failed")
    assert json.loads(path.read_text()) == state
    # A returned fact would be a host fact, shadowed by the set_fact that holds the state: it must not pretend.
    assert "ansible_facts" not in result


def test_in_check_mode_nothing_is_written(action, tmp_path):
    path = tmp_path / "state.json"
    planned = run(action, {"fact": "s", "path": str(path)}, {"s": {"a": 1}}, check_mode=True)
    assert planned["written"] is False and not planned.get("failed")
    assert not path.exists()


def test_bad_input_fails_with_the_reason_and_writes_nothing(action, tmp_path):
    path = tmp_path / "state.json"
    not_a_mapping = run(action, {"fact": "s", "path": str(path)}, {"s": ["x"]})
    assert not_a_mapping["failed"] and "The fact s holds list, not a mapping" in not_a_mapping["msg"]
    unset = run(action, {"fact": "s", "path": str(path)})
    assert unset["failed"] and "the fact s is not set" in unset["msg"] and "set_fact" in unset["msg"]
    bad_name = run(action, {"fact": "not a name", "path": str(path)})
    assert bad_name["failed"] and "'not a name' is not a valid variable name" in bad_name["msg"]
    unknown = run(action, {"fact": "s", "path": str(path), "update": {}}, {"s": {}})
    assert unknown["failed"] and "update" in unknown["msg"]
    no_path = run(action, {"fact": "s"}, {"s": {}})
    assert no_path["failed"] and "path" in no_path["msg"]
    assert not path.exists()
