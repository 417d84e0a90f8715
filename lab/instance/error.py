"""The lab's Error (primary) instance: ingestion, retries, archiving and the data behind its API.

Behaviour follows servicecontrol-facts.md §5/§6 and ServiceControl 6.19.2's ErrorIngestion,
ErrorIngestor, RetryProcessor, ReturnToSender(Dequeuer) and the persistence patches they use.
API requests that change state send ServiceControl's internal commands to the instance's own input
queue, and the input-queue handler does the work, so (as in ServiceControl) the API answers 202 and
the change shows up a moment later.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from lab.instance import common as c
from lab.instance.runtime import (
    POLL_INTERVAL,
    CircuitBreaker,
    CriticalError,
    FailureCounter,
    IngestionWatchdog,
    Sender,
    TransportFactory,
    forward_copy,
    open_ingestion,
    receive_batch,
)
from lab.instance.store import DocumentStore
from lab.settings import ErrorSettings
from lab.transports import transport_address
from lab.transports.base import LabMessage, LabTransport

log = logging.getLogger("lab.instance.error")

FAILED_MESSAGES = "FailedMessages"
FAILED_IMPORTS = "FailedErrorImports"
KNOWN_ENDPOINTS = "KnownEndpoints"
CUSTOM_CHECKS = "CustomChecks"
GROUP_COMMENTS = "GroupComments"
RETRY_HISTORY = "RetryHistory"

STATUS_NAMES = {1: "unresolved", 2: "resolved", 3: "retryIssued", 4: "archived"}
STATUS_VALUES = {"unresolved": 1, "resolved": 2, "retryissued": 3, "archived": 4}
UNRESOLVED, RESOLVED, RETRY_ISSUED, ARCHIVED = 1, 2, 3, 4
MAX_PROCESSING_ATTEMPTS = 10
RETRY_BATCH_SIZE = 1000

INGESTION_PROCESS_CHECK = "Error Message Ingestion Process"
FAILED_IMPORT_CHECK = "Error Message Ingestion"
REMOTES_CHECK = "ServiceControl Remotes"
FAILED_IMPORT_MESSAGE = (
    "One or more error messages have failed to import properly into ServiceControl and have been stored in the "
    "ServiceControl database.\nThe import of these messages could have failed for a number of reasons and "
    "ServiceControl is not able to automatically reimport them. For guidance on how to resolve this see "
    "https://docs.particular.net/servicecontrol/import-failed-messages"
)

# ServiceControl's internal commands (full type names as NServiceBus puts them in EnclosedMessageTypes).
CMD_RETRY_MESSAGE = "ServiceControl.MessageFailures.InternalMessages.RetryMessage"
CMD_RETRY_BY_IDS = "ServiceControl.Recoverability.RetryMessagesById"
CMD_RETRY_BY_QUEUE = "ServiceControl.Recoverability.RetryMessagesByQueueAddress"
CMD_RETRY_ALL = "ServiceControl.MessageFailures.InternalMessages.RequestRetryAll"
CMD_RETRY_GROUP = "ServiceControl.Recoverability.RetryAllInGroup"
CMD_RETRY_PENDING_BY_IDS = "ServiceControl.MessageFailures.InternalMessages.RetryPendingMessagesById"
CMD_RETRY_PENDING = "ServiceControl.MessageFailures.InternalMessages.RetryPendingMessages"
CMD_RESOLVE_PENDING = "ServiceControl.MessageFailures.InternalMessages.MarkPendingRetryAsResolved"
CMD_RESOLVE_PENDING_RANGE = "ServiceControl.MessageFailures.InternalMessages.MarkPendingRetriesAsResolved"
CMD_ARCHIVE = "ServiceControl.MessageFailures.InternalMessages.ArchiveMessage"
CMD_ARCHIVE_GROUP = "ServiceControl.Recoverability.ArchiveAllInGroup"
CMD_UNARCHIVE = "ServiceControl.MessageFailures.InternalMessages.UnArchiveMessages"
CMD_UNARCHIVE_RANGE = "ServiceControl.MessageFailures.InternalMessages.UnArchiveMessagesByRange"
CMD_UNARCHIVE_GROUP = "ServiceControl.Recoverability.UnarchiveAllInGroup"
MSG_REGISTER_NEW_ENDPOINT = "ServiceControl.Contracts.EndpointControl.RegisterNewEndpoint"
MSG_HEARTBEAT = "ServiceControl.Plugin.Heartbeat.Messages.EndpointHeartbeat"
MSG_STARTUP = "ServiceControl.Plugin.Heartbeat.Messages.RegisterEndpointStartup"
MSG_CUSTOM_CHECK = "ServiceControl.Plugin.CustomChecks.Messages.ReportCustomCheckResult"

RETRY_TYPES = (
    "unknown",
    "singleMessage",
    "failureGroup",
    "multipleMessages",
    "allForEndpoint",
    "all",
    "byQueueAddress",
)


def command_message(type_name: str, payload: dict, sender: str) -> LabMessage:
    """An NServiceBus command as the instance sends it to itself (System.Text.Json body)."""
    message_id = str(uuid.uuid4())
    headers = {
        c.MESSAGE_ID: message_id,
        c.CONVERSATION_ID: str(uuid.uuid4()),
        "NServiceBus.CorrelationId": message_id,
        c.MESSAGE_INTENT: "Send",
        c.ENCLOSED_TYPES: type_name,
        c.CONTENT_TYPE: "application/json",
        c.ORIGINATING_ENDPOINT: sender,
        c.REPLY_TO: sender,
        c.TIME_SENT: c.to_wire(c.utcnow()),
        "NServiceBus.Version": "9.2.3",
    }
    return LabMessage(headers=headers, body=json.dumps(payload).encode("utf-8"))


@dataclass
class RetryOperation:
    """RetryingManager's in-memory view of one retry request (InMemoryRetry)."""

    request_id: str
    retry_type: str
    originator: str | None = None
    classifier: str | None = None
    started: dt.datetime = field(default_factory=c.utcnow)
    state: str = "Waiting"
    total: int = 0
    forwarded: int = 0
    failed: bool = False
    completion_time: dt.datetime | None = None
    last: dt.datetime | None = None

    def progress(self) -> tuple[float, int]:
        if self.total == 0:
            return (1.0 if self.state == "Completed" else 0.0), 0
        return self.forwarded / self.total, self.total - self.forwarded


