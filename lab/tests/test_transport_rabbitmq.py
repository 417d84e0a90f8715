"""RabbitMQ transport against the real broker: declarations, AMQP properties and queue behaviour."""

from __future__ import annotations

import threading
import urllib.parse
import uuid

import httpx
import pika
import pytest

from lab.transports import LabMessage, QueueNotFoundError, open_lab_transport
from lab.transports.rabbitmq import parse_connection_string

pytestmark = pytest.mark.rabbitmq

ALL_TYPES = [
    "RabbitMQ.QuorumConventionalRouting",
    "RabbitMQ.ClassicConventionalRouting",
    "RabbitMQ.QuorumDirectRouting",
    "RabbitMQ.ClassicDirectRouting",
]


def _headers(n: int = 1) -> dict[str, str]:
    return {
        "NServiceBus.MessageId": "msg-%d-%s" % (n, uuid.uuid4()),
        "NServiceBus.EnclosedMessageTypes": "Sales.PlaceOrder, Sales.Messages, Version=1.0.0.0, Culture=neutral",
        "NServiceBus.ContentType": "application/json",
        "NServiceBus.CorrelationId": "corr-%d" % n,
        "NServiceBus.ReplyToAddress": "Sales",
        "NServiceBus.FailedQ": "Sales",
    }


class Broker:
    """Raw access to the broker (pika + management API), independent of the code under test."""

    def __init__(self, connection_string: str, management_url: str) -> None:
        settings = parse_connection_string(connection_string)
        self.vhost = settings.virtual_host
        self.connection = pika.BlockingConnection(settings.parameters())
        self.http = httpx.Client(base_url=management_url, auth=("guest", "guest"), timeout=10)
        self.created: list[str] = []

    def api(self, path: str):
        response = self.http.get(path % urllib.parse.quote(self.vhost, safe=""))
        return response

    def cleanup(self) -> None:
        channel = self.connection.channel()
        for name in self.created:
            channel.queue_delete(name)
            channel.exchange_delete(name)
        self.connection.close()
        self.http.close()


@pytest.fixture
def broker(rabbitmq_connection_string, rabbitmq_management_url):
    raw = Broker(rabbitmq_connection_string, rabbitmq_management_url)
    yield raw
    raw.cleanup()


def _queue_name(broker: Broker, stem: str) -> str:
    name = "lab-test-%s-%s" % (stem, uuid.uuid4().hex[:8])
    broker.created.append(name)
    return name


@pytest.mark.parametrize("transport_type", ALL_TYPES)
def test_create_queue_declares_like_nservicebus(transport_type, broker, rabbitmq_connection_string):
    quorum = "Quorum" in transport_type
    conventional = "Conventional" in transport_type
    name = _queue_name(broker, "decl")
    with open_lab_transport(transport_type, rabbitmq_connection_string) as transport:
        assert not transport.queue_exists(name)
        transport.create_queue(name)
        transport.create_queue(name)  # idempotent
        assert transport.queue_exists(name)

    queue = broker.api("/api/queues/%s/" + name).json()
    assert queue["durable"] is True
    assert queue["auto_delete"] is False
    assert queue["exclusive"] is False
    assert queue["type"] == ("quorum" if quorum else "classic")
    assert queue["arguments"] == ({"x-queue-type": "quorum"} if quorum else {})

    exchange = broker.api("/api/exchanges/%s/" + name)
    bindings = [b for b in broker.api("/api/queues/%s/" + name + "/bindings").json() if b["source"] != ""]
    if conventional:
        assert exchange.status_code == 200
        body = exchange.json()
        assert (body["type"], body["durable"], body["auto_delete"], body["internal"], body["arguments"]) == (
            "fanout",
            True,
            False,
            False,
            {},
        )
        assert [(b["source"], b["destination"], b["routing_key"]) for b in bindings] == [(name, name, "")]
    else:
        assert exchange.status_code == 404
        assert bindings == []


