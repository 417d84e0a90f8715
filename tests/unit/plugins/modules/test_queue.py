# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.servicecontrol.platform.plugins.modules import queue

SECRET = "s3cr3t-Pa55word"
BASE_ARGS = {
    "transport": "RabbitMQ.QuorumConventionalRouting",
    "connection_string": "host=fake_broker.example.com;username=sc;password=%s" % SECRET,
}


def args(**extra):
    return dict(BASE_ARGS, **extra)


def test_creates_missing_queues_with_one_connection(fake_broker, module_runner):
    fake_broker["queues"]["audit"] = {"depth": 3, "queue_type": "quorum"}

    result, failed, output = module_runner(queue.main, args(queues=["error", "audit", "error.log"]))

    assert not failed
    assert result["changed"] is True
    assert [(q["name"], q["physical_name"], q["action"], q["changed"]) for q in result["queues"]] == [
        ("error", "phys-error", "created", True),
        ("audit", "phys-audit", "existed", False),
        ("error.log", "phys-error.log", "created", True),
    ]
    assert result["queues"][0]["commands"] == ["create phys-error"]
    assert set(fake_broker["queues"]) == {"error", "audit", "error.log"}
    assert fake_broker["connections"] == 1
    assert SECRET not in output


def test_second_run_changes_nothing(fake_broker, module_runner):
    module_runner(queue.main, args(queues=["error", "audit"]))
    result, failed, _output = module_runner(queue.main, args(queues=["error", "audit"]))
    assert not failed
    assert result["changed"] is False
    assert {q["action"] for q in result["queues"]} == {"existed"}


def test_check_mode_predicts_without_creating_and_diff_matches_real_run(fake_broker, module_runner):
    check, failed, output = module_runner(queue.main, args(queues=["error", "audit"]), check_mode=True, diff=True)
    assert not failed
    assert check["changed"] is True
    assert fake_broker["queues"] == {}
    assert SECRET not in output

    real, failed, _output = module_runner(queue.main, args(queues=["error", "audit"]), diff=True)
    assert not failed
    assert real["diff"] == check["diff"]
    assert [q["action"] for q in real["queues"]] == [q["action"] for q in check["queues"]] == ["created", "created"]
    assert check["diff"]["before"]["error"] == {"physical_name": "phys-error", "exists": False, "properties": {}}
    assert check["diff"]["after"]["error"] == {
        "physical_name": "phys-error",
        "exists": True,
        "properties": {"queue_type": "quorum"},
    }


def test_diff_leaves_out_depth(fake_broker, module_runner):
    fake_broker["queues"]["error"] = {"depth": 7, "queue_type": "quorum"}
    result, _failed, _output = module_runner(queue.main, args(queues=["error"], state="absent"), diff=True)
    assert "depth" not in result["diff"]["before"]["error"]
    assert result["diff"]["after"]["error"]["exists"] is False


def test_absent_deletes_and_repeats_cleanly(fake_broker, module_runner):
    fake_broker["queues"]["error"] = {"depth": 0, "queue_type": "quorum"}

    absent = args(queues=["error", "audit"], state="absent")
    check, _failed, _output = module_runner(queue.main, absent, check_mode=True)
    assert check["changed"] is True
    assert "error" in fake_broker["queues"]

    real, _failed, _output = module_runner(queue.main, args(queues=["error", "audit"], state="absent"))
    assert [q["action"] for q in real["queues"]] == ["deleted", "absent"]
    assert fake_broker["queues"] == {}

    again, _failed, _output = module_runner(queue.main, args(queues=["error", "audit"], state="absent"))
    assert again["changed"] is False


def test_invalid_names_fail_before_anything_is_created(fake_broker, module_runner):
    result, failed, _output = module_runner(queue.main, args(queues=["error", "bad!one", "audit", "bad!two"]))
    assert failed
    assert "bad!one" in result["msg"] and "bad!two" in result["msg"]
    assert result["changed"] is False
    assert fake_broker["queues"] == {}
    assert fake_broker.get("connections") is None


def test_failure_midway_says_what_was_done_and_what_was_not(fake_broker, module_runner):
    fake_broker["fail_on"] = ("audit",)

    result, failed, output = module_runner(queue.main, args(queues=["error", "error.log", "audit", "audit.log"]))

    assert failed
    assert result["changed"] is True
    msg = result["msg"]
    assert msg.startswith("Stopped at queue 'audit': ")
    assert "classic queue" in msg
    assert "already done: error (created), error.log (created)" in msg
    assert "Not attempted: audit.log" in msg
    assert [q["name"] for q in result["queues"]] == ["error", "error.log"]
    assert set(fake_broker["queues"]) == {"error", "error.log"}
    assert SECRET not in output


def test_failure_midway_in_check_mode_says_planned(fake_broker, module_runner):
    fake_broker["fail_on"] = ("audit",)
    result, failed, _output = module_runner(queue.main, args(queues=["error", "audit"]), check_mode=True)
    assert failed
    assert result["changed"] is True
    assert "already planned: error (created)" in result["msg"]
    assert fake_broker["queues"] == {}


def test_unreachable_transport_fails_without_change(fake_broker, module_runner):
    fake_broker["unreachable"] = True
    result, failed, output = module_runner(queue.main, args(queues=["error"]))
    assert failed
    assert result["msg"] == "Cannot reach the fake broker."
    assert result["changed"] is False
    assert SECRET not in output


def test_duplicate_names_are_handled_once(fake_broker, module_runner):
    result, _failed, _output = module_runner(queue.main, args(queues=["error", "error"]))
    assert [q["name"] for q in result["queues"]] == ["error"]


def test_empty_name_is_rejected(fake_broker, module_runner):
    result, failed, _output = module_runner(queue.main, args(queues=["error", " "]))
    assert failed
    assert "no name may be empty" in result["msg"]
    assert fake_broker["opened"] == []


def test_options_of_another_transport_are_rejected(fake_broker, module_runner):
    result, failed, output = module_runner(queue.main, args(queues=["error"], sqs_message_retention_period=60))
    assert failed
    assert "sqs_message_retention_period" in result["msg"]
    assert "RabbitMQ.QuorumConventionalRouting" in result["msg"]
    assert fake_broker["queues"] == {}
    assert SECRET not in output


def test_transport_options_are_passed_through(fake_broker, module_runner):
    module_runner(queue.main, args(queues=["error"], rabbitmq_delivery_limit_policy=True, timeout=5))
    options = fake_broker["opened"][0]["options"]
    assert options["rabbitmq_delivery_limit_policy"] is True
    assert options["timeout"] == 5
    assert options["validate_certs"] is True
    assert "sqs_endpoint_url" not in options
