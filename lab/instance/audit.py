"""The lab's Audit instance: audit ingestion, forwarding, retry acknowledgements, endpoint detection.

Follows ServiceControl.Audit 6.19.2: AuditIngestion/AuditIngestor/AuditPersister and the enrichers
(MessageType, tracking ids, processing statistics, DetectNewEndpointsFromAuditImports,
DetectSuccessfulRetries). The audit instance's input queue exists but is not consumed (6.x is send-only).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable

from lab.instance import common as c
from lab.instance.audit_checks import AuditCustomChecks
from lab.instance.retention import ExpirySweeper, expire_after
from lab.instance.runtime import (
    IngestionPump,
    IngestionWatchdog,
    InstanceEngine,
    TransportFactory,
    command_message,
    failed_import,
)
from lab.instance.store import DocumentStore
from lab.settings import AuditSettings, format_timespan
from lab.transports.base import LabMessage, LabTransport

log = logging.getLogger("lab.instance.audit")

PROCESSED_MESSAGES = "ProcessedMessages"
SAGA_SNAPSHOTS = "SagaSnapshots"
FAILED_IMPORTS = "FailedAuditImports"
SAGA_UPDATED = "ServiceControl.SagaAudit.SagaUpdatedMessage"
REGISTER_NEW_ENDPOINT = "ServiceControl.Contracts.EndpointControl.RegisterNewEndpoint"


class AuditInstance(InstanceEngine):
    kind = "audit"
    settings: AuditSettings

    def __init__(
        self,
        settings: AuditSettings,
        transport_factory: TransportFactory,
        store: DocumentStore,
        on_fatal: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(settings, transport_factory, store, on_fatal)
        features = settings.features
        #: AuditRetentionPeriod as the lab's retention clock measures it: every processed message expires then.
        self.retention = features.scaled(settings.audit_retention_period)
        self.expiry = ExpirySweeper(store, (PROCESSED_MESSAGES, SAGA_SNAPSHOTS), features.expiration_process_timer)
        self.checks = AuditCustomChecks(settings, transport_factory, store, self)
        self._known_instances: set[str] = set()
        self.ingestion_errors: list[str] = []
        self.pump = IngestionPump(
            "audit message ingestion",
            transport_factory,
            settings.audit_queue,
            settings.audit_log_queue,
            forward=settings.forward_audit_messages,
            concurrency=settings.maximum_concurrency_level or 32,
            restart_interval=settings.time_to_restart_audit_ingestion.total_seconds(),
            process=self._process_batch,
            store_failed_import=self._store_failed_import,
            on_failed_startup=self.on_fatal,
            logger=log,
        )

    @property
    def watchdog(self) -> IngestionWatchdog | None:
        return self.pump.watchdog

    @property
    def ingestion_running(self) -> threading.Event:
        return self.pump.running

    def start(self) -> None:
        self.expiry.start()
        self.checks.start()
        if not self.settings.ingest_audit_messages:
            log.info("Audit ingestion disabled")
            return
        self.pump.begin()

    def stop(self) -> None:
        self.pump.shutdown()
        self.checks.stop()
        self.expiry.stop()

    def failed_import_count(self) -> int:
        return self.store.count(FAILED_IMPORTS)

    # ------------------------------------------------------------------ ingestion

    def _process_batch(self, transport: LabTransport, batch: list[LabMessage]) -> tuple[list, dict]:
        to_forward: list[LabMessage] = []
        errors: dict[int, Exception] = {}
        for message in batch:
            try:
                # Saga snapshots are stored, not forwarded.
                if self._process(transport, message) == "ProcessedMessage":
                    to_forward.append(message)
            except Exception as exc:
                log.warning("Processing of message '%s' failed: %s", message.message_id, exc)
                self.ingestion_errors.append(str(exc))
                errors[id(message)] = exc
        return to_forward, errors

    def _store_failed_import(self, message: LabMessage, exc: Exception) -> None:
        # FailedAuditImport: the transport message (id, headers, body) and why it failed.
        import_id, document = failed_import(message, str(exc))
        self.store.put(FAILED_IMPORTS, import_id, document)
        self.store.put_body("%s/%s" % (FAILED_IMPORTS, import_id), message.body or b"")

    def _process(self, transport: LabTransport, message: LabMessage) -> str:
        headers = dict(message.headers)
        if headers.get(c.ENCLOSED_TYPES) == SAGA_UPDATED:
            snapshot_id = str(uuid.uuid4())
            snapshot = {"id": snapshot_id, "message": json.loads(message.body.decode("utf-8"))}
            expire_after(snapshot, self.retention)
            self.store.put(SAGA_SNAPSHOTS, snapshot_id, snapshot)
            return "SagaSnapshot"
        message_id = headers.get(c.MESSAGE_ID) or c.deterministic_guid(message.native_id)
        metadata: dict = {"MessageId": message_id, "MessageIntent": c.message_intent(headers)}
        mtype, is_system = c.message_type(headers)
        metadata["IsSystemMessage"] = is_system
        metadata["MessageType"] = mtype
        if c.CONVERSATION_ID in headers:
            metadata["ConversationId"] = headers[c.CONVERSATION_ID]
        _processing_statistics(headers, metadata)
        sending = c.sending_endpoint(headers)
        receiving = c.receiving_endpoint(headers, for_errors=False)
        commands = self._detect_new_endpoints(metadata, sending, receiving)
        acknowledgements = _detect_successful_retry(headers, metadata)

        for endpoint in commands:
            self._send_register_new_endpoint(transport, endpoint)
        for destination, ack in acknowledgements:
            transport.send(destination, ack)

        processing_endpoint = c.processing_endpoint_name(headers)
        unique_id = headers.get(c.RETRY_UNIQUE_ID) or c.deterministic_guid(
            headers.get(c.MESSAGE_ID), processing_endpoint
        )
        if headers.get(c.MESSAGE_ID) and headers.get(c.PROCESSING_STARTED):
            processing_id = c.deterministic_guid(
                headers[c.MESSAGE_ID], processing_endpoint, headers[c.PROCESSING_STARTED]
            )
        else:
            processing_id = str(uuid.uuid4())
        # ProcessedMessage: the id is "ProcessedMessages-<ProcessingStarted ticks, else now>-<processing id>"; the
        # body is an attachment of that document, linked from BodyUrl only when there is a body.
        started = c.parse_wire(headers.get(c.PROCESSING_STARTED)) or c.utcnow()
        doc_id = "ProcessedMessages-%d-%s" % (c.dotnet_ticks(started), processing_id)
        body = message.body or b""
        metadata["ContentLength"] = len(body)
        if body:
            metadata["BodyUrl"] = "/messages/%s/body" % doc_id
        processed_at = c.parse_wire(headers.get(c.PROCESSING_ENDED)) or c.utcnow()
        document = {
            "id": doc_id,
            "unique_message_id": unique_id,
            "message_metadata": metadata,
            "headers": headers,
            "processed_at": c.json_date(processed_at),
        }
        expire_after(document, self.retention)
        self.store.put(PROCESSED_MESSAGES, doc_id, document)
        if body and len(body) <= self.settings.max_body_size_to_store:
            self.store.put_body(doc_id, body)
        return "ProcessedMessage"

    def _detect_new_endpoints(self, metadata: dict, sending: dict | None, receiving: dict | None) -> list[dict]:
        """DetectNewEndpointsFromAuditImportsEnricher: endpoint instances seen for the first time."""
        new = []
        for endpoint, key in ((sending, "SendingEndpoint"), (receiving, "ReceivingEndpoint")):
            if endpoint is None:
                continue
            metadata[key] = endpoint
            # Endpoints without a host id (pre-4.5 NServiceBus) are not registered.
            if endpoint["host_id"] != c.EMPTY_GUID:
                instance_key = c.deterministic_guid(endpoint["name"], endpoint["host_id"])
                if instance_key not in self._known_instances:
                    self._known_instances.add(instance_key)
                    new.append(endpoint)
        return new

    def _send_register_new_endpoint(self, transport: LabTransport, endpoint: dict) -> None:
        destination = self.settings.service_control_queue_address
        if not destination or not destination.strip():
            # No route for RegisterNewEndpoint: NServiceBus' unicast router refuses the send.
            raise RuntimeError("No destination specified for message: %s" % REGISTER_NEW_ENDPOINT)
        destination = destination.split("@", 1)[0]
        body = {
            "DetectedAt": c.json_date(c.utcnow()),
            "Endpoint": {"Name": endpoint["name"], "HostId": endpoint["host_id"], "Host": endpoint.get("host")},
        }
        transport.send(destination, command_message(REGISTER_NEW_ENDPOINT, body, self.settings.instance_name))

    # ------------------------------------------------------------------ queries

    def processed_messages(self) -> list[dict]:
        return self.store.all(PROCESSED_MESSAGES)

    def saga_snapshots(self) -> list[dict]:
        return [doc["message"] for doc in self.store.all(SAGA_SNAPSHOTS) if "message" in doc]


def _processing_statistics(headers: dict[str, str], metadata: dict) -> None:
    """MessageTypeEnricher's neighbours: TimeSent and the processing/critical/delivery times."""
    sent = c.parse_wire(headers.get(c.TIME_SENT))
    started = c.parse_wire(headers.get(c.PROCESSING_STARTED))
    ended = c.parse_wire(headers.get(c.PROCESSING_ENDED))
    if sent is not None:
        metadata["TimeSent"] = c.json_date(sent)
    if started and ended:
        metadata["ProcessingTime"] = format_timespan(ended - started)
    if sent and ended:
        metadata["CriticalTime"] = format_timespan(ended - sent)
    if sent and started:
        metadata["DeliveryTime"] = format_timespan(started - sent)


