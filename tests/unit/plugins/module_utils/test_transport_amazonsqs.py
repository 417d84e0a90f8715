# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Amazon SQS transport: naming, connection string, retention, and queue operations against moto (in-process)."""

from __future__ import annotations

import base64
import json
import uuid

import boto3
import moto
import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils import _transport_amazonsqs as sqs_module
from ansible_collections.servicecontrol.platform.plugins.module_utils._messages import Message
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    TransportConfigurationError,
    TransportDependencyError,
    TransportError,
    open_transport,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_amazonsqs import (
    AmazonSqsTransport,
    sqs_queue_name,
)

SECRET = "s3cr3t/Key+ThatMustNotLeak"
CONNECTION_STRING = "Region=us-east-1;AccessKeyId=AKIDEXAMPLE;SecretAccessKey=%s" % SECRET


def transport(connection_string=CONNECTION_STRING, **options):
    return open_transport("AmazonSQS", connection_string, options)


@pytest.fixture
def aws():
    with moto.mock_aws():
        yield boto3.client(
            "sqs", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="other"
        )


def unique(name="error"):
    return "%s-%s" % (name, uuid.uuid4().hex[:8])


# -- naming (NServiceBus GetSqsQueueName) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "prefix", "expected"),
    [
        ("error", "", "error"),
        ("audit", None, "audit"),
        ("error.log", "", "error-log"),
        ("Particular.ServiceControl", "", "Particular-ServiceControl"),
        ("Particular.ServiceControl.Audit.Errors", "", "Particular-ServiceControl-Audit-Errors"),
        ("error_backup", "", "error_backup"),
        ("a+b@c d", "", "a-b-c-d"),
        ("error", "dev-", "dev-error"),
        ("dev-error", "dev-", "dev-error"),
        ("error.log", "prod.", "prod-error-log"),
        ("prod.error", "prod.", "prod-error"),
        ("orders.fifo", "", "orders.fifo"),
        ("my.orders.fifo", "", "my-orders.fifo"),
        ("orders.fifo.log", "", "orders-fifo-log"),
        ("Caf\u00e9", "", "Caf\u00e9"),
    ],
)
def test_sqs_queue_name_matches_nservicebus(address, prefix, expected):
    assert sqs_queue_name(address, prefix) == expected


def test_sqs_queue_name_allows_exactly_80_characters():
    assert sqs_queue_name("q" * 80) == "q" * 80
    assert sqs_queue_name("p" * 10 + "q" * 70, "p" * 10) == "p" * 10 + "q" * 70


@pytest.mark.parametrize(("address", "prefix"), [("q" * 81, ""), ("q" * 77, "dev-"), ("e" * 80 + ".", "")])
def test_sqs_queue_name_rejects_more_than_80_characters(address, prefix):
    with pytest.raises(InvalidQueueNameError, match="limited to 80 characters"):
        sqs_queue_name(address, prefix)


@pytest.mark.parametrize("address", ["", "   ", None])
def test_sqs_queue_name_rejects_empty(address):
    with pytest.raises(InvalidQueueNameError, match="must not be empty"):
        sqs_queue_name(address)


def test_physical_name_uses_the_connection_string_prefix():
    sqs = transport(CONNECTION_STRING + ";QueueNamePrefix=prod-")
    assert sqs.physical_name("error.log") == "prod-error-log"
    assert sqs.physical_name("prod-audit") == "prod-audit"


def test_physical_name_rejects_fifo_names_because_servicecontrol_queues_are_standard():
    with pytest.raises(InvalidQueueNameError, match="FifoQueue"):
        transport().physical_name("orders.fifo")


def test_physical_name_rejects_non_ascii_letters_sqs_would_refuse():
    with pytest.raises(InvalidQueueNameError, match="ASCII"):
        transport().physical_name("Caf\u00e9")


def test_validate_names_reports_every_bad_name_and_collisions():
    with pytest.raises(InvalidQueueNameError) as raised:
        transport().validate_names(["error", "q" * 81, "error.log", "error-log"])
    message = str(raised.value)
    assert "limited to 80 characters" in message
    assert "'error.log' and 'error-log' both map to the physical queue 'error-log'" in message


