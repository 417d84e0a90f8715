# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AmazonSqsTransport against the moto server and AzureStorageQueueTransport against Azurite (plain pytest).

Endpoints come from tests/endpoints.env. Every queue name carries a uuid suffix (other test runs share the
services). The checks read the broker with the SDKs directly, not with the transport's describe().
Under CI=true an unreachable service fails the test; otherwise it is skipped with the reason.
"""

from __future__ import annotations

import time
import uuid

import boto3
import pytest
from azure.storage.queue import QueueServiceClient
from functional_support import endpoint, require_reachable

from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    TransportError,
    open_transport,
)

SERVICECONTROL_QUEUES = [
    "error",
    "audit",
    "error_backup",
    "audit_backup",
    "error.log",
    "Particular.ServiceControl.Audit",
]


def suffix():
    return uuid.uuid4().hex[:8]


# -- Amazon SQS (moto server) -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqs_settings():
    url = endpoint("SCTEST_SQS_ENDPOINT_URL")
    require_reachable(url, "moto (SQS)")
    return endpoint("SCTEST_SQS_CONNECTION_STRING"), url


@pytest.fixture(scope="module")
def sqs_client(sqs_settings):
    url = sqs_settings[1]
    client = boto3.client(
        "sqs", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    yield client
    client.close()


def sqs_transport(sqs_settings, prefix=None, **options):
    connection_string, url = sqs_settings
    if prefix:
        connection_string += ";QueueNamePrefix=%s" % prefix
    return open_transport("AmazonSQS", connection_string, dict(options, sqs_endpoint_url=url, timeout=10))


def sqs_attributes(client, physical):
    url = client.get_queue_url(QueueName=physical)["QueueUrl"]
    return client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def sqs_exists(client, physical):
    try:
        client.get_queue_url(QueueName=physical)
    except client.exceptions.QueueDoesNotExist:
        return False
    return True


def test_sqs_servicecontrol_queues_lifecycle(sqs_settings, sqs_client):
    prefix = "sc%s-" % suffix()
    names = SERVICECONTROL_QUEUES
    expected = {
        "error": prefix + "error",
        "audit": prefix + "audit",
        "error_backup": prefix + "error_backup",
        "audit_backup": prefix + "audit_backup",
        "error.log": prefix + "error-log",
        "Particular.ServiceControl.Audit": prefix + "Particular-ServiceControl-Audit",
    }
    with sqs_transport(sqs_settings, prefix=prefix) as sqs:
        assert sqs.validate_names(names) == expected
        for name in names:
            check = sqs.ensure(name, check_mode=True)
            assert check["changed"] is True and not sqs_exists(sqs_client, expected[name])
            real = sqs.ensure(name)
            assert real == check
            assert sqs_attributes(sqs_client, expected[name])["MessageRetentionPeriod"] == "345600"
            for check_mode in (True, False):
                again = sqs.ensure(name, check_mode=check_mode)
                assert again["changed"] is False and again["action"] == "existed"
        for name in names:
            check = sqs.delete(name, check_mode=True)
            assert sqs_exists(sqs_client, expected[name])
            assert sqs.delete(name) == check
            assert not sqs_exists(sqs_client, expected[name])
            assert sqs.delete(name)["changed"] is False


def test_sqs_retention_update_and_depth(sqs_settings, sqs_client):
    name = "audit-" + suffix()
    with sqs_transport(sqs_settings) as sqs:
        sqs.ensure(name)
    with sqs_transport(sqs_settings, sqs_message_retention_period=1209600) as sqs:
        result = sqs.ensure(name)
        assert result["action"] == "updated"
        assert result["before"]["properties"]["message_retention_period"] == 345600
        assert sqs_attributes(sqs_client, name)["MessageRetentionPeriod"] == "1209600"
        url = sqs_client.get_queue_url(QueueName=name)["QueueUrl"]
        sqs_client.send_message(QueueUrl=url, MessageBody="a")
        sqs_client.send_message(QueueUrl=url, MessageBody="b")
        assert sqs.depth(name) == 2
        assert sqs.describe(name)["depth"] == 2
        sqs.delete(name)


def test_sqs_too_long_name_creates_nothing(sqs_settings, sqs_client):
    name = "x" * 73 + suffix()
    with sqs_transport(sqs_settings) as sqs, pytest.raises(InvalidQueueNameError, match="80 characters"):
        sqs.ensure(name)
    assert not sqs_exists(sqs_client, name[:80])


# -- Azure Storage Queues (Azurite) ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def azurite_connection_string():
    connection_string = endpoint("SCTEST_AZURITE_CONNECTION_STRING")
    queue_endpoint = next(p.split("=", 1)[1] for p in connection_string.split(";") if p.startswith("QueueEndpoint="))
    require_reachable(queue_endpoint, "Azurite (queue service)")
    return connection_string


@pytest.fixture(scope="module")
def azurite(azurite_connection_string):
    service = QueueServiceClient.from_connection_string(azurite_connection_string, retry_total=0)
    yield service
    service.close()


def azurite_queue_names(service, prefix):
    return sorted(queue.name for queue in service.list_queues(name_starts_with=prefix))


def test_azurite_servicecontrol_queues_lifecycle(azurite_connection_string, azurite):
    tag = suffix()
    names = ["%s-%s" % (name, tag) for name in SERVICECONTROL_QUEUES]
    expected = {
        "error-%s" % tag: "error-%s" % tag,
        "audit-%s" % tag: "audit-%s" % tag,
        "error_backup-%s" % tag: "error-backup-%s" % tag,
        "audit_backup-%s" % tag: "audit-backup-%s" % tag,
        "error.log-%s" % tag: "error-log-%s" % tag,
        "Particular.ServiceControl.Audit-%s" % tag: "particular-servicecontrol-audit-%s" % tag,
    }
    connection_string = azurite_connection_string + "Subscriptions Table=subscriptions"
    with open_transport("AzureStorageQueue", connection_string, {"timeout": 10}) as queues:
        assert queues.validate_names(names) == expected
        for name in names:
            check = queues.ensure(name, check_mode=True)
            assert check["changed"] is True
            assert expected[name] not in azurite_queue_names(azurite, expected[name])
            assert queues.ensure(name) == check
            assert queues.ensure(name)["changed"] is False
            assert queues.ensure(name, check_mode=True)["changed"] is False
        for name in names:
            found = azurite.get_queue_client(expected[name]).get_queue_properties()
            assert found.metadata == {}
        for name in names:
            check = queues.delete(name, check_mode=True)
            assert azurite_queue_names(azurite, expected[name]) == [expected[name]]
            assert queues.delete(name) == check
            assert queues.delete(name)["changed"] is False
    for physical in expected.values():
        assert physical not in azurite_queue_names(azurite, physical)


def test_azurite_long_name_is_hashed_and_accepted(azurite_connection_string, azurite):
    name = "Particular.ServiceControl.Monitoring.AnEndpointNameLongEnoughToBeHashed." + suffix()
    with open_transport("AzureStorageQueue", azurite_connection_string, {"timeout": 10}) as queues:
        result = queues.ensure(name)
        physical = result["physical_name"]
        assert len(physical) <= 63 and physical.startswith("particular-servicecontrol")
        assert azurite_queue_names(azurite, physical) == [physical]
        azurite.get_queue_client(physical).send_message("hello")
        assert queues.depth(name) == 1
        assert queues.describe(name)["depth"] == 1
        queues.delete(name)
    assert azurite_queue_names(azurite, physical) == []


def test_azurite_dead_endpoint_fails_fast(azurite_connection_string):
    dead = azurite_connection_string.replace("127.0.0.1:10001", "127.0.0.1:9")
    started = time.monotonic()
    with pytest.raises(TransportError, match="'error'"):
        with open_transport("AzureStorageQueue", dead, {"timeout": 3}) as queues:
            queues.describe("error")
    # The SDK's default retry policy would take about 87 s here.
    assert time.monotonic() - started < 15
