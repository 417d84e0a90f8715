"""The Error instance's input queue: ServiceControl's internal commands, sent by the API and handled here.

As in ServiceControl, an API request that changes state sends a command (``RetryMessagesById``,
``ArchiveMessage``, ...) to ``<InstanceName>``, answers 202, and the handler does the work a moment later;
endpoints' heartbeats, startup and custom-check messages and the Audit instance's ``RegisterNewEndpoint``
arrive on the same queue. Each component contributes its handlers (``handlers()``: message type -> handler);
a message whose handler fails is moved to ``<InstanceName>.Errors`` as NServiceBus' recoverability would.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

from lab.instance import common as c
from lab.instance.consumer import consume, moved_to_error_queue
from lab.instance.runtime import Sender, TransportFactory, command_message
from lab.settings import ErrorSettings
from lab.transports.base import LabMessage, LabTransport

log = logging.getLogger("lab.instance.error")

MessageHandler = Callable[[dict], None]
#: The commands the instance sends itself carry the NServiceBus version of the instance's own endpoint.
COMMAND_HEADERS = {"NServiceBus.Version": "9.2.3"}


class InputQueue:
    """Sends commands to the instance's input queue and consumes it, dispatching by message type."""

    def __init__(
        self,
        settings: ErrorSettings,
        transport_factory: TransportFactory,
        sender: Sender,
        handlers: dict[str, MessageHandler],
        stop: threading.Event,
    ) -> None:
        self.settings = settings
        self.transport_factory = transport_factory
        self.sender = sender
        self.handlers = handlers
        self._stop = stop

    def send(self, type_name: str, payload: dict) -> None:
        message = command_message(type_name, payload, self.settings.instance_name, COMMAND_HEADERS)
        self.sender.send(self.settings.instance_name, message)

    def handle(self, message: LabMessage) -> None:
        type_name = (message.headers.get(c.ENCLOSED_TYPES) or "").split(";")[0].split(",")[0].strip()
        payload = json.loads(message.body.decode("utf-8")) if message.body else {}
        handler = self.handlers.get(type_name)
        if handler is None:
            raise RuntimeError("No handlers could be found for message type: %s" % type_name)
        handler(payload)

    def run(self) -> None:
        consume(self.transport_factory, self.settings.instance_name, self._stop, self._on_message)

    def _on_message(self, transport: LabTransport, message: LabMessage) -> None:
        try:
            self.handle(message)
        except Exception as exc:  # NServiceBus moves a failing message to the instance's error queue
            log.error("Moving message %s to %s: %s", message.message_id, self.settings.instance_errors_queue, exc)
            failed = moved_to_error_queue(message, self.settings.instance_name, exc, "System.Exception")
            try:
                transport.send(self.settings.instance_errors_queue, failed)
            except Exception as send_exc:
                log.error("Could not move the message to %s: %s", self.settings.instance_errors_queue, send_exc)
        transport.complete(message)
