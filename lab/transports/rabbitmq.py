"""RabbitMQ transport (NServiceBus.Transport.RabbitMQ), declared and published exactly as it does.

docs/reference/transports.md §1: queues are durable, classic (no arguments) or quorum (``x-queue-type=quorum``);
the conventional topology adds a same-name durable fanout exchange bound with key ``""`` and
publishes to it; the direct topology publishes to the default exchange with the queue name as
routing key. Publishing is mandatory with publisher confirms, so sending to a queue (or exchange)
that does not exist fails, as it does for NServiceBus.

One connection per object; pika's BlockingConnection is not thread-safe, so open one per thread.
AMQP heartbeats are off unless the connection string sets ``requestedHeartbeat``: a blocking pika
connection only answers heartbeats while it is being used, and lab processes may idle for long.
Depth counts the queue's ready messages plus the ones this object has received and not settled;
messages another connection holds unacknowledged are not visible to it (as with a passive declare).
"""

from __future__ import annotations

import time
import urllib.parse
import uuid
from dataclasses import dataclass

import pika
import pika.exceptions
import pika.spec

from lab.transports import QueueNotFoundError, parse_key_value_connection_string
from lab.transports.base import LabMessage, LabTransport

#: TransportType name -> (quorum queues?, conventional routing?)
TOPOLOGIES = {
    "RabbitMQ.QuorumConventionalRouting": (True, True),
    "RabbitMQ.ClassicConventionalRouting": (False, True),
    "RabbitMQ.QuorumDirectRouting": (True, False),
    "RabbitMQ.ClassicDirectRouting": (False, False),
}

DEFAULT_CONTENT_TYPE = "application/octet-stream"
NON_PERSISTENT_HEADER = "NServiceBus.Transport.RabbitMQ.UseNonPersistentDelivery"
DELAY_HEADER = "NServiceBus.Transport.RabbitMQ.DelayInSeconds"
# Broker bookkeeping the NServiceBus receiver removes before handing headers on.
_BROKER_HEADERS = ("x-death", "x-delivery-count", DELAY_HEADER)
_NOT_FOUND = 404
#: Seconds abandon() waits for the broker to show a requeued message as ready again.
REQUEUE_VISIBLE_TIMEOUT = 2.0


@dataclass(frozen=True)
class ConnectionSettings:
    host: str
    port: int
    virtual_host: str
    username: str
    password: str = ""
    use_tls: bool = False
    heartbeat: int = 0

    def parameters(self) -> pika.ConnectionParameters:
        ssl_options = None
        if self.use_tls:
            import ssl  # noqa: PLC0415 - only needed for TLS brokers

            ssl_options = pika.SSLOptions(ssl.create_default_context(), self.host)
        return pika.ConnectionParameters(
            host=self.host,
            port=self.port,
            virtual_host=self.virtual_host,
            credentials=pika.PlainCredentials(self.username, self.password),
            heartbeat=self.heartbeat,
            ssl_options=ssl_options,
            connection_attempts=1,
            client_properties={"connection_name": "servicecontrol.platform lab"},
        )