# -- connection string and options -----------------------------------------------------------------------


def test_unknown_connection_string_key_lists_valid_ones():
    with pytest.raises(TransportConfigurationError) as raised:
        transport("Region=us-east-1;QueuePrefix=x")
    message = str(raised.value)
    assert "queueprefix" in message
    assert "QueueNamePrefix" in message and "S3BucketForLargeMessages" in message


def test_all_servicecontrol_keys_are_accepted():
    sqs = transport(
        "Region=eu-west-2;QueueNamePrefix=p-;TopicNamePrefix=t-;AccessKeyId=a;SecretAccessKey=b;"
        "S3BucketForLargeMessages=bucket;S3KeyPrefix=k;DoNotWrapOutgoingMessages=true;ReservedBytesInMessageSize=10"
    )
    assert sqs.settings["Region"] == "eu-west-2"
    assert sqs.queue_name_prefix == "p-"


def test_empty_connection_string_uses_the_aws_defaults():
    assert transport("").settings == {}


def test_access_key_without_secret_is_rejected_without_echoing_values():
    with pytest.raises(TransportConfigurationError, match="AccessKeyId without SecretAccessKey") as raised:
        transport("Region=us-east-1;AccessKeyId=AKIDEXAMPLE")
    assert "AKIDEXAMPLE" not in str(raised.value)


def test_explicit_credentials_need_a_region():
    with pytest.raises(TransportConfigurationError, match="no Region"):
        transport("AccessKeyId=a;SecretAccessKey=%s" % SECRET)


def test_bad_region_is_rejected():
    with pytest.raises(TransportConfigurationError, match="not an AWS region"):
        transport("Region=Frankfurt")


def test_missing_region_everywhere_fails_clearly(monkeypatch, tmp_path):
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(TransportConfigurationError, match="No AWS region"), transport(""):
        pass


