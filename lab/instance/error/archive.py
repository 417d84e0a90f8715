"""Archiving: failed messages archived and unarchived one by one, by range, and a failure group at a time.

ServiceControl/MessageFailures/Handlers (ArchiveMessageHandler, UnArchiveMessagesHandler,
UnArchiveMessagesByRangeHandler) and ServiceControl/Recoverability/Archiving (ArchiveAllInGroupHandler,
UnArchiveAllInGroupHandler, with the ArchivingManager's InMemoryArchive operations).
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

from lab.instance import common as c
from lab.instance.error.event_log import EventLog
from lab.instance.error.failed_messages import ARCHIVED, UNRESOLVED, FailedMessages, in_group, modified_within
from lab.instance.error.groups import FailureGroups

CMD_ARCHIVE = "ServiceControl.MessageFailures.InternalMessages.ArchiveMessage"
CMD_ARCHIVE_GROUP = "ServiceControl.Recoverability.ArchiveAllInGroup"
CMD_UNARCHIVE = "ServiceControl.MessageFailures.InternalMessages.UnArchiveMessages"
CMD_UNARCHIVE_RANGE = "ServiceControl.MessageFailures.InternalMessages.UnArchiveMessagesByRange"
CMD_UNARCHIVE_GROUP = "ServiceControl.Recoverability.UnarchiveAllInGroup"


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

    def fields(self) -> dict:
        """The operation's part of a failure group's JSON."""
        progress = self.done / self.total if self.total else (1.0 if self.state == "ArchiveCompleted" else 0.0)
        return c.compact(
            operation_status=self.state,
            operation_failed=False,
            operation_progress=progress,
            operation_remaining_count=self.total - self.done,
            operation_start_time=c.json_date(self.started),
            operation_completion_time=c.json_date(self.completion_time),
            operation_messages_completed_count=self.done,
            need_user_acknowledgement=self.needs_acknowledgement(),
        )


class Archiver:
    """The archive commands' handlers and the group archive operations (``lock`` is the instance's)."""

    def __init__(
        self, failed: FailedMessages, groups: FailureGroups, lock: threading.RLock, events: EventLog | None = None
    ) -> None:
        self.failed = failed
        self.groups = groups
        self._lock = lock
        self.events = events
        self.operations: dict[str, ArchiveOperation] = {}

    def handlers(self) -> dict:
        return {
            CMD_ARCHIVE: lambda p: self.archive([p["FailedMessageId"]]),
            CMD_ARCHIVE_GROUP: lambda p: self.archive_group(p["GroupId"]),
            CMD_UNARCHIVE: lambda p: self.unarchive(p["FailedMessageIds"]),
            CMD_UNARCHIVE_RANGE: lambda p: self.unarchive_range(p["From"], p["To"]),
            CMD_UNARCHIVE_GROUP: lambda p: self.unarchive_group(p["GroupId"]),
        }

    def archive(self, unique_ids: list[str]) -> None:
        for unique_id in unique_ids:
            doc = self.failed.get(unique_id)
            if doc is not None and doc["status"] != ARCHIVED and self.events is not None:
                self.events.archived(unique_id)
            self.failed.set_status(unique_id, ARCHIVED)

    def unarchive(self, unique_ids: list[str]) -> None:
        # UnArchiveMessagesHandler reports every message it loaded, archived or not.
        loaded = [u for u in unique_ids if self.failed.get(u) is not None]
        for unique_id in unique_ids:
            self.failed.set_status(unique_id, UNRESOLVED, only_from=(ARCHIVED,))
        if self.events is not None:
            self.events.unarchived(len(loaded))

    def unarchive_range(self, start: str, end: str) -> None:
        first, last = c.parse_iso(start), c.parse_iso(end)
        ids = self.failed.ids(ARCHIVED, lambda d: modified_within(d, first, last))
        for unique_id in ids:
            self.failed.set_status(unique_id, UNRESOLVED, only_from=(ARCHIVED,))
        if self.events is not None:
            self.events.unarchived(len(ids))

    # ------------------------------------------------------------------ groups

    def start_operation(self, group_id: str, unarchive: bool) -> None:
        """What the group (un)archive API does before sending the command (ArchivingManager.StartArchiving)."""
        group = self.groups.group_view(group_id, archived=unarchive)
        with self._lock:
            self.operations[group_id] = ArchiveOperation(
                group_id,
                group["title"] if group else group_id,
                group["type"] if group else "",
                unarchive,
            )

    def in_progress(self, group_id: str) -> bool:
        with self._lock:
            op = self.operations.get(group_id)
            return op is not None and op.state != "ArchiveCompleted"

    def dismiss(self, group_id: str) -> bool:
        """Acknowledge a group's archive operation; False when there is none to acknowledge."""
        with self._lock:
            archive = self.operations.get(group_id)
            if archive is not None and not archive.dismissed:
                archive.dismissed = True
                return True
        return False

    def archive_group(self, group_id: str) -> None:
        self._run_group_archive(group_id, unarchive=False)

    def unarchive_group(self, group_id: str) -> None:
        self._run_group_archive(group_id, unarchive=True)

    def _run_group_archive(self, group_id: str, unarchive: bool) -> None:
        wanted, new_status = (ARCHIVED, UNRESOLVED) if unarchive else (UNRESOLVED, ARCHIVED)
        ids = self.failed.ids(wanted, lambda d: in_group(d, group_id))
        with self._lock:
            op = self.operations.get(group_id)
            if op is None:
                op = ArchiveOperation(group_id, group_id, "", unarchive)
                self.operations[group_id] = op
            op.total, op.state, op.last = len(ids), "ArchiveProgressing", c.utcnow()
        for unique_id in ids:
            self.failed.set_status(unique_id, new_status, only_from=(wanted,))
            with self._lock:
                op.done += 1
        with self._lock:
            op.state = "ArchiveFinalizing"
            op.state = "ArchiveCompleted"
            op.completion_time = c.utcnow()
        if self.events is not None:
            self.events.group_archived(group_id, op.group_name, op.total, unarchive)
