# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Transport.send() against the real services of tests/endpoints.env and the real filesystem (plain pytest).

Each message is built by the module's builder, sent in check mode (nothing may arrive) and for real, then read back
with the broker's own client (pika, psycopg, boto3, azure-storage-queue, the filesystem), never with the transport,
and compared with what NServiceBus would have written. Queue names carry a uuid suffix: other runs share the services.
Under CI=true an unreachable service fails the test; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.parse
import uuid

import boto3
import pika
import psycopg
import psycopg.sql
import pytest
from azure.storage.queue import QueueServiceClient
from functional_support import connect_postgresql, endpoint, require_reachable

from ansible_collections.servicecontrol.platform.plugins.module_utils._messages import build_message
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import TransportError, open_transport
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_postgresql import (
    parse_connection_string,
)


def suffix():
    return uuid.uuid4().hex[:8]


def probe(kind="failed", **options):
    return build_message(kind, endpoint="Sales", body='{"probe":"ünïcode/ok"}', **options)


def send_twice(transport, name, message):
    """Check mode first (returns nothing sent), then for real."""
    dry = transport.send(name, message, check_mode=True)
    assert dry["native_message_id"] in (None, message.message_id)
    return dry, transport.send(name, message)


# -- RabbitMQ ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rabbitmq():
    require_reachable(endpoint("SCTEST_RABBITMQ_MANAGEMENT_URL"), "RabbitMQ management API")
    require_reachable("amqp://127.0.0.1:5672", "RabbitMQ")
    connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672))
    yield connection.channel()
    connection.close()


@pytest.mark.parametrize("transport_type", ["RabbitMQ.QuorumConventionalRouting", "RabbitMQ.ClassicDirectRouting"])
def test_rabbitmq_message_is_what_nservicebus_publishes(rabbitmq, transport_type):
    name = "error-%s" % suffix()
    message = probe()
    with open_transport(transport_type, endpoint("SCTEST_RABBITMQ_CONNECTION_STRING"), {"timeout": 10}) as rabbit:
        rabbit.ensure(name)
        try:
            _dry, result = send_twice(rabbit, name, message)
            method, properties, body = rabbitmq.basic_get(name, auto_ack=True)
            assert rabbitmq.basic_get(name, auto_ack=True) == (None, None, None), "check mode sent a message"
        finally:
            rabbit.delete(name)
    assert method.routing_key == name and method.exchange == ""
    assert body == message.body
    assert properties.message_id == message.message_id == result["native_message_id"]
    assert properties.delivery_mode == 2
    assert properties.content_type == "application/json"
    assert properties.correlation_id == message.headers["NServiceBus.CorrelationId"]
    assert properties.reply_to == "Sales"
    assert properties.type == "ServiceControl.Platform.ProbeMessage"
    # Every header is an AMQP string (pika hands them back as str); quorum queues add x-delivery-count on delivery,
    # which the NServiceBus receiver removes (docs/reference/transports.md §1.3).
    received = {key: value for key, value in properties.headers.items() if key != "x-delivery-count"}
    assert received == message.headers


def test_rabbitmq_send_to_a_missing_queue_fails(rabbitmq):
    with open_transport("RabbitMQ.QuorumDirectRouting", endpoint("SCTEST_RABBITMQ_CONNECTION_STRING")) as rabbit:
        with pytest.raises(TransportError, match="does not exist"):
            rabbit.send("missing-%s" % suffix(), probe())


# -- PostgreSQL -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres():
    connection = connect_postgresql(parse_connection_string(endpoint("SCTEST_POSTGRESQL_CONNECTION_STRING")))
    schema = "sc_message_%s" % suffix()
    connection.execute('CREATE SCHEMA "%s"' % schema)
    yield connection, schema
    connection.execute('DROP SCHEMA "%s" CASCADE' % schema)
    connection.close()