@pytest.mark.parametrize("transport_type", ["RabbitMQ.ClassicConventionalRouting", "RabbitMQ.QuorumDirectRouting"])
def test_send_sets_native_properties(transport_type, broker, rabbitmq_connection_string):
    name = _queue_name(broker, "props")
    headers = _headers()
    with open_lab_transport(transport_type, rabbitmq_connection_string) as transport:
        transport.create_queue(name)
        transport.send(name, LabMessage(headers=dict(headers), body=b'{"OrderId":1}'))

    channel = broker.connection.channel()
    method, properties, body = channel.basic_get(name, auto_ack=True)
    assert method is not None
    assert method.exchange == (name if "Conventional" in transport_type else "")
    assert method.routing_key == ("" if "Conventional" in transport_type else name)
    assert body == b'{"OrderId":1}'
    assert properties.message_id == headers["NServiceBus.MessageId"]
    assert properties.delivery_mode == 2
    assert properties.content_type == "application/json"
    assert properties.correlation_id == "corr-1"
    assert properties.reply_to == "Sales"
    assert properties.type == "Sales.PlaceOrder"
    # Quorum queues add x-delivery-count on delivery; everything else is what was sent, as strings.
    received = {k: v.decode() if isinstance(v, bytes) else v for k, v in properties.headers.items()}
    received.pop("x-delivery-count", None)
    assert received == headers


def test_defaults_when_headers_are_absent(broker, rabbitmq_connection_string):
    name = _queue_name(broker, "defaults")
    with open_lab_transport("RabbitMQ.ClassicDirectRouting", rabbitmq_connection_string) as transport:
        transport.create_queue(name)
        message = LabMessage(headers={"NServiceBus.Transport.RabbitMQ.UseNonPersistentDelivery": ""}, body=b"x")
        transport.send(name, message)
    _, properties, _ = broker.connection.channel().basic_get(name, auto_ack=True)
    assert properties.content_type == "application/octet-stream"
    assert properties.delivery_mode == 1
    assert properties.message_id  # every message gets an id, in the property, not as an added header
    assert "NServiceBus.MessageId" not in properties.headers
    assert "NServiceBus.Transport.RabbitMQ.UseNonPersistentDelivery" not in properties.headers


def test_forwarding_probe_keeps_an_empty_headers_table(broker, rabbitmq_connection_string):
    # ServiceControl's probe: id 000...0, no headers at all (ErrorIngestor.VerifyCanReachForwardingAddress).
    name = _queue_name(broker, "probe")
    with open_lab_transport("RabbitMQ.QuorumConventionalRouting", rabbitmq_connection_string) as transport:
        transport.create_queue(name)
        transport.send(name, LabMessage(headers={}, body=b"", native_id="0" * 32))
    _, properties, body = broker.connection.channel().basic_get(name, auto_ack=True)
    assert properties.message_id == "0" * 32
    # Only the broker's own x-delivery-count (quorum queues) may appear; nothing was sent.
    assert set(properties.headers or {}) <= {"x-delivery-count"}
    assert body == b""


def test_reads_a_natively_published_message(broker, rabbitmq_connection_string):
    name = _queue_name(broker, "native")
    with open_lab_transport("RabbitMQ.QuorumConventionalRouting", rabbitmq_connection_string) as transport:
        transport.create_queue(name)
        channel = broker.connection.channel()
        channel.confirm_delivery()  # the message is on the queue once publish returns
        channel.basic_publish(
            "",
            name,
            b"<x/>",
            pika.BasicProperties(message_id="native-1", headers={"NServiceBus.FailedQ": "Billing", "x-death": []}),
        )
        received = transport.receive(name)
        assert received.headers == {"NServiceBus.FailedQ": "Billing", "NServiceBus.MessageId": "native-1"}
        assert received.body == b"<x/>"
        transport.complete(received)
        assert transport.depth(name) == 0


