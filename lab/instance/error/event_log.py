"""The event log: the domain events the lab's Error instance raises, recorded as ServiceControl's EventLogItems.

ServiceControl 6.19.2: EventLog/EventLogMappingDefinition (category = the last namespace segment of the event
type, severity Info unless a definition says otherwise, raised at "now" unless it says otherwise, related-to
links ``/message/{id}``, ``/endpoint/{name}``, ``/recoverability/groups/{id}``), the definitions in
Recoverability/EventLog and the RavenDB EventLogDataStore (id ``EventLogItem/{category}/{event type}/{v7 guid}``,
listed newest first, each expiring ``EventsRetentionPeriod`` after it was written). docs/reference §2.8.

The events the lab raises are the recoverability ones below; heartbeat, custom-check, redirect and
external-integration events are not raised (lab/README.md).
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid

from lab.instance import common as c
from lab.instance.common import EXPIRES
from lab.instance.store import DocumentStore

EVENT_LOG = "EventLogItems"

MESSAGE_FAILURES = "MessageFailures"  # ServiceControl.Contracts.MessageFailures
RECOVERABILITY = "Recoverability"  # ServiceControl.Recoverability


def uuid7() -> str:
    """Guid.CreateVersion7: 48 bits of Unix milliseconds, then random bits, version 7, RFC 4122 variant."""
    millis = int(time.time() * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis << 80) | (0x7 << 76) | ((rand >> 68) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


class EventLog:
    """EventLogItems, written by the components through ``raise_event``."""

    def __init__(self, store: DocumentStore, retention: dt.timedelta) -> None:
        self.store = store
        #: EventsRetentionPeriod as the lab's retention clock measures it.
        self.retention = retention

    def raise_event(
        self,
        event_type: str,
        category: str,
        description: str,
        *,
        severity: str = "info",
        related_to: list[str] | None = None,
        raised_at: str | None = None,
    ) -> None:
        doc_id = "EventLogItem/%s/%s/%s" % (category, event_type, uuid7())
        now = c.utcnow()
        self.store.put(
            EVENT_LOG,
            doc_id,
            {
                "id": doc_id,
                "description": description,
                "severity": severity,
                "raised_at": raised_at or c.json_date(now),
                "related_to": related_to or [],
                "category": category,
                "event_type": event_type,
                EXPIRES: c.json_date(now + self.retention),
            },
        )

    def items(self) -> list[dict]:
        """EventLogItemViews, newest first."""
        docs = self.store.all(EVENT_LOG)
        docs.sort(key=lambda d: c.parse_iso(d["raised_at"]), reverse=True)
        return [{k: v for k, v in d.items() if k != EXPIRES} for d in docs]

    # ------------------------------------------------------------------ the definitions the lab raises

    def message_failed(self, unique_id: str, endpoint: str, failure: dict) -> None:
        self.raise_event(
            "MessageFailed",
            MESSAGE_FAILURES,
            (failure.get("exception") or {}).get("message") or "",
            severity="error",
            related_to=["/message/%s" % unique_id, "/endpoint/%s" % endpoint],
            raised_at=failure.get("time_of_failure"),
        )

    def resolved_by_retry(self, unique_id: str) -> None:
        self.raise_event(
            "MessageFailureResolvedByRetry",
            MESSAGE_FAILURES,
            "Failed message resolved by retry",
            related_to=["/message/%s" % unique_id],
        )

    def resolved_manually(self, unique_id: str) -> None:
        self.raise_event(
            "MessageFailureResolvedManually",
            MESSAGE_FAILURES,
            "Failed message resolved manually by user",
            related_to=["/message/%s" % unique_id],
        )

    def archived(self, unique_id: str) -> None:
        self.raise_event(
            "FailedMessageArchived", MESSAGE_FAILURES, "Failed message deleted.", related_to=["/message/%s" % unique_id]
        )

    def unarchived(self, count: int) -> None:
        self.raise_event("FailedMessagesUnArchived", MESSAGE_FAILURES, "%d failed message(s) restored" % count)

    def group_archived(self, group_id: str, group_name: str, count: int, unarchive: bool) -> None:
        if unarchive:
            event, text = "FailedMessageGroupUnarchived", "Restored %d message(s) from group: %s"
        else:
            event, text = "FailedMessageGroupArchived", "Deleted %d message(s) from group: %s"
        self.raise_event(
            event, RECOVERABILITY, text % (count, group_name), related_to=["/recoverability/groups/%s" % group_id]
        )

    def submitted_for_retry(self, unique_ids: list[str], count: int, context: str | None) -> None:
        if context and context.strip():
            text = "%s containing %d message(s) submitted for retry." % (context, count)
        else:
            text = "%d failed message(s) submitted for retry." % count
        self.raise_event(
            "MessagesSubmittedForRetry",
            RECOVERABILITY,
            text,
            related_to=["/message/%s" % unique_id for unique_id in unique_ids],
        )
