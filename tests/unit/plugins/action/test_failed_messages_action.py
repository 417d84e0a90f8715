# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin: it runs the module without waiting, then waits on the controller with progress lines."""

from __future__ import annotations

from unittest.mock import MagicMock

import httpx
import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils._api import ServiceControlClient
from ansible_collections.servicecontrol.platform.plugins.module_utils._failed_messages import (
    Reader,
    WaitState,
    build_plan,
    execute,
    parse_rules,
)
from ansible_collections.servicecontrol.platform.tests.unit.plugins.module_utils.fake_error_instance import (
    client_for,
    three_groups,
)

URL = "http://sc:33333/api"


@pytest.fixture
def action(import_action):
    return import_action("failed_messages")


def plugin_for(action, instance, monkeypatch, args, module_result):
    task = MagicMock()
    task.args = dict(args, url=URL)
    task.async_val = 0
    task.check_mode = False
    plugin = action.ActionModule(task, MagicMock(), MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    sent = []

    def execute_module(module_name, module_args, task_vars):
        sent.append((module_name, module_args))
        return dict(module_result)

    monkeypatch.setattr(plugin, "_execute_module", execute_module)
    monkeypatch.setattr(
        action,
        "ServiceControlClient",
        lambda url, **options: ServiceControlClient(url, transport=httpx.MockTransport(instance), **options),
    )
    lines = []
    monkeypatch.setattr(action.display, "display", lines.append)
    monkeypatch.setattr(action.time, "sleep", lambda seconds: None)
    return plugin, sent, lines


def accepted_drain(instance):
    """What the module returns after sending its requests (the fake carries them out a few requests later)."""
    client = client_for(instance)
    reader = Reader(client)
    plan = build_plan(reader, parse_rules([]), "retry")
    execute(client, plan, lambda target: None)
    state = WaitState.from_plan(plan, "none_unresolved", reader.now)
    return {"changed": True, "plan": plan.report(), "retried": plan.retried, "http_calls": 7, "wait_state": state}


def test_the_module_runs_without_waiting_and_the_plugin_waits(action, monkeypatch):
    instance = three_groups(lag=6)
    plugin, sent, lines = plugin_for(
        action, instance, monkeypatch, {"default_action": "retry", "poll_interval": 0}, accepted_drain(instance)
    )
    result = plugin.run(task_vars={})
    assert sent == [
        (
            "servicecontrol.platform.failed_messages",
            {"url": URL, "default_action": "retry", "poll_interval": 0, "wait": False},
        )
    ]
    assert "wait_state" not in result and not result.get("failed")
    assert result["remaining"] == 0 and result["refailed"] == 0
    assert result["http_calls"] > 7
    assert instance.statuses() == {"resolved": 9}
    assert lines[-1].startswith("failed_messages: 0 unresolved left, ")
    assert any(line.startswith("failed_messages: 9 unresolved left") for line in lines)


def test_a_timeout_fails_with_what_is_left(action, monkeypatch):
    instance = three_groups(lag=10**6)
    plugin, _sent, _lines = plugin_for(
        action, instance, monkeypatch, {"default_action": "retry", "timeout": 0}, accepted_drain(instance)
    )
    result = plugin.run(task_vars={})
    assert result["failed"] is True
    assert "timed out after 0 s: 9 messages acted on are still unresolved" in result["msg"]
    assert "run the task again" in result["msg"]


def test_no_wait_returns_the_module_result(action, monkeypatch):
    instance = three_groups()
    plugin, sent, _lines = plugin_for(
        action, instance, monkeypatch, {"wait": False}, {"changed": False, "http_calls": 1}
    )
    result = plugin.run(task_vars={})
    assert result["changed"] is False and result["http_calls"] == 1
    assert len(sent) == 1