@pytest.mark.parametrize("transport_type", ["RabbitMQ.ClassicConventionalRouting", "RabbitMQ.QuorumDirectRouting"])
def test_receive_complete_abandon_depth(transport_type, broker, rabbitmq_connection_string):
    name = _queue_name(broker, "flow")
    with open_lab_transport(transport_type, rabbitmq_connection_string) as transport:
        transport.create_queue(name)
        sent = [_headers(n) for n in range(3)]
        for headers in sent:
            transport.send(name, LabMessage(headers=headers, body=b"b"))
        assert transport.depth(name) == 3

        first = transport.receive(name)
        assert first.message_id == sent[0]["NServiceBus.MessageId"]
        assert transport.depth(name) == 3  # unacknowledged still counts
        transport.abandon(first)
        assert transport.depth(name) == 3

        seen = []
        while (received := transport.receive(name)) is not None:
            seen.append(received.message_id)
            transport.complete(received)
        assert sorted(seen) == sorted(h["NServiceBus.MessageId"] for h in sent)
        assert transport.depth(name) == 0
        with pytest.raises(ValueError, match="already completed"):
            transport.complete(received or first)


def test_send_to_missing_queue_fails(broker, rabbitmq_connection_string):
    missing = "lab-test-missing-%s" % uuid.uuid4().hex[:8]
    for transport_type in ("RabbitMQ.ClassicConventionalRouting", "RabbitMQ.ClassicDirectRouting"):
        with open_lab_transport(transport_type, rabbitmq_connection_string) as transport:
            with pytest.raises(QueueNotFoundError, match="does not exist"):
                transport.send(missing, LabMessage(headers=_headers()))
            with pytest.raises(QueueNotFoundError):
                transport.depth(missing)
            with pytest.raises(QueueNotFoundError):
                transport.receive(missing)
            # The connection stays usable after the broker refused.
            assert transport.queue_exists(missing) is False


def test_concurrent_receivers_never_get_the_same_message(broker, rabbitmq_connection_string):
    name = _queue_name(broker, "compete")
    total = 100
    with open_lab_transport("RabbitMQ.QuorumDirectRouting", rabbitmq_connection_string) as sender:
        sender.create_queue(name)
        for n in range(total):
            sender.send(name, LabMessage(headers=_headers(n)))

    buckets: list[list[str]] = [[] for _ in range(3)]

    def drain(bucket: list[str]) -> None:
        with open_lab_transport("RabbitMQ.QuorumDirectRouting", rabbitmq_connection_string) as receiver:
            while (received := receiver.receive(name)) is not None:
                bucket.append(received.message_id)
                receiver.complete(received)

    threads = [threading.Thread(target=drain, args=(bucket,)) for bucket in buckets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [message_id for bucket in buckets for message_id in bucket]
    assert len(everything) == total
    assert len(set(everything)) == total


def test_declaring_an_existing_queue_of_the_other_type_fails_clearly(broker, rabbitmq_connection_string):
    name = _queue_name(broker, "clash")
    with open_lab_transport("RabbitMQ.ClassicDirectRouting", rabbitmq_connection_string) as transport:
        transport.create_queue(name)
    with open_lab_transport("RabbitMQ.QuorumDirectRouting", rabbitmq_connection_string) as transport:
        with pytest.raises(RuntimeError, match="refused to declare queue"):
            transport.create_queue(name)


@pytest.mark.parametrize(
    ("connection_string", "expected"),
    [
        ("host=broker;port=5673;virtualHost=v1;userName=u;password=p", ("broker", 5673, "v1", "u", "p", False)),
        ("host=broker:5999;username=u", ("broker", 5999, "/", "u", "guest", False)),
        (
            "Host=broker;UseTls=true;ManagementApiUrl=https://broker:15671",
            ("broker", 5671, "/", "guest", "guest", True),
        ),
        ("amqp://u:p%40ss@broker:5674/v%2F2", ("broker", 5674, "v/2", "u", "p@ss", False)),
        ("amqps://broker", ("broker", 5671, "/", "guest", "guest", True)),
    ],
)
def test_connection_string_forms(connection_string, expected):
    settings = parse_connection_string(connection_string)
    got = (settings.host, settings.port, settings.virtual_host, settings.username, settings.password, settings.use_tls)
    assert got == expected


def test_connection_string_without_host_is_refused():
    with pytest.raises(ValueError, match="'host' value must be supplied"):
        parse_connection_string("username=u;password=p")