def _detect_successful_retry(headers: dict[str, str], metadata: dict) -> list[tuple[str, LabMessage]]:
    """DetectSuccessfulRetriesEnricher: acknowledge a retry the endpoint did not acknowledge itself."""
    is_new_retry = c.RETRY_UNIQUE_ID in headers
    retried = c.RETRY_ID_LEGACY in headers or is_new_retry
    metadata["IsRetried"] = retried
    if not retried or c.RETRY_ACK_SENT in headers or c.RETRY_ACK_QUEUE not in headers or not is_new_retry:
        return []
    ack = LabMessage(
        headers={c.RETRY_SUCCESSFUL: c.to_wire(c.utcnow()), c.RETRY_UNIQUE_ID: headers[c.RETRY_UNIQUE_ID]},
        body=b"",
    )
    return [(headers[c.RETRY_ACK_QUEUE], ack)]


def audit_messages_view(doc: dict) -> dict:
    metadata = doc["message_metadata"]
    status = "resolvedSuccessfully" if metadata.get("IsRetried") else "successful"
    return c.build_messages_view(doc["unique_message_id"], metadata, doc["headers"], doc["processed_at"], status)


def _saga_change(message: dict) -> dict:
    """SagaSnapshotFactory.Create, as a SagaStateChange (the SagaDetailsIndex map)."""
    status = "completed" if message.get("IsCompleted") else ("new" if message.get("IsNew") else "updated")
    initiator = message.get("Initiator") or {}
    outgoing: dict[str, dict] = {}
    for item in message.get("ResultingMessages") or []:
        outgoing[item.get("ResultingMessageId")] = c.compact(
            delivery_delay=item.get("DeliveryDelay"),
            destination=item.get("Destination"),
            deliver_at=_date(item.get("DeliveryAt")),
            message_id=item.get("ResultingMessageId"),
            time_sent=_date(item.get("TimeSent")),
            message_type=item.get("MessageType"),
            intent=item.get("Intent"),
        )
    return c.compact(
        start_time=_date(message.get("StartTime")),
        finish_time=_date(message.get("FinishTime")),
        status=status,
        state_after_change=message.get("SagaState"),
        initiating_message=c.compact(
            message_id=initiator.get("InitiatingMessageId"),
            is_saga_timeout_message=bool(initiator.get("IsSagaTimeoutMessage", False)),
            originating_endpoint=initiator.get("OriginatingEndpoint"),
            originating_machine=initiator.get("OriginatingMachine"),
            time_sent=_date(initiator.get("TimeSent")),
            message_type=initiator.get("MessageType"),
            intent=initiator.get("Intent"),
        ),
        outgoing_messages=list(outgoing.values()),
        endpoint=message.get("Endpoint"),
    )


def _date(value: str | None) -> str | None:
    return c.json_date(c.parse_iso(value)) if value else None


def saga_history(snapshots: list[dict], saga_id: str) -> dict | None:
    """SagaDetailsIndex's reduce for one saga: its changes, newest first (at most 50000), or None."""
    mine = [m for m in snapshots if str(m.get("SagaId", "")).lower() == saga_id]
    if not mine:
        return None
    changes = sorted((_saga_change(m) for m in mine), key=lambda ch: ch.get("finish_time") or "", reverse=True)
    return {"id": saga_id, "saga_id": saga_id, "saga_type": mine[0].get("SagaType"), "changes": changes[:50000]}
