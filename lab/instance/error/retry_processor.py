"""The retry processor: retry batches staged through ``<InstanceName>.staging`` and sent back to the endpoints.

ServiceControl/Recoverability/Retrying: RetryProcessor (stage a batch with the ``ServiceControl.Retry.*``
headers, MarkBatchAsForwarding) and Infrastructure/ReturnToSender with ReturnToSenderDequeuer (forward the
staged messages, bodies from the store, to their failed queue with ``ServiceControl.Retry.AcknowledgementQueue``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from lab.instance import common as c
from lab.instance.error.event_log import EventLog
from lab.instance.error.failed_messages import RETRY_ISSUED, FailedMessages
from lab.instance.error.redirects import MessageRedirects
from lab.instance.error.retries import Retries, RetryBatch, RetryOperation
from lab.instance.runtime import POLL_INTERVAL, TransportFactory
from lab.instance.store import DocumentStore
from lab.settings import ErrorSettings
from lab.transports import transport_address
from lab.transports.base import LabMessage, LabTransport

log = logging.getLogger("lab.instance.error")


class RetryProcessor:
    """The thread that works off the retry batches ``Retries`` creates."""

    def __init__(
        self,
        settings: ErrorSettings,
        transport_factory: TransportFactory,
        store: DocumentStore,
        failed: FailedMessages,
        retries: Retries,
        *,
        lock: threading.RLock,
        stop: threading.Event,
        redirects: MessageRedirects | None = None,
        events: EventLog | None = None,
    ) -> None:
        self.settings = settings
        self.transport_factory = transport_factory
        self.store = store
        self.failed = failed
        self.retries = retries
        self._lock = lock
        self._stop = stop
        self.redirects = redirects
        self.events = events

    def run(self) -> None:
        """Process batches; when there was nothing to do, wait ProcessRetryBatchesFrequency."""
        transport = None
        while not self._stop.is_set():
            batch = self.retries.take_batch()
            if batch is None:
                self._stop.wait(self.settings.retry_batch_frequency)
                continue
            try:
                if transport is None:
                    transport = self.transport_factory()
                self._stage_and_forward(transport, batch)
            except Exception as exc:
                log.warning("Retry batch %s failed: %s", batch.batch_id, exc)
                self.retries.batch_done(batch, failed=True)
                if transport is not None:
                    transport.close()
                    transport = None
        if transport is not None:
            transport.close()

    def _stage_and_forward(self, transport: LabTransport, batch: RetryBatch) -> None:
        staging_id = str(uuid.uuid4())
        op = batch.operation
        staged = []
        for unique_id in batch.unique_ids:
            doc = self.failed.get(unique_id)
            if doc is None:
                continue
            last = doc["processing_attempts"][-1]
            headers = {k: v for k, v in last["headers"].items() if not k.startswith(c.RETRY_HEADER_FILTER)}
            target = last["failure_details"]["address_of_failing_endpoint"]
            if self.redirects is not None:
                target = self.redirects.target_for(target)
            headers[c.TARGET_ENDPOINT] = target
            headers[c.RETRY_UNIQUE_ID] = unique_id
            headers[c.RETRY_STAGING_ID] = staging_id
            headers[c.RETRY_ATTEMPT_MESSAGE_ID] = last["message_id"]
            transport.send(self.settings.staging_queue, LabMessage(headers=headers, body=b""))
            staged.append(unique_id)
        with self._lock:
            op.total -= len(batch.unique_ids) - len(staged)
        if self.events is not None and op.retry_type != "failureGroup":
            # A failure group's retry is announced when the whole operation completes.
            self.events.submitted_for_retry(staged, len(staged), batch.context)
        # MarkBatchAsForwarding: the staged messages become RetryIssued.
        for unique_id in staged:
            self.failed.set_status(unique_id, RETRY_ISSUED)
        with self._lock:
            op.state = "Forwarding"
        self._forward_staged(transport, staging_id, len(staged), op)
        self.retries.batch_done(batch)

    def _forward_staged(self, transport: LabTransport, staging_id: str, count: int, op: RetryOperation) -> None:
        """ReturnToSenderDequeuer in counting mode: forward this staging batch's messages, drop strangers."""
        forwarded = 0
        deadline = time.monotonic() + 60
        while forwarded < count and not self._stop.is_set():
            message = transport.receive(self.settings.staging_queue)
            if message is None:
                if time.monotonic() > deadline:
                    raise RuntimeError("Timed out forwarding staged retries for staging id %s" % staging_id)
                self._stop.wait(POLL_INTERVAL)
                continue
            if message.headers.get(c.RETRY_STAGING_ID) != staging_id:
                log.warning("Rejecting message from staging queue as it's not part of a fully staged batch")
                transport.complete(message)
                continue
            outgoing = dict(message.headers)
            outgoing.pop(c.RETRY_STAGING_ID, None)
            # The transport address of ServiceBus/ErrorQueue (the acknowledgement goes to the ingested queue).
            outgoing[c.RETRY_ACK_QUEUE] = transport_address(transport, self.settings.error_queue)
            body = b""
            if c.RETRY_ATTEMPT_MESSAGE_ID in outgoing:
                body = self.store.get_body(outgoing[c.RETRY_UNIQUE_ID]) or b""
                del outgoing[c.RETRY_ATTEMPT_MESSAGE_ID]
            destination = outgoing.get(c.RETRY_TO)
            if destination is None:
                destination = outgoing.pop(c.TARGET_ENDPOINT)
            transport.send(destination, LabMessage(headers=outgoing, body=body))
            transport.complete(message)
            forwarded += 1
            with self._lock:
                op.forwarded += 1