def test_unknown_aws_profile_fails_clearly(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(TransportConfigurationError, match="no-such-profile"):
        with transport(""):
            pass


def test_options_of_other_transports_are_rejected():
    with pytest.raises(TransportConfigurationError, match="azure_service_bus_max_delivery_count"):
        transport(azure_service_bus_max_delivery_count=5)


@pytest.mark.parametrize(("value", "expected"), [(None, 345600), (61, 61), ("3600", 3600), (1209600, 1209600)])
def test_retention_period_accepted(value, expected):
    assert transport(sqs_message_retention_period=value).retention_period == expected


@pytest.mark.parametrize("value", [60, 0, -5, 1209601, "four days", 3.5, True])
def test_retention_period_out_of_range_or_not_a_number(value):
    with pytest.raises(TransportConfigurationError, match="sqs_message_retention_period"):
        transport(sqs_message_retention_period=value)


def test_missing_boto3_is_a_dependency_error_naming_the_library(monkeypatch):
    monkeypatch.setattr(sqs_module, "HAS_BOTO3", False)
    monkeypatch.setattr(sqs_module, "BOTO3_IMPORT_ERROR", "ModuleNotFoundError: No module named 'boto3'")
    with pytest.raises(TransportDependencyError) as raised:
        with transport():
            pass
    assert raised.value.library == "boto3"


def test_class_is_what_open_transport_returns():
    assert isinstance(transport(), AmazonSqsTransport)


# -- queue operations (moto in-process) ------------------------------------------------------------------


def attributes(client, physical):
    url = client.get_queue_url(QueueName=physical)["QueueUrl"]
    return client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def queue_names(client):
    return [url.rsplit("/", 1)[1] for url in client.list_queues().get("QueueUrls", [])]


def test_ensure_check_mode_predicts_and_creates_nothing(aws):
    name = unique("error.log")
    with transport() as sqs:
        result = sqs.ensure(name, check_mode=True)
    physical = name.replace(".", "-")
    assert result["action"] == "created" and result["changed"] is True
    assert result["physical_name"] == physical
    assert result["before"]["exists"] is False
    assert result["after"]["properties"]["message_retention_period"] == 345600
    assert result["commands"] == [
        "CreateQueue QueueName=%s" % physical,
        "SetQueueAttributes QueueName=%s MessageRetentionPeriod=345600" % physical,
    ]
    assert result["notes"] == [
        "SQS deletes messages in '%s' after 345600 seconds (4 days), including failed messages waiting in an error "
        "queue; ServiceControl must ingest them before then." % physical
    ]
    assert physical not in queue_names(aws)


def test_ensure_creates_like_nservicebus_and_is_idempotent(aws):
    name = unique("Particular.ServiceControl")
    with transport() as sqs:
        predicted = sqs.ensure(name, check_mode=True)
        created = sqs.ensure(name)
        again = sqs.ensure(name)
        again_check = sqs.ensure(name, check_mode=True)
    physical = created["physical_name"]
    assert physical == name.replace(".", "-")
    assert predicted == created
    found = attributes(aws, physical)
    assert found["MessageRetentionPeriod"] == "345600"
    # Everything else stays at the SQS defaults: no FIFO, no delay, default visibility timeout.
    assert "FifoQueue" not in found
    assert found["DelaySeconds"] == "0"
    assert found["VisibilityTimeout"] == "30"
    for result in (again, again_check):
        assert result["action"] == "existed" and result["changed"] is False and result["commands"] == []
        assert result["before"] == result["after"] == created["after"]


def test_ensure_updates_a_different_retention(aws):
    physical = unique("audit")
    url = aws.create_queue(QueueName=physical)["QueueUrl"]
    aws.set_queue_attributes(QueueUrl=url, Attributes={"MessageRetentionPeriod": "86400"})
    with transport(sqs_message_retention_period=1209600) as sqs:
        check = sqs.ensure(physical, check_mode=True)
        assert attributes(aws, physical)["MessageRetentionPeriod"] == "86400"
        real = sqs.ensure(physical)
        again = sqs.ensure(physical)
    assert check == real
    assert real["action"] == "updated" and real["changed"] is True
    assert real["before"]["properties"]["message_retention_period"] == 86400
    assert real["after"]["properties"]["message_retention_period"] == 1209600
    assert real["commands"] == ["SetQueueAttributes QueueName=%s MessageRetentionPeriod=1209600" % physical]
    assert attributes(aws, physical)["MessageRetentionPeriod"] == "1209600"
    assert again["action"] == "existed"


def test_describe_and_depth_count_waiting_messages(aws):
    name = unique("error")
    with transport() as sqs:
        assert sqs.describe(name) == {
            "name": name,
            "physical_name": name,
            "exists": False,
            "depth": None,
            "properties": {},
        }
        assert sqs.depth(name) is None
        sqs.ensure(name)
        url = aws.get_queue_url(QueueName=name)["QueueUrl"]
        for body in ("one", "two", "three"):
            aws.send_message(QueueUrl=url, MessageBody=body)
        aws.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=300)
        described = sqs.describe(name)
        depth = sqs.depth(name)
    assert depth == 2
    assert described["exists"] is True and described["depth"] == 2
    assert described["properties"]["approximate_number_of_messages_not_visible"] == 1
    assert described["properties"]["approximate_number_of_messages_delayed"] == 0
    assert "error queue" in described["properties"]["message_retention_note"]


def test_delete_check_real_repeat(aws):
    name = unique("error_backup")
    with transport() as sqs:
        sqs.ensure(name)
        check = sqs.delete(name, check_mode=True)
        assert name in queue_names(aws)
        real = sqs.delete(name)
        again = sqs.delete(name)
        again_check = sqs.delete(name, check_mode=True)
    assert check == real
    assert real["action"] == "deleted" and real["changed"] is True
    assert real["commands"] == ["DeleteQueue QueueName=%s" % name]
    assert real["after"]["exists"] is False
    assert name not in queue_names(aws)
    for result in (again, again_check):
        assert result["action"] == "absent" and result["changed"] is False and result["commands"] == []


