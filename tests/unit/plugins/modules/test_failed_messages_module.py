# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json

import httpx
import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.servicecontrol.platform.plugins.module_utils import _api
from ansible_collections.servicecontrol.platform.plugins.modules import failed_messages, failed_messages_info
from ansible_collections.servicecontrol.platform.tests.unit.plugins.module_utils.fake_error_instance import (
    GROUP_A,
    GROUP_B,
    FakeErrorInstance,
    three_groups,
)

URL = "http://backup:33333/api"
PRIMARY_URL = "http://primary:33333/api"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.drain-secret.sig"


def run(monkeypatch, capsys, module, instances, *, check_mode=False, diff=False, **args):
    real = _api.client_from_module

    def fake_client(mod, **overrides):
        url = overrides.get("url") or mod.params["url"]
        return real(mod, transport=httpx.MockTransport(instances[url]), **overrides)

    monkeypatch.setattr(module, "client_from_module", fake_client)
    args = dict({"url": URL, "_ansible_check_mode": check_mode, "_ansible_diff": diff}, **args)
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        module.main()
    out = capsys.readouterr().out
    assert TOKEN not in out
    return exited.value.code, json.loads(out)


def posts(instance):
    return [path for method, path, _params in instance.requests if method == "POST"]


RULES = [
    {"name": "poison", "action": "archive", "group_title": "System.FormatException: *"},
    {"name": "orders", "action": "retry", "group_id": GROUP_A},
]


def test_check_mode_plans_and_changes_nothing(monkeypatch, capsys):
    instance = three_groups()
    code, result = run(
        monkeypatch, capsys, failed_messages, {URL: instance}, check_mode=True, diff=True, rules=RULES, token=TOKEN
    )
    assert code == 0 and result["changed"] is True
    assert posts(instance) == []
    assert result["plan"] == [
        {
            "name": "poison",
            "action": "archive",
            "count": 3,
            "route": "recoverability/groups/%s/errors/archive" % GROUP_B,
        },
        {"name": "orders", "action": "retry", "count": 4, "route": "recoverability/groups/%s/errors/retry" % GROUP_A},
        {"name": "default", "action": "keep", "count": 2, "route": None},
    ]
    assert result["retried"] == 4 and result["archived"] == 3 and result["remaining"] == 2
    assert result["archived_ids"] == ["b0", "b1", "b2"] and result["retried_ids"] == ["a0", "a1", "a2", "a3"]
    assert result["diff"] == {"before": {"unresolved": 9}, "after": {"unresolved": 2, "retried": 4, "archived": 3}}
    assert result["http_calls"] == len(instance.requests)
    assert "wait_state" not in result


def test_real_run_then_a_second_run_changes_nothing(monkeypatch, capsys):
    instance = three_groups()
    code, result = run(monkeypatch, capsys, failed_messages, {URL: instance}, rules=RULES, poll_interval=0)
    assert code == 0 and result["changed"] is True
    # Archives first, then retries.
    assert posts(instance) == [
        "/api/recoverability/groups/%s/errors/archive" % GROUP_B,
        "/api/recoverability/groups/%s/errors/retry" % GROUP_A,
    ]
    assert instance.statuses() == {"archived": 3, "resolved": 4, "unresolved": 2}
    assert result["remaining"] == 2 and result["refailed"] == 0
    assert result["wait_state"]["kept"] == 2

    code, again = run(monkeypatch, capsys, failed_messages, {URL: instance}, rules=RULES[:1], poll_interval=0)
    assert code == 0 and again["changed"] is False and again["retried"] == again["archived"] == 0
    assert len(posts(instance)) == 2


def test_a_backup_refuses_every_retry(monkeypatch, capsys):
    instance = three_groups()
    code, result = run(monkeypatch, capsys, failed_messages, {URL: instance}, backup=True, rules=RULES)
    assert code == 1 and result["changed"] is False
    assert "is a backup Error instance" in result["msg"] and "4 message(s) would be retried" in result["msg"]
    assert posts(instance) == []


def test_a_backup_may_archive(monkeypatch, capsys):
    instance = three_groups()
    code, result = run(
        monkeypatch, capsys, failed_messages, {URL: instance}, backup=True, rules=RULES[:1], poll_interval=0
    )
    assert code == 0 and result["archived"] == 3 and instance.statuses()["archived"] == 3


def test_allow_backup_retry_needs_the_primary(monkeypatch, capsys):
    instance = three_groups()
    code, result = run(
        monkeypatch,
        capsys,
        failed_messages,
        {URL: instance},
        backup=True,
        allow_backup_retry=True,
        default_action="retry",
    )
    assert code == 1 and "primary_url is not" in result["msg"]
    assert posts(instance) == []


def backup_pair():
    primary = three_groups(error_queue="error", error_log_queue="error_backup", forwarding=True)
    backup = three_groups(error_queue="error_backup", error_log_queue="error.log")
    return primary, backup


def test_the_backup_is_detected_from_what_the_instances_report(monkeypatch, capsys):
    primary, backup = backup_pair()
    code, result = run(
        monkeypatch,
        capsys,
        failed_messages,
        {URL: backup, PRIMARY_URL: primary},
        primary_url=PRIMARY_URL,
        default_action="retry",
    )
    assert code == 1 and "is a backup Error instance" in result["msg"]
    assert posts(backup) == [] and posts(primary) == []


def test_allow_backup_retry_retries_only_what_the_primary_never_retried(monkeypatch, capsys):
    primary, backup = backup_pair()
    primary.messages["a0"]["status"] = "retryIssued"
    primary.messages["b1"]["number_of_processing_attempts"] = 3
    code, result = run(
        monkeypatch,
        capsys,
        failed_messages,
        {URL: backup, PRIMARY_URL: primary},
        primary_url=PRIMARY_URL,
        allow_backup_retry=True,
        default_action="retry",
        poll_interval=0,
    )
    assert code == 0 and result["backup"] is True
    assert result["skipped"] == 2 and result["skipped_ids"] == ["a0", "b1"]
    assert posts(backup) == ["/api/errors/retry"] and posts(primary) == []
    assert result["retried"] == 7 and backup.statuses() == {"resolved": 7, "unresolved": 2}
    assert result["remaining"] == 2


def test_timeout_says_what_is_left(monkeypatch, capsys):
    instance = three_groups(lag=10**6)
    code, result = run(
        monkeypatch, capsys, failed_messages, {URL: instance}, default_action="retry", timeout=0, poll_interval=1
    )
    assert code == 1 and result["changed"] is True
    assert "timed out after 0 s: 9 messages acted on are still unresolved" in result["msg"]
    assert posts(instance) == ["/api/errors/retry/all"]


def test_bad_rules_fail_before_any_request(monkeypatch, capsys):
    instance = FakeErrorInstance()
    code, result = run(
        monkeypatch, capsys, failed_messages, {URL: instance}, rules=[{"action": "retry", "older_than": "soon"}]
    )
    assert code == 1 and "rules[0].older_than" in result["msg"]
    assert instance.requests == []


def test_info_module(monkeypatch, capsys):
    instance = three_groups()
    code, result = run(monkeypatch, capsys, failed_messages_info, {URL: instance}, include_messages=True)
    assert code == 0 and result["changed"] is False
    assert result["counts"]["unresolved"] == 9 and len(result["messages"]) == 9
    assert result["by_endpoint"] == {"Sales": 4, "Billing": 3, "Shipping": 2}
    assert posts(instance) == []
