# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run's state: the recursive merge a resumed run relies on, and the atomic write of its file."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils._run_state import (
    RunStateError,
    merge,
    plain,
    write,
)


def test_mappings_merge_key_by_key_and_other_values_are_replaced():
    state = {"phases": {"pause": {"started": "t1"}}, "snapshot": {"probe_id": None}}
    update = {"phases": {"pause": {"verified": "t2"}, "drain": {"started": "t3"}}, "snapshot": {"probe_id": "p"}}
    assert merge(state, update) == {
        "phases": {"pause": {"started": "t1", "verified": "t2"}, "drain": {"started": "t3"}},
        "snapshot": {"probe_id": "p"},
    }
    assert state == {"phases": {"pause": {"started": "t1"}}, "snapshot": {"probe_id": None}}  # not changed


def test_lists_gain_only_what_they_do_not_hold_in_order():
    """A re-run that records the same retried ids again adds nothing; new ids are appended in their order."""
    state = {"ids": ["a", "b"], "plan": [{"rule": "x", "count": 1}]}
    merged = merge(state, {"ids": ["b", "c", "a", "d"], "plan": [{"count": 1, "rule": "x"}, {"rule": "y"}]})
    assert merged["ids"] == ["a", "b", "c", "d"]
    assert merged["plan"] == [{"rule": "x", "count": 1}, {"rule": "y"}]
    assert merge(merged, {"ids": ["a", "b", "c", "d"]}) == merged


def test_a_mapping_replaces_a_scalar_and_the_other_way_round():
    assert merge({"resume": None}, {"resume": {"started": "t"}}) == {"resume": {"started": "t"}}
    assert merge({"resume": {"started": "t"}}, {"resume": "done"}) == {"resume": "done"}


def test_merging_thousands_of_ids_stays_linear():
    ids = ["id-%05d" % n for n in range(20000)]
    merged = merge({"snapshot": {"unresolved_ids": ids}}, {"snapshot": {"unresolved_ids": list(reversed(ids))}})
    assert merged["snapshot"]["unresolved_ids"] == ids


def test_plain_refuses_what_json_cannot_hold_naming_it():
    with pytest.raises(RunStateError, match=r"^update is not JSON data"):
        plain({"when": object()}, "update")


def test_write_is_whole_and_readable_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "report" / "run.state.json"
    write(str(path), {"phases": {"pause": {"started": "t1"}}})
    write(str(path), {"phases": {"pause": {"started": "t1", "verified": "t2"}}})
    assert json.loads(path.read_text()) == {"phases": {"pause": {"started": "t1", "verified": "t2"}}}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert sorted(p.name for p in path.parent.iterdir()) == ["run.state.json"]


def test_a_write_that_fails_names_the_file_and_keeps_the_old_one(tmp_path):
    path = tmp_path / "run.state.json"
    write(str(path), {"old": True})
    with pytest.raises(RunStateError, match=r"Could not write the state file .*run\.state\.json"):
        write(str(path / "below-a-file"), {"new": True})
    with pytest.raises(TypeError):
        write(str(path), {"new": object()})  # plain() is the caller's check; a failed dump keeps the old file
    assert json.loads(path.read_text()) == {"old": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.state.json"]