@dataclass
class RetryBatch:
    batch_id: str
    operation: RetryOperation
    unique_ids: list[str]


@dataclass
class ArchiveOperation:
    """InMemoryArchive: archiving or unarchiving a failure group."""

    request_id: str
    group_name: str
    classifier: str
    unarchive: bool
    started: dt.datetime = field(default_factory=c.utcnow)
    state: str = "ArchiveStarted"
    total: int = 0
    done: int = 0
    completion_time: dt.datetime | None = None
    last: dt.datetime | None = None
    dismissed: bool = False

    def needs_acknowledgement(self) -> bool:
        return self.state == "ArchiveCompleted" and not self.dismissed


class ErrorInstance:
    """One running Error instance (without its HTTP server; see lab.instance.http)."""

    kind = "error"

    def __init__(
        self,
        settings: ErrorSettings,
        transport_factory: TransportFactory,
        store: DocumentStore,
        on_fatal: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.transport_factory = transport_factory
        self.store = store
        self.on_fatal = on_fatal or (lambda reason: None)
        self.sender = Sender(transport_factory, "%s sender" % settings.instance_name)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.RLock()
        self._batches: list[RetryBatch] = []
        self.operations: dict[tuple[str, str], RetryOperation] = {}
        self.archive_operations: dict[str, ArchiveOperation] = {}
        #: Remote base address -> why the remotes check or a scatter-gather call disabled it.
        self.unavailable_remotes: dict[str, str] = {}
        self._ingest_transport: LabTransport | None = None
        self._circuit_breaker = CircuitBreaker()
        self._failures = FailureCounter()
        self.watchdog: IngestionWatchdog | None = None
        self.ingestion_running = threading.Event()

    # ------------------------------------------------------------------ lifecycle

    def setup(self) -> list[str]:
        """``--setup``: create the instance's queues (facts §5)."""
        queues = self.settings.setup_queues()
        with self.transport_factory() as transport:
            for name in queues:
                transport.create_queue(name)
        return queues

    def start(self) -> None:
        if self.settings.ingest_error_messages:
            self.watchdog = IngestionWatchdog(
                "failed message ingestion",
                self._start_ingestion,
                self._run_ingestion,
                self._stop_ingestion,
                restart_interval=self.settings.time_to_restart_error_ingestion.total_seconds(),
                on_failed_startup=self.on_fatal,
            )
            self.watchdog.begin()
        else:
            # Settings.LoadErrorIngestionSettings logs this; the error queue is left alone.
            log.info("Error ingestion disabled")
        self._spawn("%s input" % self.settings.instance_name, self._input_loop)
        self._spawn("%s retries" % self.settings.instance_name, self._retry_loop)

    def _spawn(self, name: str, target) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        if self.watchdog is not None:
            self.watchdog.shutdown()
        for thread in self._threads:
            if thread is not threading.current_thread() and thread.ident is not None:
                thread.join(timeout=10)
        self.sender.close()

    # ------------------------------------------------------------------ error ingestion

    def _start_ingestion(self) -> None:
        log_queue = self.settings.error_log_queue if self.settings.forward_error_messages else None
        transport = open_ingestion(self.transport_factory, self.settings.error_queue, log_queue)
        self._ingest_transport = transport
        self.ingestion_running.set()
        log.info("Started infrastructure")

    def _stop_ingestion(self) -> None:
        self.ingestion_running.clear()
        transport, self._ingest_transport = self._ingest_transport, None
        if transport is not None:
            transport.close()
            log.info("Stopped infrastructure")

    def _run_ingestion(self, shutdown: threading.Event) -> None:
        transport = self._ingest_transport
        limit = self.settings.maximum_concurrency_level or 10
        while not shutdown.is_set() and not self._stop.is_set():
            batch = receive_batch(transport, self.settings.error_queue, limit)
            if not batch:
                shutdown.wait(POLL_INTERVAL)
                continue
            self._ingest_batch(transport, batch)

    def _ingest_batch(self, transport: LabTransport, batch: list[LabMessage]) -> None:
        confirmations = [m for m in batch if c.RETRY_SUCCESSFUL in m.headers]
        failed = [m for m in batch if c.RETRY_SUCCESSFUL not in m.headers]
        stored: list[LabMessage] = []
        processing_errors: dict[int, Exception] = {}
        try:
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
            if self.settings.forward_error_messages and stored:
                for message in stored:
                    forward_copy(transport, self.settings.error_log_queue, message)
        except Exception as exc:  # the whole batch fails, as in ErrorIngestor.Ingest
            log.warning("Forwarding messages failed: %s", exc)
            for message in batch:
                self._on_processing_failure(transport, message, exc)
            return
        self._failures.settle(transport, batch, processing_errors, self._on_processing_failure)

    def _on_processing_failure(self, transport: LabTransport, message: LabMessage, exc: Exception) -> None:
        # ErrorIngestionFaultPolicy: retry immediately twice, then store it as a failed import.
        if self._failures.retry_immediately(transport, message):
            return
        log.error("Failed importing error message: %s", exc)
        import_id = str(uuid.uuid4())
        self.store.put(
            FAILED_IMPORTS,
            import_id,
            {
                "id": import_id,
                "message": {"id": message.native_id, "headers": message.headers},
                "exception_info": "%s: %s" % (type(exc).__name__, exc),
            },
        )
        self.store.put_body("FailedErrorImports/" + import_id, message.body or b"")
        transport.complete(message)
        if self._circuit_breaker.increment():
            raise CriticalError("Failed to import too many times")

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
        existing = self.store.get(FAILED_MESSAGES, unique_id)
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
                self._record_known_endpoint(endpoint, monitored=False)

    def _record_successful_retry(self, unique_id: str) -> None:
        def resolve(doc: dict) -> None:
            doc["status"] = RESOLVED
            doc["last_modified"] = c.json_date(c.utcnow())

        # Patching a document that does not exist is harmless (replacement scenario, facts §4.1).
        self.store.update(FAILED_MESSAGES, unique_id, resolve)

    def _record_known_endpoint(self, endpoint: dict, monitored: bool) -> dict:
        endpoint_id = c.deterministic_guid(endpoint["name"], endpoint["host_id"])
        doc = self.store.get(KNOWN_ENDPOINTS, endpoint_id)
        if doc is None:
            doc = {
                "id": endpoint_id,
                "name": endpoint["name"],
                "host_id": endpoint["host_id"],
                "host_display_name": endpoint.get("host") or "",
                "monitored": monitored,
                "monitor_heartbeat": monitored,
                "last_report_at": None,
            }
            self.store.put(KNOWN_ENDPOINTS, endpoint_id, doc)
        return doc

    # ------------------------------------------------------------------ the input queue (internal commands)

    def send_command(self, type_name: str, payload: dict) -> None:
        """What the API controllers do: send an internal command to the instance's own input queue."""
        message = command_message(type_name, payload, self.settings.instance_name)
        self.sender.send(self.settings.instance_name, message)

    def _input_loop(self) -> None:
        transport = None
        while not self._stop.is_set():
            try:
                if transport is None:
                    transport = self.transport_factory()
                message = transport.receive(self.settings.instance_name)
            except Exception as exc:
                log.debug("Input queue not readable: %s", exc)
                if transport is not None:
                    transport.close()
                    transport = None
                self._stop.wait(0.5)
                continue
            if message is None:
                self._stop.wait(POLL_INTERVAL)
                continue
            try:
                self.handle_input_message(message)
            except Exception as exc:  # NServiceBus moves a failing message to the instance's error queue
                log.error("Moving message %s to %s: %s", message.message_id, self.settings.instance_errors_queue, exc)
                self._move_to_error_queue(transport, message, exc)
            transport.complete(message)
        if transport is not None:
            transport.close()

    def _move_to_error_queue(self, transport: LabTransport, message: LabMessage, exc: Exception) -> None:
        headers = dict(message.headers)
        headers.update(
            {
                c.FAILED_Q: self.settings.instance_name,
                c.TIME_OF_FAILURE: c.to_wire(c.utcnow()),
                c.EXCEPTION_PREFIX + "ExceptionType": "System.Exception",
                c.EXCEPTION_PREFIX + "Message": str(exc),
                c.PROCESSING_ENDPOINT: self.settings.instance_name,
            }
        )
        try:
            transport.send(self.settings.instance_errors_queue, LabMessage(headers=headers, body=message.body))
        except Exception as send_exc:
            log.error("Could not move the message to %s: %s", self.settings.instance_errors_queue, send_exc)

    def handle_input_message(self, message: LabMessage) -> None:
        type_name = (message.headers.get(c.ENCLOSED_TYPES) or "").split(";")[0].split(",")[0].strip()
        payload = json.loads(message.body.decode("utf-8")) if message.body else {}
        handlers = {
            CMD_RETRY_MESSAGE: lambda p: self.start_retry(
                [p["FailedMessageId"]], "singleMessage", p["FailedMessageId"]
            ),
            CMD_RETRY_BY_IDS: lambda p: self.start_retry(p["MessageUniqueIds"], "multipleMessages", str(uuid.uuid4())),
            CMD_RETRY_BY_QUEUE: lambda p: self.retry_by_queue(p["QueueAddress"]),
            CMD_RETRY_ALL: lambda p: self.retry_all(p.get("Endpoint")),
            CMD_RETRY_GROUP: lambda p: self.retry_group(p["GroupId"]),
            CMD_RETRY_PENDING_BY_IDS: lambda p: self.retry_pending(p["MessageUniqueIds"]),
            CMD_RETRY_PENDING: lambda p: self.retry_pending_range(p["QueueAddress"], p["PeriodFrom"], p["PeriodTo"]),
            CMD_RESOLVE_PENDING: lambda p: self.resolve_pending([p["FailedMessageId"]]),
            CMD_RESOLVE_PENDING_RANGE: lambda p: self.resolve_pending_range(
                p.get("QueueAddress"), p["PeriodFrom"], p["PeriodTo"]
            ),
            CMD_ARCHIVE: lambda p: self.archive([p["FailedMessageId"]]),
            CMD_ARCHIVE_GROUP: lambda p: self.archive_group(p["GroupId"]),
            CMD_UNARCHIVE: lambda p: self.unarchive(p["FailedMessageIds"]),
            CMD_UNARCHIVE_RANGE: lambda p: self.unarchive_range(p["From"], p["To"]),
            CMD_UNARCHIVE_GROUP: lambda p: self.unarchive_group(p["GroupId"]),
            MSG_REGISTER_NEW_ENDPOINT: self._on_register_new_endpoint,
            MSG_HEARTBEAT: self._on_heartbeat,
            MSG_STARTUP: self._on_startup,
            MSG_CUSTOM_CHECK: self._on_custom_check,
        }
        handler = handlers.get(type_name)
        if handler is None:
            raise RuntimeError("No handlers could be found for message type: %s" % type_name)
        handler(payload)

    def _on_register_new_endpoint(self, payload: dict) -> None:
        endpoint = payload.get("Endpoint") or {}
        self._record_known_endpoint(
            {
                "name": endpoint.get("Name"),
                "host_id": str(uuid.UUID(endpoint.get("HostId"))),
                "host": endpoint.get("Host"),
            },
            monitored=False,
        )

    def _on_startup(self, payload: dict) -> None:
        doc = self._record_known_endpoint(
            {
                "name": payload.get("Endpoint"),
                "host_id": str(uuid.UUID(payload["HostId"])),
                "host": payload.get("HostDisplayName"),
            },
            monitored=self.settings.track_instances_initial_value,
        )
        self.store.update(
            KNOWN_ENDPOINTS, doc["id"], lambda d: d.update(monitored=d["monitored"] or d["monitor_heartbeat"])
        )

    def _on_heartbeat(self, payload: dict) -> None:
        doc = self._record_known_endpoint(
            {
                "name": payload.get("EndpointName"),
                "host_id": str(uuid.UUID(payload["HostId"])),
                "host": payload.get("Host"),
            },
            monitored=self.settings.track_instances_initial_value,
        )
        executed = payload.get("ExecutedAt")
        self.store.update(
            KNOWN_ENDPOINTS,
            doc["id"],
            lambda d: d.update(last_report_at=executed if executed else c.json_date(c.utcnow())),
        )

    def _on_custom_check(self, payload: dict) -> None:
        check_id = c.deterministic_guid(
            payload.get("EndpointName"), payload.get("HostId"), payload.get("CustomCheckId")
        )
        self.store.put(
            CUSTOM_CHECKS,
            check_id,
            {
                "id": check_id,
                "custom_check_id": payload.get("CustomCheckId"),
                "category": payload.get("Category"),
                "status": "fail" if payload.get("HasFailed") else "pass",
                "reported_at": payload.get("ReportedAt"),
                "failure_reason": payload.get("FailureReason"),
                "originating_endpoint": compact_endpoint(
                    payload.get("EndpointName"), payload.get("HostId"), payload.get("Host")
                ),
            },
        )

    # ------------------------------------------------------------------ queries over the failed messages

    def failed_messages(self) -> list[dict]:
        return self.store.all(FAILED_MESSAGES)

    def failed_message(self, unique_id: str) -> dict | None:
        return self.store.get(FAILED_MESSAGES, unique_id)

    def failed_imports(self) -> list[dict]:
        return self.store.all(FAILED_IMPORTS)

    # ------------------------------------------------------------------ retries

    def _operation(self, request_id: str, retry_type: str) -> RetryOperation | None:
        return self.operations.get((request_id, retry_type))

    def operation_in_progress(self, request_id: str, retry_type: str) -> bool:
        with self._lock:
            op = self._operation(request_id, retry_type)
            return op is not None and op.state != "Completed"

    def wait_operation(self, request_id: str, retry_type: str, originator: str | None = None, classifier=None) -> None:
        """RetryingManager.Wait: the API registers the request before sending the command."""
        with self._lock:
            self.operations[(request_id, retry_type)] = RetryOperation(
                request_id, retry_type, originator=originator, classifier=classifier
            )

    def start_retry(
        self,
        unique_ids: list[str],
        retry_type: str,
        request_id: str,
        *,
        originator: str | None = None,
        classifier: str | None = None,
        statuses: tuple[int, ...] | None = None,
    ) -> None:
        """Create retry batches (RetryDocumentManager) for the given messages, 1000 per batch."""
        ids = []
        for unique_id in unique_ids:
            doc = self.failed_message(unique_id)
            if doc is None or (statuses is not None and doc["status"] not in statuses):
                continue
            if unique_id not in ids:
                ids.append(unique_id)
        with self._lock:
            op = self._operation(request_id, retry_type)
            if op is None or op.state == "Completed":
                op = RetryOperation(request_id, retry_type, originator=originator, classifier=classifier)
                self.operations[(request_id, retry_type)] = op
            op.state = "Preparing"
            op.total = len(ids)
            op.last = c.utcnow()
            if not ids:
                self._complete_operation(op)
                return
            for start in range(0, len(ids), RETRY_BATCH_SIZE):
                self._batches.append(RetryBatch(str(uuid.uuid4()), op, ids[start : start + RETRY_BATCH_SIZE]))

    def _unresolved(self, predicate) -> list[str]:
        return [d["unique_message_id"] for d in self.failed_messages() if d["status"] == UNRESOLVED and predicate(d)]

    def retry_all(self, endpoint: str | None) -> None:
        if endpoint:
            ids = self._unresolved(lambda d: (receiving_of(d) or {}).get("name") == endpoint)
            self.start_retry(ids, "allForEndpoint", endpoint, originator="all messages for endpoint %s" % endpoint)
        else:
            self.start_retry(self._unresolved(lambda d: True), "all", "All", originator="All messages")

    def retry_by_queue(self, queue_address: str) -> None:
        wanted = queue_address.lower()
        ids = self._unresolved(lambda d: (queue_address_of(d) or "").lower() == wanted)
        self.start_retry(ids, "byQueueAddress", queue_address, originator=queue_address)

    def retry_group(self, group_id: str) -> None:
        group = self.group_view(group_id)
        ids = self._unresolved(lambda d: any(g["id"] == group_id for g in d.get("failure_groups", [])))
        self.start_retry(
            ids,
            "failureGroup",
            group_id,
            originator=group["title"] if group else None,
            classifier=group["type"] if group else None,
        )

    def retry_pending(self, unique_ids: list[str]) -> None:
        self.start_retry(unique_ids, "multipleMessages", str(uuid.uuid4()), statuses=(RETRY_ISSUED,))

    def _pending_in_range(self, queue_address: str | None, period_from: str, period_to: str) -> list[str]:
        start, end = c.parse_iso(period_from), c.parse_iso(period_to)
        ids = []
        for doc in self.failed_messages():
            if doc["status"] != RETRY_ISSUED:
                continue
            if queue_address is not None and (queue_address_of(doc) or "").lower() != queue_address.lower():
                continue
            if start <= c.parse_iso(doc["last_modified"]) <= end:
                ids.append(doc["unique_message_id"])
        return ids

    def retry_pending_range(self, queue_address: str, period_from: str, period_to: str) -> None:
        ids = self._pending_in_range(queue_address, period_from, period_to)
        self.start_retry(ids, "byQueueAddress", queue_address, originator=queue_address, statuses=(RETRY_ISSUED,))

    def resolve_pending(self, unique_ids: list[str]) -> None:
        for unique_id in unique_ids:
            self._set_status(unique_id, RESOLVED, only_from=(RETRY_ISSUED,))

    def resolve_pending_range(self, queue_address: str | None, period_from: str, period_to: str) -> None:
        self.resolve_pending(self._pending_in_range(queue_address, period_from, period_to))

    def _set_status(self, unique_id: str, status: int, only_from: tuple[int, ...] | None = None) -> bool:
        def change(doc: dict):
            if only_from is not None and doc["status"] not in only_from:
                return False
            if doc["status"] == status:
                return False
            doc["status"] = status
            doc["last_modified"] = c.json_date(c.utcnow())
            return True

        return self.store.update(FAILED_MESSAGES, unique_id, change) is not None

    def _retry_loop(self) -> None:
        """RetryProcessor: process batches; when there was nothing to do, wait ProcessRetryBatchesFrequency."""
        transport = None
        while not self._stop.is_set():
            with self._lock:
                batch = self._batches.pop(0) if self._batches else None
            if batch is None:
                self._stop.wait(self.settings.retry_batch_frequency)
                continue
            try:
                if transport is None:
                    transport = self.transport_factory()
                self._stage_and_forward(transport, batch)
            except Exception as exc:
                log.warning("Retry batch %s failed: %s", batch.batch_id, exc)
                with self._lock:
                    batch.operation.failed = True
                    self._complete_operation(batch.operation)
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
            doc = self.failed_message(unique_id)
            if doc is None:
                continue
            last = doc["processing_attempts"][-1]
            headers = {k: v for k, v in last["headers"].items() if not k.startswith(c.RETRY_HEADER_FILTER)}
            target = last["failure_details"]["address_of_failing_endpoint"]
            headers[c.TARGET_ENDPOINT] = target
            headers[c.RETRY_UNIQUE_ID] = unique_id
            headers[c.RETRY_STAGING_ID] = staging_id
            headers[c.RETRY_ATTEMPT_MESSAGE_ID] = last["message_id"]
            transport.send(self.settings.staging_queue, LabMessage(headers=headers, body=b""))
            staged.append(unique_id)
        with self._lock:
            op.total -= len(batch.unique_ids) - len(staged)
        # MarkBatchAsForwarding: the staged messages become RetryIssued.
        for unique_id in staged:
            self._set_status(unique_id, RETRY_ISSUED)
        with self._lock:
            op.state = "Forwarding"
        self._forward_staged(transport, staging_id, len(staged), op)
        with self._lock:
            if not any(b.operation is op for b in self._batches):
                self._complete_operation(op)

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

    def _complete_operation(self, op: RetryOperation) -> None:
        op.state = "Completed"
        op.completion_time = c.utcnow()
        history = self.retry_history()
        historic = c.compact(
            request_id=op.request_id,
            retry_type=op.retry_type,
            start_time=c.json_date(op.started),
            completion_time=c.json_date(op.completion_time),
            originator=op.originator,
            failed=op.failed,
            number_of_messages_processed=op.forwarded,
        )
        operations = [historic, *history["historic_operations"]]
        operations.sort(key=lambda h: h["completion_time"], reverse=True)
        history["historic_operations"] = operations[: self.settings.retry_history_depth]
        # Single and multiple-message retries have their own way to be dismissed in the UI.
        if op.retry_type not in ("multipleMessages", "singleMessage"):
            history["unacknowledged_operations"].append(
                c.compact(**historic, last=c.json_date(op.last or op.completion_time), classifier=op.classifier)
            )
        self.store.put(RETRY_HISTORY, "RetryOperations/History", history)

    def retry_history(self) -> dict:
        return self.store.get(RETRY_HISTORY, "RetryOperations/History") or {
            "historic_operations": [],
            "unacknowledged_operations": [],
        }

    def acknowledge_group(self, group_id: str) -> bool:
        with self._lock:
            archive = self.archive_operations.get(group_id)
            if archive is not None and not archive.dismissed:
                archive.dismissed = True
                return True
        history = self.retry_history()
        before = len(history["unacknowledged_operations"])
        history["unacknowledged_operations"] = [
            u
            for u in history["unacknowledged_operations"]
            if not (u["request_id"] == group_id and u["retry_type"] == "failureGroup")
        ]
        if len(history["unacknowledged_operations"]) == before:
            return False
        self.store.put(RETRY_HISTORY, "RetryOperations/History", history)
        return True

    # ------------------------------------------------------------------ archiving

    def archive(self, unique_ids: list[str]) -> None:
        for unique_id in unique_ids:
            self._set_status(unique_id, ARCHIVED)

    def unarchive(self, unique_ids: list[str]) -> None:
        for unique_id in unique_ids:
            self._set_status(unique_id, UNRESOLVED, only_from=(ARCHIVED,))

    def unarchive_range(self, start: str, end: str) -> None:
        first, last = c.parse_iso(start), c.parse_iso(end)
        for doc in self.failed_messages():
            if doc["status"] == ARCHIVED and first <= c.parse_iso(doc["last_modified"]) <= last:
                self._set_status(doc["unique_message_id"], UNRESOLVED, only_from=(ARCHIVED,))

    def start_archive_operation(self, group_id: str, unarchive: bool) -> None:
        group = self.group_view(group_id, archived=unarchive)
        with self._lock:
            self.archive_operations[group_id] = ArchiveOperation(
                group_id,
                group["title"] if group else group_id,
                group["type"] if group else "",
                unarchive,
            )

    def archive_in_progress(self, group_id: str) -> bool:
        with self._lock:
            op = self.archive_operations.get(group_id)
            return op is not None and op.state != "ArchiveCompleted"

    def _run_group_archive(self, group_id: str, unarchive: bool) -> None:
        wanted, new_status = (ARCHIVED, UNRESOLVED) if unarchive else (UNRESOLVED, ARCHIVED)
        ids = [
            d["unique_message_id"]
            for d in self.failed_messages()
            if d["status"] == wanted and any(g["id"] == group_id for g in d.get("failure_groups", []))
        ]
        with self._lock:
            op = self.archive_operations.get(group_id)
            if op is None:
                op = ArchiveOperation(group_id, group_id, "", unarchive)
                self.archive_operations[group_id] = op
            op.total, op.state, op.last = len(ids), "ArchiveProgressing", c.utcnow()
        for unique_id in ids:
            self._set_status(unique_id, new_status, only_from=(wanted,))
            with self._lock:
                op.done += 1
        with self._lock:
            op.state = "ArchiveFinalizing"
            op.state = "ArchiveCompleted"
            op.completion_time = c.utcnow()

    def archive_group(self, group_id: str) -> None:
        self._run_group_archive(group_id, unarchive=False)

    def unarchive_group(self, group_id: str) -> None:
        self._run_group_archive(group_id, unarchive=True)

    # ------------------------------------------------------------------ groups

    def _groups(self, statuses: tuple[int, ...], classifier: str, classifier_filter: str | None) -> dict[str, dict]:
        groups: dict[str, dict] = {}
        comments = {d["id"]: d["comment"] for d in self.store.all(GROUP_COMMENTS)}
        for doc in self.failed_messages():
            if doc["status"] not in statuses:
                continue
            attempted = c.parse_iso(doc["processing_attempts"][-1]["failure_details"]["time_of_failure"])
            for group in doc.get("failure_groups", []):
                if group["type"] != classifier:
                    continue
                if classifier_filter and group["title"] != classifier_filter:
                    continue
                view = groups.setdefault(
                    group["id"],
                    {
                        "id": group["id"],
                        "title": group["title"],
                        "type": group["type"],
                        "count": 0,
                        "comment": comments.get(group["id"]),
                        "first": attempted,
                        "last": attempted,
                    },
                )
                view["count"] += 1
                view["first"] = min(view["first"], attempted)
                view["last"] = max(view["last"], attempted)
        return groups

    def group_view(self, group_id: str, archived: bool = False) -> dict | None:
        for doc in self.failed_messages():
            for group in doc.get("failure_groups", []):
                if group["id"] == group_id:
                    views = self._groups((ARCHIVED,) if archived else (UNRESOLVED,), group["type"], None)
                    return views.get(group_id) or {"id": group_id, "title": group["title"], "type": group["type"]}
        return None

    def group_views(self, classifier: str, classifier_filter: str | None, archived: bool = False) -> list[dict]:
        return list(self._groups((ARCHIVED,) if archived else (UNRESOLVED,), classifier, classifier_filter).values())

    def group_operations(self, classifier: str, classifier_filter: str | None) -> list[dict]:
        """GroupFetcher.GetGroups: open groups with their retry/archive state, plus closed unacknowledged ones."""
        history = self.retry_history()
        unacked = [u for u in history["unacknowledged_operations"] if u.get("classifier") == classifier]
        open_groups = self.group_views(classifier, classifier_filter)
        open_ids = {g["id"] for g in open_groups}
        result = []
        with self._lock:
            archives = dict(self.archive_operations)
            for group in open_groups:
                op = self._operation(group["id"], "failureGroup")
                historic = next(
                    (
                        h
                        for h in sorted(
                            history["historic_operations"], key=lambda h: h["completion_time"], reverse=True
                        )
                        if h["request_id"] == group["id"] and h["retry_type"] == "failureGroup"
                    ),
                    None,
                )
                unack = next(
                    (u for u in unacked if u["request_id"] == group["id"] and u["retry_type"] == "failureGroup"), None
                )
                progress, remaining = op.progress() if op else (0.0, None)
                entry = c.compact(
                    id=group["id"],
                    title=group["title"],
                    type=group["type"],
                    count=group["count"],
                    comment=group["comment"],
                    first=c.json_date(group["first"]),
                    last=c.json_date(group["last"]),
                    operation_status=op.state if op else "None",
                    operation_failed=op.failed if op else None,
                    operation_progress=progress,
                    operation_remaining_count=remaining,
                    operation_start_time=c.json_date(op.started) if op else None,
                    operation_completion_time=(
                        c.json_date(op.completion_time)
                        if op and op.completion_time
                        else (unack or {}).get("completion_time") or (historic or {}).get("completion_time")
                    ),
                    need_user_acknowledgement=unack is not None,
                )
                archive = archives.get(group["id"])
                if archive is not None and not archive.dismissed:
                    entry.update(archive_fields(archive))
                result.append(entry)
            for unack in unacked:
                if unack["request_id"] in open_ids or unack["retry_type"] != "failureGroup":
                    continue
                result.append(
                    c.compact(
                        id=unack["request_id"],
                        title=unack.get("originator"),
                        type=classifier,
                        count=unack["number_of_messages_processed"],
                        last=unack.get("last"),
                        operation_status="Completed",
                        operation_failed=unack["failed"],
                        operation_progress=0.0,
                        operation_start_time=unack["start_time"],
                        operation_completion_time=unack["completion_time"],
                        need_user_acknowledgement=True,
                    )
                )
            for archive in archives.values():
                if (
                    archive.needs_acknowledgement()
                    and archive.request_id not in open_ids
                    and archive.classifier == classifier
                ):
                    result.append(
                        c.compact(
                            id=archive.request_id,
                            title=archive.group_name,
                            type=classifier,
                            count=archive.done,
                            last=c.json_date(archive.last),
                            **archive_fields(archive),
                        )
                    )
        result.sort(key=lambda g: g.get("last") or "", reverse=True)
        return result

    # ------------------------------------------------------------------ custom checks

    def custom_checks(self) -> list[dict]:
        checks = list(self.store.all(CUSTOM_CHECKS))
        me = compact_endpoint(self.settings.instance_name, None, None)
        now = c.json_date(c.utcnow())

        def internal(check_id: str, failure: str | None, category: str = "ServiceControl Health") -> dict:
            return c.compact(
                id=c.deterministic_guid(self.settings.instance_name, check_id),
                custom_check_id=check_id,
                category=category,
                status="fail" if failure else "pass",
                reported_at=now,
                failure_reason=failure,
                originating_endpoint=me,
            )

        if self.settings.ingest_error_messages:
            # The ingestion check only exists when ingestion does (it reports the watchdog's last failure).
            failure = self.watchdog.last_failure if self.watchdog else None
            checks.append(internal(INGESTION_PROCESS_CHECK, failure))
        checks.append(
            internal(FAILED_IMPORT_CHECK, FAILED_IMPORT_MESSAGE if self.store.count(FAILED_IMPORTS) else None)
        )
        if self.settings.remote_instances:
            reasons = [self.unavailable_remotes[base] for base in sorted(self.unavailable_remotes)]
            checks.append(internal(REMOTES_CHECK, "\n".join(reasons) + "\n" if reasons else None, "Health"))
        return checks


def archive_fields(archive: ArchiveOperation) -> dict:
    progress = archive.done / archive.total if archive.total else (1.0 if archive.state == "ArchiveCompleted" else 0.0)
    return c.compact(
        operation_status=archive.state,
        operation_failed=False,
        operation_progress=progress,
        operation_remaining_count=archive.total - archive.done,
        operation_start_time=c.json_date(archive.started),
        operation_completion_time=c.json_date(archive.completion_time),
        operation_messages_completed_count=archive.done,
        need_user_acknowledgement=archive.needs_acknowledgement(),
    )


def compact_endpoint(name: str | None, host_id: str | None, host: str | None) -> dict:
    return c.compact(name=name, host_id=str(uuid.UUID(host_id)) if host_id else None, host=host)


def last_attempt(doc: dict) -> dict:
    return doc["processing_attempts"][-1]


def receiving_of(doc: dict) -> dict | None:
    return last_attempt(doc)["message_metadata"].get("ReceivingEndpoint")


def queue_address_of(doc: dict) -> str | None:
    return last_attempt(doc)["failure_details"].get("address_of_failing_endpoint")


def failed_message_view(doc: dict) -> dict:
    """FailedMessageView, built from the last processing attempt."""
    attempt = last_attempt(doc)
    metadata = attempt["message_metadata"]
    failure = attempt["failure_details"]
    return c.compact(
        id=doc["unique_message_id"],
        message_type=metadata.get("MessageType"),
        time_sent=metadata.get("TimeSent"),
        is_system_message=bool(metadata.get("IsSystemMessage", False)),
        exception=failure.get("exception"),
        message_id=attempt.get("message_id"),
        number_of_processing_attempts=len(doc["processing_attempts"]),
        status=STATUS_NAMES[doc["status"]],
        sending_endpoint=metadata.get("SendingEndpoint"),
        receiving_endpoint=metadata.get("ReceivingEndpoint"),
        queue_address=failure.get("address_of_failing_endpoint"),
        time_of_failure=failure.get("time_of_failure"),
        last_modified=doc.get("last_modified"),
        edited=False,
    )


def failed_message_document(doc: dict) -> dict:
    """GET /api/errors/{id}: the stored FailedMessage, status as its camelCase name."""
    result = {k: v for k, v in doc.items() if k != "last_modified"}
    result["status"] = STATUS_NAMES[doc["status"]]
    return result


def messages_view(doc: dict) -> dict:
    """MessagesView of a failed message (MessagesViewTransformer), as the Error instance serves /api/messages."""
    attempt = last_attempt(doc)
    metadata = attempt["message_metadata"]
    status = doc["status"]
    if status == RESOLVED:
        view_status = "resolvedSuccessfully"
    elif status == RETRY_ISSUED:
        view_status = "retryIssued"
    elif status == ARCHIVED:
        view_status = "archivedFailure"
    else:
        view_status = "failed" if len(doc["processing_attempts"]) == 1 else "repeatedFailure"
    return c.compact(
        id=doc["unique_message_id"],
        message_id=metadata.get("MessageId"),
        message_type=metadata.get("MessageType"),
        sending_endpoint=metadata.get("SendingEndpoint"),
        receiving_endpoint=metadata.get("ReceivingEndpoint"),
        time_sent=metadata.get("TimeSent"),
        processed_at=attempt.get("attempted_at"),
        critical_time="00:00:00",
        processing_time="00:00:00",
        delivery_time="00:00:00",
        is_system_message=bool(metadata.get("IsSystemMessage", False)),
        conversation_id=metadata.get("ConversationId"),
        headers=[{"key": k, "value": v} for k, v in attempt["headers"].items()],
        status=view_status,
        message_intent=metadata.get("MessageIntent", "send"),
        body_url=metadata.get("BodyUrl"),
        body_size=metadata.get("ContentLength", 0),
    )
