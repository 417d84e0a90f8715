"""One receive loop for the queues an instance consumes besides its ingestion queue (input, metrics, throughput).

The loop opens a transport (again after a failure, half a second later), polls the queue and hands each message to
``on_message(transport, message)``, which settles it (complete or abandon). ``moved_to_error_queue`` writes the
fault headers NServiceBus' recoverability adds when it gives up on a message (docs/reference/transports.md §9).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from lab.instance import common as c
from lab.instance.runtime import POLL_INTERVAL, TransportFactory
from lab.transports.base import LabMessage, LabTransport

log = logging.getLogger("lab.instance")


def consume(
    transport_factory: TransportFactory,
    queue: str,
    stop: threading.Event,
    on_message: Callable[[LabTransport, LabMessage], None],
) -> None:
    transport: LabTransport | None = None
    while not stop.is_set():
        try:
            if transport is None:
                transport = transport_factory()
            message = transport.receive(queue)
        except Exception as exc:
            log.debug("Queue %s not readable: %s", queue, exc)
            if transport is not None:
                transport.close()
                transport = None
            stop.wait(0.5)
            continue
        if message is None:
            stop.wait(POLL_INTERVAL)
            continue
        on_message(transport, message)
    if transport is not None:
        transport.close()


def moved_to_error_queue(message: LabMessage, failed_queue: str, exc: Exception, exception_type: str) -> LabMessage:
    """The message as recoverability sends it to an error queue: its headers plus the fault headers."""
    headers = dict(message.headers)
    headers.update(
        {
            c.FAILED_Q: failed_queue,
            c.TIME_OF_FAILURE: c.to_wire(c.utcnow()),
            c.EXCEPTION_PREFIX + "ExceptionType": exception_type,
            c.EXCEPTION_PREFIX + "Message": str(exc),
            c.PROCESSING_ENDPOINT: failed_queue,
        }
    )
    return LabMessage(headers=headers, body=message.body)
