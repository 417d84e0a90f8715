"""Error ingestion: the error queue read into FailedMessage documents.

ServiceControl/Operations: ErrorIngestion and ErrorIngestor (the pump, forwarding to ``ErrorLogQueue``),
ErrorProcessor with FailedMessageFactory (one processing attempt per failure), RetryConfirmationProcessor
(``ServiceControl.Retry.Successful`` resolves the failure), ErrorIngestionFaultPolicy and
ImportFailureCircuitBreaker (failed imports). The classification into failure groups is
lab.instance.common.failure_groups (ServiceControl/Recoverability/Grouping).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from lab.instance import common as c
from lab.instance.error.event_log import EventLog
from lab.instance.error.failed_messages import FAILED_MESSAGES, RESOLVED, UNRESOLVED, FailedMessages
from lab.instance.error.monitoring import EndpointMonitoring
from lab.instance.runtime import IngestionPump, TransportFactory, failed_import
from lab.instance.store import DocumentStore
from lab.settings import ErrorSettings
from lab.transports.base import LabMessage, LabTransport

log = logging.getLogger("lab.instance.error")

FAILED_IMPORTS = "FailedErrorImports"
MAX_PROCESSING_ATTEMPTS = 10


class ErrorIngestion:
    """Reads ``ServiceBus/ErrorQueue`` (when ``IngestErrorMessages`` is on) into the FailedMessages collection."""

    def __init__(
        self,
        settings: ErrorSettings,
        transport_factory: TransportFactory,
        store: DocumentStore,
        failed: FailedMessages,
        monitoring: EndpointMonitoring,
        *,
        stop: threading.Event,
        on_fatal: Callable[[str], None],
        events: EventLog | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.failed = failed
        self.monitoring = monitoring
        self.events = events
        self.pump = IngestionPump(
            "failed message ingestion",
            transport_factory,
            settings.error_queue,
            settings.error_log_queue,
            forward=settings.forward_error_messages,
            concurrency=settings.maximum_concurrency_level or 10,
            restart_interval=settings.time_to_restart_error_ingestion.total_seconds(),
            process=self._process_batch,
            store_failed_import=self._store_failed_import,
            on_failed_startup=on_fatal,
            logger=log,
            log_infrastructure=True,
            stop=stop,
        )

    def start(self) -> None:
        if self.settings.ingest_error_messages:
            self.pump.begin()
        else:
            # Settings.LoadErrorIngestionSettings logs this; the error queue is left alone.
            log.info("Error ingestion disabled")

    def stop(self) -> None:
        self.pump.shutdown()

    def failed_imports(self) -> list[dict]:
        return self.store.all(FAILED_IMPORTS)

    def failed_import_count(self) -> int:
        return self.store.count(FAILED_IMPORTS)

    # ------------------------------------------------------------------ one batch

    def _process_batch(self, transport: LabTransport, batch: list[LabMessage]) -> tuple[list, dict]:
        confirmations = [m for m in batch if c.RETRY_SUCCESSFUL in m.headers]
        failed = [m for m in batch if c.RETRY_SUCCESSFUL not in m.headers]
        stored: list[LabMessage] = []
        processing_errors: dict[int, Exception] = {}
        with self.store.transaction():
            for message in failed:
                try:
                    self._record_failure(message)
                    stored.append(message)
                except Exception as exc:  # one bad message must not fail the batch
                    log.warning("Processing of message '%s' failed: %s", message.native_id, exc)
                    processing_errors[id(message)] = exc
            for message in confirmations:
                self._record_successful_retry(message.headers[c.RETRY_UNIQUE_ID])
        return stored, processing_errors

    def _store_failed_import(self, message: LabMessage, exc: Exception) -> None:
        log.error("Failed importing error message: %s", exc)
        import_id, document = failed_import(message, "%s: %s" % (type(exc).__name__, exc))
        self.store.put(FAILED_IMPORTS, import_id, document)
        self.store.put_body("FailedErrorImports/" + import_id, message.body or b"")

    def _record_failure(self, message: LabMessage) -> None:
        headers = dict(message.headers)
        message_id = headers.get(c.MESSAGE_ID) or c.deterministic_guid(message.native_id)
        mtype, is_system = c.message_type(headers)
        metadata: dict = {"MessageId": message_id, "MessageIntent": c.message_intent(headers)}
        if mtype is not None:
            metadata["SearchableMessageType"] = mtype.replace(".", " ").replace("+", " ")
        metadata["IsSystemMessage"] = is_system
        metadata["MessageType"] = mtype
        if c.CONVERSATION_ID in headers:
            metadata["ConversationId"] = headers[c.CONVERSATION_ID]
        time_sent = c.parse_wire(headers.get(c.TIME_SENT))
        if time_sent is not None:
            metadata["TimeSent"] = c.json_date(time_sent)
        sending = c.sending_endpoint(headers)
        receiving = c.receiving_endpoint(headers)
        if sending:
            metadata["SendingEndpoint"] = sending
        if receiving:
            metadata["ReceivingEndpoint"] = receiving
        failure = c.parse_failure(headers)
        if c.MESSAGE_ID not in headers:
            # FailedMessageFactory.CreateProcessingAttempt indexes the header directly.
            raise KeyError("The given key '%s' was not present in the dictionary." % c.MESSAGE_ID)
        groups = c.failure_groups(mtype, failure, headers)
        unique_id = c.unique_message_id(headers)
        content_type = headers.get(c.CONTENT_TYPE, "text/plain")
        metadata["ContentType"] = content_type
        metadata["ContentLength"] = len(message.body or b"")
        metadata["BodyUrl"] = "/messages/%s/body" % unique_id
        attempt = {
            "message_metadata": metadata,
            "failure_details": failure,
            "attempted_at": failure["time_of_failure"],
            "message_id": headers[c.MESSAGE_ID],
            "headers": headers,
        }
        now = c.json_date(c.utcnow())
        existing = self.failed.get(unique_id)
        if existing is None:
            doc = {
                "id": "FailedMessages/" + unique_id,
                "processing_attempts": [attempt],
                "failure_groups": groups,
                "unique_message_id": unique_id,
                "status": UNRESOLVED,
            }
        else:
            doc = existing
            doc["status"] = UNRESOLVED
            # A new failure cancels an expiry an earlier resolve or archive set.
            doc.pop(c.EXPIRES, None)
            doc["failure_groups"] = groups
            attempts = doc["processing_attempts"]
            # De-duplicate attempts by AttemptedAt, keep them ordered, keep the newest 10.
            if not any(a["attempted_at"] == attempt["attempted_at"] for a in attempts):
                attempts.append(attempt)
            attempts.sort(key=lambda a: c.parse_iso(a["attempted_at"]))
            doc["processing_attempts"] = attempts[-MAX_PROCESSING_ATTEMPTS:]
        doc["last_modified"] = now
        self.store.put(FAILED_MESSAGES, unique_id, doc)
        self.store.put_body(unique_id, message.body or b"")
        for endpoint in (sending, receiving):
            if endpoint and endpoint.get("host_id"):
                self.monitoring.record_known_endpoint(endpoint, monitored=False)
        if self.events is not None:
            self.events.message_failed(unique_id, c.processing_endpoint_name(headers), failure)

    def _record_successful_retry(self, unique_id: str) -> None:
        def resolve(doc: dict) -> None:
            doc["status"] = RESOLVED
            doc["last_modified"] = c.json_date(c.utcnow())
            self.failed.set_expiry(doc)

        # Patching a document that does not exist is harmless (the replacement scenario,
        # docs/reference/servicecontrol.md §4.1).
        self.store.update(FAILED_MESSAGES, unique_id, resolve)
        if self.events is not None:
            self.events.resolved_by_retry(unique_id)