def _as_bool(key: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError("'%s' is not a valid Boolean value for the '%s' connection string option." % (value, key))


def _as_int(key: str, value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError(
            "'%s' is not a valid Int32 value for the '%s' connection string option." % (value, key)
        ) from None


def parse_connection_string(connection_string: str) -> ConnectionSettings:
    """ServiceControl's RabbitMQ connection string: an ``amqp[s]://`` URI or ``host=..;port=..;...``.

    ServiceControl-only options (ManagementApiUrl, ValidateDeliveryLimits, ...) are accepted and ignored.
    """
    text = (connection_string or "").strip()
    if text.lower().startswith(("amqp://", "amqps://")):
        url = urllib.parse.urlsplit(text)
        tls = url.scheme.lower() == "amqps"
        path = url.path[1:] if url.path.startswith("/") else url.path
        return ConnectionSettings(
            host=url.hostname or "localhost",
            port=url.port or (5671 if tls else 5672),
            virtual_host=urllib.parse.unquote(path) if path else "/",
            username=urllib.parse.unquote(url.username) if url.username else "guest",
            password=urllib.parse.unquote(url.password) if url.password is not None else "guest",
            use_tls=tls,
        )
    pairs = parse_key_value_connection_string(text)
    if not pairs.get("host"):
        raise ValueError("Invalid RabbitMQ connection string: 'host' value must be supplied, e.g. \"host=myServer\".")
    use_tls = _as_bool("useTls", pairs["usetls"]) if "usetls" in pairs else False
    port = _as_int("port", pairs["port"]) if "port" in pairs else (5671 if use_tls else 5672)
    host_and_port = pairs["host"].split(",")
    if len(host_and_port) > 1:
        raise ValueError("Multiple hosts are not supported in the RabbitMQ connection string 'host' option.")
    host, _, host_port = host_and_port[0].partition(":")
    if host_port:
        port = _as_int("host", host_port)
    return ConnectionSettings(
        host=host.strip(),
        port=port,
        virtual_host=pairs.get("virtualhost", "/"),
        username=pairs.get("username", "guest"),
        password=pairs.get("password", "guest"),
        use_tls=use_tls,
        heartbeat=_as_int("requestedHeartbeat", pairs["requestedheartbeat"]) if "requestedheartbeat" in pairs else 0,
    )


def basic_properties(headers: dict[str, str], message_id: str | None = None) -> pika.BasicProperties:
    """AMQP properties NServiceBus sets for an outgoing message (docs/reference/transports.md §1.3).

    The message id travels in the ``message_id`` property; a message whose headers lack NServiceBus.MessageId
    (ServiceControl's forwarding probe) keeps an empty headers table.
    """
    headers = dict(headers)
    persistent = headers.pop(NON_PERSISTENT_HEADER, None) is None
    message_type = None
    enclosed = headers.get("NServiceBus.EnclosedMessageTypes")
    if enclosed is not None:
        message_type = enclosed.split(",", 1)[0]
    return pika.BasicProperties(
        message_id=headers.get("NServiceBus.MessageId") or message_id or str(uuid.uuid4()),
        headers={key: str(value) for key, value in headers.items()},
        delivery_mode=pika.DeliveryMode.Persistent if persistent else pika.DeliveryMode.Transient,
        content_type=headers.get("NServiceBus.ContentType") or DEFAULT_CONTENT_TYPE,
        correlation_id=headers.get("NServiceBus.CorrelationId"),
        reply_to=headers.get("NServiceBus.ReplyToAddress"),
        type=message_type,
    )


def headers_from_properties(properties: pika.BasicProperties) -> dict[str, str]:
    """NServiceBus headers of a received message: the headers table as strings, broker extras removed."""
    headers: dict[str, str] = {}
    for key, value in (properties.headers or {}).items():
        if key in _BROKER_HEADERS or key.startswith("x-first-death-"):
            continue
        headers[key] = value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else str(value)
    if properties.message_id and "NServiceBus.MessageId" not in headers:
        headers["NServiceBus.MessageId"] = properties.message_id
    return headers


@dataclass
class _Receipt:
    queue: str
    channel: object
    delivery_tag: int


class RabbitMQTransport(LabTransport):
    def __init__(self, transport_type: str, connection_string: str) -> None:
        if transport_type not in TOPOLOGIES:
            raise ValueError(
                "Unknown RabbitMQ TransportType %r; expected one of %s." % (transport_type, sorted(TOPOLOGIES))
            )
        self.transport_type = transport_type
        self.quorum, self.conventional = TOPOLOGIES[transport_type]
        self.settings = parse_connection_string(connection_string)
        try:
            self._connection = pika.BlockingConnection(self.settings.parameters())
        except pika.exceptions.AMQPConnectionError as error:
            raise ConnectionError(
                "Cannot connect to RabbitMQ at %s:%s (virtual host %r): %s"
                % (self.settings.host, self.settings.port, self.settings.virtual_host, type(error).__name__)
            ) from None
        self._publish_channel = None
        # One receive channel per queue: a broker error on one queue closes only that channel,
        # and with it would return that channel's unacknowledged messages.
        self._receive_channels: dict[str, object] = {}
        self._unacked: dict[str, set[int]] = {}

    # -- channels -----------------------------------------------------------------------------
    def _publisher(self):
        if self._publish_channel is None or not self._publish_channel.is_open:
            self._publish_channel = self._connection.channel()
            self._publish_channel.confirm_delivery()
        return self._publish_channel

    def _receiver(self, queue: str):
        channel = self._receive_channels.get(queue)
        if channel is None or not channel.is_open:
            channel = self._connection.channel()
            self._receive_channels[queue] = channel
            self._unacked[queue] = set()  # the broker requeued whatever the old channel held
        return channel

    def _passive_declare(self, queue: str):
        """The queue's declare-ok frame, or None if it does not exist (uses a throwaway channel,
        since the broker closes a channel on a failed passive declare)."""
        channel = self._connection.channel()
        try:
            return channel.queue_declare(queue, passive=True).method
        except pika.exceptions.ChannelClosedByBroker as error:
            if error.reply_code == _NOT_FOUND:
                return None
            raise
        finally:
            if channel.is_open:
                channel.close()

    # -- LabTransport -------------------------------------------------------------------------
    def queue_arguments(self) -> dict[str, str] | None:
        return {"x-queue-type": "quorum"} if self.quorum else None

    def transport_address(self, queue: str) -> str:
        """The address endpoints write in headers (FailedQ, ReplyToAddress): the queue name itself."""
        return queue

    def create_queue(self, name: str) -> None:
        channel = self._connection.channel()
        try:
            channel.queue_declare(
                name, durable=True, exclusive=False, auto_delete=False, arguments=self.queue_arguments()
            )
            if self.conventional:
                channel.exchange_declare(
                    name, exchange_type="fanout", durable=True, auto_delete=False, internal=False, arguments=None
                )
                channel.queue_bind(name, name, routing_key="")
        except pika.exceptions.ChannelClosedByBroker as error:
            raise RuntimeError(
                "RabbitMQ refused to declare queue %r as %s: %s (%s). An existing queue of another type or "
                "with other arguments must be deleted or migrated first."
                % (name, self.transport_type, error.reply_text, error.reply_code)
            ) from None
        finally:
            if channel.is_open:
                channel.close()

    def queue_exists(self, name: str) -> bool:
        return self._passive_declare(name) is not None

    def send(self, queue: str, message: LabMessage) -> None:
        exchange, routing_key = (queue, "") if self.conventional else ("", queue)
        try:
            self._publisher().basic_publish(
                exchange=exchange,
                routing_key=routing_key,
                body=message.body or b"",
                properties=basic_properties(message.headers, message.native_id),
                mandatory=True,
            )
        except pika.exceptions.UnroutableError:
            raise QueueNotFoundError("RabbitMQ queue %r does not exist (the message was unroutable)." % queue) from None
        except pika.exceptions.ChannelClosedByBroker as error:
            if error.reply_code == _NOT_FOUND:
                raise QueueNotFoundError(
                    "RabbitMQ exchange/queue %r does not exist: %s" % (queue, error.reply_text)
                ) from None
            raise

    def receive(self, queue: str) -> LabMessage | None:
        channel = self._receiver(queue)
        try:
            method, properties, body = channel.basic_get(queue, auto_ack=False)
        except pika.exceptions.ChannelClosedByBroker as error:
            if error.reply_code == _NOT_FOUND:
                raise QueueNotFoundError("RabbitMQ queue %r does not exist." % queue) from None
            raise
        if method is None:
            return None
        self._unacked.setdefault(queue, set()).add(method.delivery_tag)
        return LabMessage(
            headers=headers_from_properties(properties),
            body=body,
            native_id=properties.message_id,
            receipt=_Receipt(queue, channel, method.delivery_tag),
        )

    def _settle(self, message: LabMessage) -> _Receipt:
        receipt = message.receipt
        if not isinstance(receipt, _Receipt):
            raise ValueError("This message was not received from RabbitMQ (or was already completed/abandoned).")
        message.receipt = None
        tags = self._unacked.get(receipt.queue, set())
        if self._receive_channels.get(receipt.queue) is not receipt.channel or receipt.delivery_tag not in tags:
            raise RuntimeError(
                "The channel that received message %r was closed; the broker has already returned it to %r."
                % (message.message_id, receipt.queue)
            )
        tags.discard(receipt.delivery_tag)
        return receipt

    def complete(self, message: LabMessage) -> None:
        receipt = self._settle(message)
        receipt.channel.basic_ack(receipt.delivery_tag)

    def abandon(self, message: LabMessage) -> None:
        receipt = self._settle(message)
        channel = receipt.channel
        before = channel.queue_declare(receipt.queue, passive=True).method.message_count
        channel.basic_nack(receipt.delivery_tag, requeue=True)
        # A nack has no reply, and quorum queues apply it through Raft a little later. Wait until
        # the message is ready again so depth() stays exact (bounded, in case a competing
        # receiver takes it at once).
        deadline = time.monotonic() + REQUEUE_VISIBLE_TIMEOUT
        while channel.queue_declare(receipt.queue, passive=True).method.message_count <= before:
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)

    def depth(self, queue: str) -> int:
        declared = self._passive_declare(queue)
        if declared is None:
            raise QueueNotFoundError("RabbitMQ queue %r does not exist." % queue)
        # message_count counts ready messages only; add the ones this connection holds unacked.
        channel = self._receive_channels.get(queue)
        held = len(self._unacked.get(queue, ())) if channel is not None and channel.is_open else 0
        return declared.message_count + held

    def close(self) -> None:
        if self._connection.is_open:
            self._connection.close()
