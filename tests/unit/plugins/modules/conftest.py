# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the module tests: an in-memory Transport that behaves like a real one (read, compare, act)."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.servicecontrol.platform.plugins.module_utils import _transport
from ansible_collections.servicecontrol.platform.plugins.module_utils._results import send_result
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    Transport,
    TransportError,
)


class FakeTransport(Transport):
    """Queues live in a dict shared by the test; names with '!' are invalid; `fail_on` names fail ensure/delete."""

    supported_options = frozenset(("rabbitmq_delivery_limit_policy",))

    def __init__(self, transport_type, connection_string, variant=None, options=None, broker=None):
        super().__init__(transport_type, connection_string, variant=variant, options=options)
        self.broker = broker
        self.opened = 0

    def physical_name(self, name):
        if "!" in name:
            raise InvalidQueueNameError("Queue name '%s' contains '!', which the fake transport rejects." % name)
        return "phys-" + name

    def open(self):
        if self.broker.get("unreachable"):
            raise TransportError("Cannot reach the fake broker.")
        self.opened += 1
        self.broker["connections"] = self.broker.get("connections", 0) + 1

    def describe(self, name):
        queue = self.broker["queues"].get(name)
        return {
            "name": name,
            "physical_name": self.physical_name(name),
            "exists": queue is not None,
            "depth": None if queue is None else queue["depth"],
            "properties": {} if queue is None else {"queue_type": queue["queue_type"]},
        }

    def _check(self, name):
        if name in self.broker.get("fail_on", ()):
            raise TransportError("Queue '%s' exists as a classic queue; the transport needs quorum." % name)

    def ensure(self, name, check_mode=False):
        self._check(name)
        before = self.describe(name)
        if before["exists"]:
            return dict(
                name=name,
                physical_name=before["physical_name"],
                action="existed",
                changed=False,
                before=before,
                after=before,
                commands=[],
            )
        after = dict(before, exists=True, depth=0, properties={"queue_type": "quorum"})
        if not check_mode:
            self.broker["queues"][name] = {"depth": 0, "queue_type": "quorum"}
        return dict(
            name=name,
            physical_name=before["physical_name"],
            action="created",
            changed=True,
            before=before,
            after=after,
            commands=["create " + before["physical_name"]],
        )

    def delete(self, name, check_mode=False):
        self._check(name)
        before = self.describe(name)
        if not before["exists"]:
            return dict(
                name=name,
                physical_name=before["physical_name"],
                action="absent",
                changed=False,
                before=before,
                after=before,
                commands=[],
            )
        after = dict(before, exists=False, depth=None, properties={})
        if not check_mode:
            del self.broker["queues"][name]
        return dict(
            name=name,
            physical_name=before["physical_name"],
            action="deleted",
            changed=True,
            before=before,
            after=after,
            commands=["delete " + before["physical_name"]],
        )

    def depth(self, name):
        return self.describe(name)["depth"]

    def send(self, name, message, check_mode=False):
        """Appends to broker["sent"] (a missing queue is an error, as on every transport)."""
        physical = self.physical_name(name)
        queue = self.broker["queues"].get(name)
        if queue is None:
            raise self.missing_queue_error(name, physical)
        native = None if check_mode else "native-%d" % (len(self.broker.setdefault("sent", [])) + 1)
        if not check_mode:
            self.broker["sent"].append({"queue": name, "message": message, "native_id": native})
            queue["depth"] += 1
        return send_result(name, physical, message, native_message_id=native, commands=["send to " + physical])


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super().__init__(result.get("msg"))
        self.result = result
        self.failed = failed


@pytest.fixture
def fake_broker(monkeypatch):
    """The fake broker's state; open_transport() returns a FakeTransport bound to it."""
    state = {"queues": {}, "opened": []}

    def fake_open_transport(transport_type, connection_string, options=None):
        _transport.family_of(transport_type)
        transport = FakeTransport(transport_type, connection_string, options=options, broker=state)
        state["opened"].append({"type": transport_type, "options": options})
        return transport

    monkeypatch.setattr(_transport, "open_transport", fake_open_transport)
    return state


def _run_module(main, args, check_mode=False, diff=False):
    """Run a module's main(); return (result, failed, serialized result)."""
    args = dict(args)
    args["_ansible_check_mode"] = check_mode
    args["_ansible_diff"] = diff

    def exit_json(_module, **kwargs):
        raise ModuleExit(kwargs, failed=False)

    def fail_json(_module, msg, **kwargs):
        kwargs["msg"] = msg
        raise ModuleExit(kwargs, failed=True)

    with patch_module_args(args), pytest.MonkeyPatch.context() as patcher:
        patcher.setattr(basic.AnsibleModule, "exit_json", exit_json)
        patcher.setattr(basic.AnsibleModule, "fail_json", fail_json)
        try:
            main()
        except ModuleExit as exc:
            return exc.result, exc.failed, json.dumps(exc.result, default=str)
    raise AssertionError("module returned without exit_json or fail_json")


@pytest.fixture
def module_runner():
    return _run_module
