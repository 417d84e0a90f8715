"""The lab's own transport interface (independent of plugins/: the lab never imports the collection).

Every lab transport reads and writes messages in that transport's *native* format, exactly as
NServiceBus endpoints and ServiceControl do (see docs/reference/transports.md), so a queue the
lab writes can be read by the real thing and vice versa.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field


@dataclass
class LabMessage:
    """One message as NServiceBus sees it: all headers as strings, and the raw body bytes."""

    headers: dict[str, str]
    body: bytes = b""
    #: The transport's own id for this copy (RabbitMQ delivery tag, file name, row id, ...).
    native_id: str | None = None
    #: Opaque state the transport needs to complete/abandon a received message.
    receipt: object = field(default=None, repr=False, compare=False)

    @property
    def message_id(self) -> str | None:
        return self.headers.get("NServiceBus.MessageId")


class LabTransport(abc.ABC):
    """A connection to one transport. Thread-safety: one instance per thread (open another for each)."""

    #: ServiceControl TransportType name this instance was opened for.
    transport_type: str

    @abc.abstractmethod
    def create_queue(self, name: str) -> None:
        """Create a queue as ServiceControl's setup does (the plain sending-address form). Idempotent."""

    @abc.abstractmethod
    def queue_exists(self, name: str) -> bool:
        """True when the queue exists."""

    @abc.abstractmethod
    def send(self, queue: str, message: LabMessage) -> None:
        """Put one message on a queue in the native format. Fails if the queue does not exist
        (as NServiceBus does; that is what makes ServiceControl's forwarding probe meaningful)."""

    @abc.abstractmethod
    def receive(self, queue: str) -> LabMessage | None:
        """Take the next message without blocking, or None. The message stays invisible to other
        receivers until complete() removes it or abandon() returns it to the queue."""

    @abc.abstractmethod
    def complete(self, message: LabMessage) -> None:
        """Remove a received message for good."""

    @abc.abstractmethod
    def abandon(self, message: LabMessage) -> None:
        """Return a received message to its queue."""

    @abc.abstractmethod
    def depth(self, queue: str) -> int:
        """Exact number of messages in the queue (received-but-not-completed ones included)."""

    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> LabTransport:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
