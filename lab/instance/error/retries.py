"""Retry requests: which failed messages a retry covers, its progress, and the retry history.

ServiceControl/Recoverability/Retrying: the handlers of the retry commands (RetriesHandler,
RetryAllInGroupHandler, PendingRetriesHandler), RetriesGateway and RetryDocumentManager (retry batches of
1000), RetryingManager with InMemoryRetry (the operation's progress), and the history (StoreHistoryHandler,
RetryHistory). The batches are staged and forwarded by lab.instance.error.retry_processor.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from dataclasses import dataclass, field

from lab.instance import common as c
from lab.instance.error.event_log import EventLog
from lab.instance.error.failed_messages import (
    RESOLVED,
    RETRY_ISSUED,
    UNRESOLVED,
    FailedMessages,
    in_group,
    modified_within,
    queue_address_of,
    receiving_of,
)
from lab.instance.error.groups import FailureGroups
from lab.instance.store import DocumentStore
from lab.settings import ErrorSettings

RETRY_HISTORY = "RetryHistory"
HISTORY_ID = "RetryOperations/History"
RETRY_BATCH_SIZE = 1000

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

RETRY_TYPES = (
    "unknown",
    "singleMessage",
    "failureGroup",
    "multipleMessages",
    "allForEndpoint",
    "all",
    "byQueueAddress",
)


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
    #: RetriesGateway's batch name: "'<originator>' batch <n> of <total>" for bulk retries, else None.
    context: str | None = None


class Retries:
    """Retry operations and their batches (in memory, as in ServiceControl) and the stored retry history.

    ``lock`` is the instance's lock shared with archiving and GroupFetcher, which read the operations.
    """

    def __init__(
        self,
        settings: ErrorSettings,
        store: DocumentStore,
        failed: FailedMessages,
        groups: FailureGroups,
        lock: threading.RLock,
        *,
        events: EventLog | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.failed = failed
        self.groups = groups
        self._lock = lock
        self.events = events
        self.operations: dict[tuple[str, str], RetryOperation] = {}
        self._batches: list[RetryBatch] = []

    def handlers(self) -> dict:
        return {
            CMD_RETRY_MESSAGE: lambda p: self.start_retry(
                [p["FailedMessageId"]], "singleMessage", p["FailedMessageId"]
            ),
            # StartRetryForMessageSelection: the request id is the deterministic GUID of the joined ids.
            CMD_RETRY_BY_IDS: lambda p: self.start_retry(
                p["MessageUniqueIds"], "multipleMessages", c.deterministic_guid("".join(p["MessageUniqueIds"]))
            ),
            CMD_RETRY_BY_QUEUE: lambda p: self.retry_by_queue(p["QueueAddress"]),
            CMD_RETRY_ALL: lambda p: self.retry_all(p.get("Endpoint")),
            CMD_RETRY_GROUP: lambda p: self.retry_group(p["GroupId"]),
            CMD_RETRY_PENDING_BY_IDS: lambda p: self.retry_pending(p["MessageUniqueIds"]),
            CMD_RETRY_PENDING: lambda p: self.retry_pending_range(p["QueueAddress"], p["PeriodFrom"], p["PeriodTo"]),
            CMD_RESOLVE_PENDING: lambda p: self.resolve_pending([p["FailedMessageId"]]),
            CMD_RESOLVE_PENDING_RANGE: lambda p: self.resolve_pending_range(
                p.get("QueueAddress"), p["PeriodFrom"], p["PeriodTo"]
            ),
        }

    # ------------------------------------------------------------------ operations (RetryingManager)

    def operation(self, request_id: str, retry_type: str) -> RetryOperation | None:
        return self.operations.get((request_id, retry_type))

    def operation_in_progress(self, request_id: str, retry_type: str) -> bool:
        with self._lock:
            op = self.operation(request_id, retry_type)
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
            doc = self.failed.get(unique_id)
            if doc is None or (statuses is not None and doc["status"] not in statuses):
                continue
            if unique_id not in ids:
                ids.append(unique_id)
        with self._lock:
            op = self.operation(request_id, retry_type)
            if op is None or op.state == "Completed":
                op = RetryOperation(request_id, retry_type, originator=originator, classifier=classifier)
                self.operations[(request_id, retry_type)] = op
            op.state = "Preparing"
            op.total = len(ids)
            op.last = c.utcnow()
            if not ids:
                self._complete_operation(op)
                return
            starts = range(0, len(ids), RETRY_BATCH_SIZE)
            bulk = retry_type not in ("singleMessage", "multipleMessages") and originator is not None
            for number, start in enumerate(starts, 1):
                context = "'%s' batch %d of %d" % (originator, number, len(starts)) if bulk else None
                batch = RetryBatch(str(uuid.uuid4()), op, ids[start : start + RETRY_BATCH_SIZE], context)
                self._batches.append(batch)

    def take_batch(self) -> RetryBatch | None:
        """The next batch for the RetryProcessor, or None."""
        with self._lock:
            return self._batches.pop(0) if self._batches else None

    def batch_done(self, batch: RetryBatch, failed: bool = False) -> None:
        """The RetryProcessor is done with ``batch``; the operation completes with its last batch (or a failure)."""
        op = batch.operation
        with self._lock:
            if failed:
                op.failed = True
                self._complete_operation(op)
            elif not any(b.operation is op for b in self._batches):
                self._complete_operation(op)

    # ------------------------------------------------------------------ the retry commands

    def retry_all(self, endpoint: str | None) -> None:
        if endpoint:
            ids = self.failed.ids(UNRESOLVED, lambda d: (receiving_of(d) or {}).get("name") == endpoint)
            self.start_retry(ids, "allForEndpoint", endpoint, originator="all messages for endpoint %s" % endpoint)
        else:
            self.start_retry(self.failed.ids(UNRESOLVED), "all", "All", originator="All messages")

    def retry_by_queue(self, queue_address: str) -> None:
        wanted = queue_address.lower()
        ids = self.failed.ids(UNRESOLVED, lambda d: (queue_address_of(d) or "").lower() == wanted)
        self.start_retry(ids, "byQueueAddress", queue_address, originator=queue_address)

    def retry_group(self, group_id: str) -> None:
        group = self.groups.group_view(group_id)
        ids = self.failed.ids(UNRESOLVED, lambda d: in_group(d, group_id))
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

        def wanted(doc: dict) -> bool:
            if queue_address is not None and (queue_address_of(doc) or "").lower() != queue_address.lower():
                return False
            return modified_within(doc, start, end)

        return self.failed.ids(RETRY_ISSUED, wanted)

    def retry_pending_range(self, queue_address: str, period_from: str, period_to: str) -> None:
        ids = self._pending_in_range(queue_address, period_from, period_to)
        self.start_retry(ids, "byQueueAddress", queue_address, originator=queue_address, statuses=(RETRY_ISSUED,))

    def resolve_pending(self, unique_ids: list[str]) -> None:
        for unique_id in unique_ids:
            # MarkPendingRetryAsResolved: MarkAsResolved, whatever the status, then the event.
            self.failed.set_status(unique_id, RESOLVED)
            if self.events is not None:
                self.events.resolved_manually(unique_id)

    def resolve_pending_range(self, queue_address: str | None, period_from: str, period_to: str) -> None:
        self.resolve_pending(self._pending_in_range(queue_address, period_from, period_to))

    # ------------------------------------------------------------------ history

    def _complete_operation(self, op: RetryOperation) -> None:
        op.state = "Completed"
        op.completion_time = c.utcnow()
        if op.retry_type == "failureGroup" and self.events is not None:
            # A group's retry is announced once, when the whole operation is done (InMemoryRetry).
            self.events.submitted_for_retry([], op.forwarded, op.originator)
        history = self.history()
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
        self.store.put(RETRY_HISTORY, HISTORY_ID, history)

    def history(self) -> dict:
        return self.store.get(RETRY_HISTORY, HISTORY_ID) or {
            "historic_operations": [],
            "unacknowledged_operations": [],
        }

    def acknowledge_group(self, group_id: str) -> bool:
        """Dismiss a completed group retry from the unacknowledged operations; False when there is none."""
        history = self.history()
        before = len(history["unacknowledged_operations"])
        history["unacknowledged_operations"] = [
            u
            for u in history["unacknowledged_operations"]
            if not (u["request_id"] == group_id and u["retry_type"] == "failureGroup")
        ]
        if len(history["unacknowledged_operations"]) == before:
            return False
        self.store.put(RETRY_HISTORY, HISTORY_ID, history)
        return True
