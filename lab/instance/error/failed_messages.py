"""The FailedMessage documents the Error instance stores, their status changes, and the views the API serves.

ServiceControl: ServiceControl.Persistence's FailedMessage (statuses, processing attempts, failure groups) and
ServiceControl/MessageFailures (FailedMessageView; the MessagesView of a failure, MessagesViewTransformer).
"""

from __future__ import annotations

import datetime as dt

from lab.instance import common as c
from lab.instance.store import DocumentStore

FAILED_MESSAGES = "FailedMessages"

STATUS_NAMES = {1: "unresolved", 2: "resolved", 3: "retryIssued", 4: "archived"}
STATUS_VALUES = {"unresolved": 1, "resolved": 2, "retryissued": 3, "archived": 4}
UNRESOLVED, RESOLVED, RETRY_ISSUED, ARCHIVED = 1, 2, 3, 4
EDIT_OF = "ServiceControl.EditOf"


class FailedMessages:
    """The FailedMessages collection: reads, selections and status changes.

    ``retention`` is ErrorRetentionPeriod as the lab's retention clock measures it: a message that becomes
    Resolved or Archived expires that long after the change, any other status cancels it (lab.instance.retention).
    """

    def __init__(self, store: DocumentStore, retention: dt.timedelta | None = None) -> None:
        self.store = store
        self.retention = retention

    def all(self) -> list[dict]:
        return self.store.all(FAILED_MESSAGES)

    def get(self, unique_id: str) -> dict | None:
        return self.store.get(FAILED_MESSAGES, unique_id)

    def ids(self, status: int, predicate=lambda doc: True) -> list[str]:
        """The unique ids of the failed messages in ``status`` that ``predicate`` accepts."""
        return [d["unique_message_id"] for d in self.all() if d["status"] == status and predicate(d)]

    def set_status(self, unique_id: str, status: int, only_from: tuple[int, ...] | None = None) -> bool:
        def change(doc: dict):
            if only_from is not None and doc["status"] not in only_from:
                return False
            if doc["status"] == status:
                return False
            doc["status"] = status
            doc["last_modified"] = c.json_date(c.utcnow())
            self.set_expiry(doc)
            return True

        return self.store.update(FAILED_MESSAGES, unique_id, change) is not None

    def set_expiry(self, doc: dict) -> None:
        """ExpirationManager: Resolved and Archived messages expire, the others do not."""
        expiring = doc["status"] in (RESOLVED, ARCHIVED) and self.retention is not None
        if expiring:
            doc[c.EXPIRES] = c.json_date(c.utcnow() + self.retention)
        else:
            doc.pop(c.EXPIRES, None)


def last_attempt(doc: dict) -> dict:
    return doc["processing_attempts"][-1]


def receiving_of(doc: dict) -> dict | None:
    return last_attempt(doc)["message_metadata"].get("ReceivingEndpoint")


def queue_address_of(doc: dict) -> str | None:
    return last_attempt(doc)["failure_details"].get("address_of_failing_endpoint")


def in_group(doc: dict, group_id: str) -> bool:
    return any(g["id"] == group_id for g in doc.get("failure_groups", []))


def modified_within(doc: dict, first: dt.datetime, last: dt.datetime) -> bool:
    return first <= c.parse_iso(doc["last_modified"]) <= last


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
        # An edited copy carries ServiceControl.EditOf; the view says "" otherwise (never null).
        edited=EDIT_OF in attempt["headers"],
        edit_of=attempt["headers"].get(EDIT_OF, ""),
    )


def failed_message_document(doc: dict) -> dict:
    """GET /api/errors/{id}: the stored FailedMessage, status as its camelCase name."""
    result = {k: v for k, v in doc.items() if k not in ("last_modified", c.EXPIRES)}
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
    return c.build_messages_view(
        doc["unique_message_id"], metadata, attempt["headers"], attempt.get("attempted_at"), view_status
    )
