# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one queue-state and ensure()/delete() result shape, and every transport using it."""

from __future__ import annotations

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils._results import (
    absent_state,
    operation_result,
    queue_state,
)

KEYS = {"name", "physical_name", "action", "changed", "before", "after", "commands", "notes"}


def test_changed_follows_the_action():
    before = absent_state("error", "error")
    after = queue_state("error", "error", exists=True, depth=0)
    assert operation_result("created", before, after, ["PUT"])["changed"] is True
    assert operation_result("deleted", after, before, ["DELETE"])["changed"] is True
    assert operation_result("updated", after, after, ["PATCH"])["changed"] is True
    assert operation_result("existed", after, after, [])["changed"] is False
    assert operation_result("absent", before, before, [])["changed"] is False
    assert set(operation_result("absent", before, before, [])) == KEYS


def test_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError):
        operation_result("made", absent_state("a", "a"), absent_state("a", "a"), [])


def test_states_copy_their_properties():
    properties = {"path": "/q"}
    state = absent_state("q", "/q", properties)
    properties["path"] = "changed"
    assert state == {"name": "q", "physical_name": "/q", "exists": False, "depth": None, "properties": {"path": "/q"}}


def test_every_transport_builds_its_results_here(tmp_path):
    """The Learning transport runs for real; its results have exactly the shared keys."""
    from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import open_transport

    with open_transport("LearningTransport", str(tmp_path)) as queues:
        created = queues.ensure("error")
        existed = queues.ensure("error")
        deleted = queues.delete("error")
        absent = queues.delete("error")
    for result in (created, existed, deleted, absent):
        assert set(result) == KEYS
    assert [r["action"] for r in (created, existed, deleted, absent)] == ["created", "existed", "deleted", "absent"]


def test_send_result_reports_the_message_and_always_changes():
    from ansible_collections.servicecontrol.platform.plugins.module_utils._messages import Message
    from ansible_collections.servicecontrol.platform.plugins.module_utils._results import send_result

    message = Message("id-1", {"NServiceBus.MessageId": "id-1"}, b"abc")
    result = send_result("error", "phys", message, commands=("POST",))
    assert result == {
        "name": "error",
        "physical_name": "phys",
        "action": "sent",
        "changed": True,
        "message_id": "id-1",
        "native_message_id": None,
        "headers": {"NServiceBus.MessageId": "id-1"},
        "body_length": 3,
        "commands": ["POST"],
        "notes": [],
    }
    result["headers"]["X"] = "changed"
    assert message.headers == {"NServiceBus.MessageId": "id-1"}