def test_bad_name_fails_before_any_call(aws):
    with transport() as sqs, pytest.raises(InvalidQueueNameError):
        sqs.ensure("q" * 81)
    assert queue_names(aws) == []


def test_unreachable_endpoint_is_a_transport_error_without_the_secret():
    sqs = transport(timeout=2, sqs_endpoint_url="http://127.0.0.1:9")
    with pytest.raises(TransportError) as raised:
        with sqs:
            sqs.describe("error")
    assert "GetQueueUrl" in str(raised.value) and "'error'" in str(raised.value)
    assert SECRET not in str(raised.value)


def test_using_the_transport_without_opening_it_is_an_error():
    with pytest.raises(TransportError, match="not open"):
        transport().describe("error")


# -- send ---------------------------------------------------------------------------------------------

PROBE = Message("6f1c2d3e", {"NServiceBus.MessageId": "6f1c2d3e", "NServiceBus.FailedQ": "Sales", "U": "é"}, b'{"a":1}')


def test_the_wrapped_transport_message_is_what_nservicebus_sends():
    request = sqs_module.send_message_request("https://sqs/q", PROBE)
    assert request == {
        "QueueUrl": "https://sqs/q",
        "MessageBody": '{"Body":"%s","S3BodyKey":null,"Headers":{"NServiceBus.MessageId":"6f1c2d3e",'
        '"NServiceBus.FailedQ":"Sales","U":"\\u00e9"}}' % base64.b64encode(b'{"a":1}').decode(),
        "MessageAttributes": {"NServiceBus.MessageId": {"DataType": "String", "StringValue": "6f1c2d3e"}},
    }
    assert sqs_module.message_size(request) == len(request["MessageBody"]) + len("NServiceBus.MessageId") + 6 + 8


def test_an_empty_body_and_a_missing_id_header_are_sent_as_nservicebus_sends_them():
    wrapped = json.loads(sqs_module.transport_message_json(Message("id-1", {"X": "1"}, b"")))
    assert wrapped == {
        "Body": "empty message",
        "S3BodyKey": None,
        "Headers": {"X": "1", "NServiceBus.MessageId": "id-1"},
    }


def test_send_puts_the_message_into_the_queue(aws):
    name = unique()
    aws.create_queue(QueueName=name)
    with transport() as sqs:
        dry = sqs.send(name, PROBE, check_mode=True)
        assert sqs.depth(name) == 0
        result = sqs.send(name, PROBE)
    url = aws.get_queue_url(QueueName=name)["QueueUrl"]
    (received,) = aws.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert received["MessageId"] == result["native_message_id"]
    assert dry["native_message_id"] is None and dry["commands"] == result["commands"]
    assert json.loads(received["Body"])["Headers"] == PROBE.headers
    assert base64.b64decode(json.loads(received["Body"])["Body"]) == PROBE.body
    assert received["MessageAttributes"] == {"NServiceBus.MessageId": {"StringValue": "6f1c2d3e", "DataType": "String"}}
    assert result["commands"] == [
        "SendMessage QueueName=%s MessageAttributes=NServiceBus.MessageId=6f1c2d3e (wrapped transport message, %d "
        "characters)" % (name, len(received["Body"]))
    ]


def test_send_to_a_missing_queue_or_above_the_size_limit_sends_nothing(aws):
    name = unique()
    with transport() as sqs, pytest.raises(TransportError, match="does not exist on AmazonSQS"):
        sqs.send(name, PROBE)
    aws.create_queue(QueueName=name)
    with transport() as sqs, pytest.raises(TransportError, match="stores the body in S3"):
        sqs.send(name, Message("big", {}, b"x" * (800 * 1024)))
    with transport() as sqs:
        assert sqs.depth(name) == 0


def test_do_not_wrap_is_noted_and_the_wrapped_format_is_sent(aws):
    name = unique()
    aws.create_queue(QueueName=name)
    with transport(CONNECTION_STRING + ";DoNotWrapOutgoingMessages=true") as sqs:
        result = sqs.send(name, PROBE)
    assert "wrapped format although the connection string sets DoNotWrapOutgoingMessages=true" in result["notes"][0]
