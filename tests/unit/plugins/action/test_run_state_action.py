# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run_state action plugin: it merges into the fact it is named, and writes on the controller."""

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


def test_merges_into_the_named_fact_and_writes_the_file(action, tmp_path):
    path = tmp_path / "state.json"
    state = {"phases": {"pause": {"started": "t1"}}, "snapshot": {"retried_ids": ["a"]}}
    result = run(
        action,
        {"fact": "__rei_state", "path": str(path), "update": {"snapshot": {"retried_ids": ["a", "b"]}}},
        {"__rei_state": state},
    )
    merged = {"phases": {"pause": {"started": "t1"}}, "snapshot": {"retried_ids": ["a", "b"]}}
    assert result["ansible_facts"] == {"__rei_state": merged}
    assert result["written"] is True and result["changed"] is False and not result.get("failed")
    assert json.loads(path.read_text()) == merged
    assert state["snapshot"]["retried_ids"] == ["a"]  # the fact it read is not changed in place


def test_without_a_write_or_in_check_mode_only_the_fact_changes(action, tmp_path):
    path = tmp_path / "state.json"
    kept = run(action, {"fact": "s", "path": str(path), "update": {"a": 1}, "write": False})
    planned = run(action, {"fact": "s", "path": str(path), "update": {"a": 1}}, check_mode=True)
    assert kept["ansible_facts"] == planned["ansible_facts"] == {"s": {"a": 1}}
    assert kept["written"] is planned["written"] is False
    assert not path.exists()


def test_bad_input_fails_with_the_reason_and_writes_nothing(action, tmp_path):
    path = tmp_path / "state.json"
    not_a_mapping = run(action, {"fact": "s", "path": str(path), "update": {"a": 1}}, {"s": ["x"]})
    assert not_a_mapping["failed"] and "The fact s holds list, not a mapping" in not_a_mapping["msg"]
    bad_name = run(action, {"fact": "not a name", "update": {}})
    assert bad_name["failed"] and "'not a name' is not a valid variable name" in bad_name["msg"]
    unknown = run(action, {"fact": "s", "updates": {}})
    assert unknown["failed"] and "updates" in unknown["msg"]
    assert not path.exists()
