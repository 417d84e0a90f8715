# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.servicecontrol.platform.plugins.module_utils._messages import deterministic_guid
from ansible_collections.servicecontrol.platform.plugins.modules import message

SECRET = "s3cr3t-Pa55word"
BASE_ARGS = {
    "transport": "RabbitMQ.QuorumConventionalRouting",
    "connection_string": "host=fake_broker.example.com;username=sc;password=%s" % SECRET,
    "queue": "error",
}
MESSAGE_ID = "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e"


def args(**extra):
    return dict(BASE_ARGS, **extra)


def with_error_queue(fake_broker):
    fake_broker["queues"]["error"] = {"depth": 0, "queue_type": "quorum"}
    return fake_broker


def test_sends_a_probe_failure_and_returns_its_ids(fake_broker, module_runner):
    with_error_queue(fake_broker)
    result, failed, output = module_runner(message.main, args(message_id=MESSAGE_ID, endpoint="Sales"))
    assert not failed, result
    (sent,) = fake_broker["sent"]
    assert sent["queue"] == "error"
    assert sent["message"].message_id == MESSAGE_ID
    assert result["changed"] is True
    assert result["message_id"] == MESSAGE_ID
    assert result["unique_message_id"] == deterministic_guid(MESSAGE_ID + "Sales")
    assert result["native_message_id"] == "native-1"
    assert (result["queue"], result["physical_queue"], result["kind"]) == ("error", "phys-error", "failed")
    assert result["headers"] == sent["message"].headers
    assert result["headers"]["NServiceBus.FailedQ"] == "Sales"
    assert result["headers"]["ServiceControl.Platform.Probe"] == MESSAGE_ID
    assert result["commands"] == ["send to phys-error"]
    assert result["notes"] == []
    assert SECRET not in output


def test_check_mode_sends_nothing_but_reports_the_message(fake_broker, module_runner):
    with_error_queue(fake_broker)
    result, failed, _output = module_runner(message.main, args(kind="audit"), check_mode=True, diff=True)
    assert not failed
    assert result["changed"] is True
    assert fake_broker.get("sent", []) == []
    assert result["native_message_id"] is None
    assert "NServiceBus.ProcessingStarted" in result["headers"]
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["message_id"] == result["message_id"]
    assert result["diff"]["after"]["headers"] == result["headers"]
    assert '"Probe":"%s"' % result["message_id"] in result["diff"]["after"]["body"]


def test_every_run_sends_another_message_with_a_new_id(fake_broker, module_runner):
    with_error_queue(fake_broker)
    first, _failed, _output = module_runner(message.main, args())
    second, _failed, _output = module_runner(message.main, args())
    assert first["message_id"] != second["message_id"]
    assert len(fake_broker["sent"]) == 2
    assert fake_broker["queues"]["error"]["depth"] == 2


def test_a_message_without_failed_q_is_sent_and_the_notes_say_it_becomes_a_failed_import(fake_broker, module_runner):
    with_error_queue(fake_broker)
    result, failed, _output = module_runner(message.main, args(headers={"NServiceBus.FailedQ": None, "X": 5}))
    assert not failed
    assert "NServiceBus.FailedQ" not in result["headers"] and result["headers"]["X"] == "5"
    assert len(result["notes"]) == 1 and "failed import" in result["notes"][0]


def test_custom_message_with_a_body(fake_broker, module_runner):
    with_error_queue(fake_broker)
    result, failed, _output = module_runner(
        message.main, args(kind="custom", message_id=MESSAGE_ID, body="hello", probe=False)
    )
    assert not failed
    assert result["headers"] == {"NServiceBus.MessageId": MESSAGE_ID}
    assert fake_broker["sent"][0]["message"].body == b"hello"
    assert result["unique_message_id"] is None


def test_options_of_another_kind_fail_before_connecting(fake_broker, module_runner):
    with_error_queue(fake_broker)
    result, failed, _output = module_runner(message.main, args(kind="audit", failed_queue="Sales"))
    assert failed
    assert "failed_queue do not apply to a message of kind 'audit'" in result["msg"]
    assert result["changed"] is False
    assert fake_broker["opened"] == []


def test_missing_queue_fails_without_change(fake_broker, module_runner):
    result, failed, output = module_runner(message.main, args(queue="error_backup"))
    assert failed
    assert "Queue 'error_backup' (phys-error_backup) does not exist" in result["msg"]
    assert result["changed"] is False
    assert SECRET not in output


def test_invalid_queue_name_fails_before_connecting(fake_broker, module_runner):
    result, failed, _output = module_runner(message.main, args(queue="bad!name"))
    assert failed
    assert "contains '!'" in result["msg"]
    assert fake_broker.get("connections") is None


def test_empty_queue_name_is_refused(fake_broker, module_runner):
    result, failed, _output = module_runner(message.main, args(queue=" "))
    assert failed and "Option queue is empty" in result["msg"]


def test_unreachable_transport_fails_without_the_secret(fake_broker, module_runner):
    fake_broker["unreachable"] = True
    result, failed, output = module_runner(message.main, args())
    assert failed and result["msg"] == "Cannot reach the fake broker."
    assert SECRET not in output
