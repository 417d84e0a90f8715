# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run_state_merge filter: _run_state.merge for set_fact, with every refusal an AnsibleFilterError."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.servicecontrol.platform.plugins.filter.run_state import FilterModule

MERGE = FilterModule().filters()["run_state_merge"]


def test_merges_recursively_and_changes_neither_input():
    state = {"old": "a", "phases": {"pause": {"started": "t1"}}, "snapshot": {"ids": ["x"]}}
    update = {"phases": {"pause": {"verified": "t2"}, "drain": {}}, "snapshot": {"ids": ["x", "y"]}}
    merged = MERGE(state, update)
    assert merged == {
        "old": "a",
        "phases": {"pause": {"started": "t1", "verified": "t2"}, "drain": {}},
        "snapshot": {"ids": ["x", "y"]},
    }
    assert state["snapshot"]["ids"] == ["x"] and "verified" not in state["phases"]["pause"]


def test_an_unset_state_counts_as_empty():
    assert MERGE(None, {"a": [1]}) == {"a": [1]}


@pytest.mark.parametrize(
    ("state", "update", "reason"),
    [
        (["x"], {}, "The state is list, not a mapping"),
        ({}, ["x"], "The update is list, not a mapping"),
        ({}, {"when": object()}, "The update is not JSON data"),
    ],
)
def test_refuses_what_is_not_a_mapping_of_json_data(state, update, reason):
    with pytest.raises(AnsibleFilterError, match=reason):
        MERGE(state, update)