def test_postgresql_row_is_what_nservicebus_inserts(postgres):
    admin, schema = postgres
    message = probe(failed_queue='"public"."Sales"')
    connection_string = endpoint("SCTEST_POSTGRESQL_CONNECTION_STRING") + ";Queue Schema=" + schema
    with open_transport("PostgreSQL", connection_string, {"timeout": 10}) as database:
        database.ensure("error.log")
        table = psycopg.sql.Identifier(schema, "error.log")
        dry = database.send("error.log", message, check_mode=True)
        assert admin.execute(psycopg.sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone() == (0,)
        result = database.send("error.log", message)
    query = psycopg.sql.SQL("SELECT id, expires, headers, body, seq FROM {}").format(table)
    ((row_id, expires, headers, body, seq),) = admin.execute(query).fetchall()
    assert dry["native_message_id"] is None
    assert str(row_id) == result["native_message_id"] != message.message_id
    assert expires is None
    assert json.loads(headers) == message.headers
    assert '"NServiceBus.FailedQ":"\\"public\\".\\"Sales\\""' in headers
    assert "\\/" in headers and "/" not in headers.replace("\\/", "")
    assert bytes(body) == message.body
    assert seq == 1


# -- Amazon SQS (moto server) -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqs():
    url = endpoint("SCTEST_SQS_ENDPOINT_URL")
    require_reachable(url, "moto (SQS)")
    client = boto3.client(
        "sqs", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    yield client, url
    client.close()


def test_sqs_message_is_the_wrapped_transport_message(sqs):
    client, url = sqs
    name = "error.log-%s" % suffix()
    message = probe("audit")
    options = {"sqs_endpoint_url": url, "timeout": 10}
    with open_transport("AmazonSQS", endpoint("SCTEST_SQS_CONNECTION_STRING"), options) as queues:
        queues.ensure(name)
        physical = queues.physical_name(name)
        try:
            _dry, result = send_twice(queues, name, message)
            queue_url = client.get_queue_url(QueueName=physical)["QueueUrl"]
            received = client.receive_message(QueueUrl=queue_url, MessageAttributeNames=["All"], MaxNumberOfMessages=10)
        finally:
            queues.delete(name)
    (native,) = received["Messages"]
    assert native["MessageId"] == result["native_message_id"]
    assert native["MessageAttributes"] == {
        "NServiceBus.MessageId": {"StringValue": message.message_id, "DataType": "String"}
    }
    wrapped = json.loads(native["Body"])
    assert list(wrapped) == ["Body", "S3BodyKey", "Headers"]
    assert wrapped["S3BodyKey"] is None
    assert wrapped["Headers"] == message.headers
    assert base64.b64decode(wrapped["Body"]) == message.body


# -- Azure Storage Queues (Azurite) ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def azurite():
    connection_string = endpoint("SCTEST_AZURITE_CONNECTION_STRING")
    parts = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)
    require_reachable(parts["QueueEndpoint"], "Azurite (queue service)")
    service = QueueServiceClient.from_connection_string(connection_string, retry_total=0)
    yield service, connection_string
    service.close()


def test_azure_storage_queue_message_is_the_base64_message_wrapper(azurite):
    service, connection_string = azurite
    name = "error-%s" % suffix()
    message = probe()
    with open_transport("AzureStorageQueue", connection_string, {"timeout": 10}) as queues:
        queues.ensure(name)
        try:
            _dry, result = send_twice(queues, name, message)
            received = list(service.get_queue_client(name).receive_messages(max_messages=10))
        finally:
            queues.delete(name)
    (native,) = received
    assert native.id == result["native_message_id"]
    # The dispatcher's 30 days (Azurite reports the expiry; allow for the clock).
    assert 29 * 86400 < (native.expires_on - native.inserted_on).total_seconds() <= 30 * 86400
    wrapper = json.loads(base64.b64decode(native.content))
    assert wrapper["Id"] == message.message_id
    assert wrapper["MessageIntent"] == 1
    assert wrapper["CorrelationId"] == message.headers["NServiceBus.CorrelationId"]
    assert wrapper["ReplyToAddress"] == "Sales"
    assert wrapper["Headers"] == message.headers
    assert base64.b64decode(wrapper["Body"]) == message.body


# -- Learning transport (the filesystem) ---------------------------------------------------------------


def test_learning_files_are_what_the_dispatcher_writes(tmp_path):
    message = probe()
    root = tmp_path / ".learningtransport"
    with open_transport("LearningTransport", str(root)) as learning:
        learning.ensure("error")
        _dry, result = send_twice(learning, "error", message)
    native = result["native_message_id"]
    assert sorted(os.listdir(root / "error")) == [".bodies", native + ".metadata.txt"]
    assert os.listdir(root / "error" / ".bodies") == [native + ".body.txt"]
    assert (root / "error" / ".bodies" / (native + ".body.txt")).read_bytes() == message.body
    metadata = (root / "error" / (native + ".metadata.txt")).read_bytes()
    assert metadata.startswith(b'{\r\n  "NServiceBus.MessageId": ')
    assert json.loads(metadata) == message.headers


def test_every_live_endpoint_is_loopback():
    # A test that sends messages must never reach a real broker by accident.
    for key in ("SCTEST_RABBITMQ_MANAGEMENT_URL", "SCTEST_SQS_ENDPOINT_URL"):
        assert urllib.parse.urlparse(endpoint(key)).hostname == "127.0.0.1"
