"""Failure groups: the groups the failed messages fall into, their comments, and the groups list with operations.

ServiceControl/Recoverability: Grouping (the five classifiers are lab.instance.common.failure_groups; the
FailureGroupView index is ``FailureGroups.views``), the group comments, and API/GroupFetcher (open groups with
their retry or archive operation, plus closed operations that still need the user's acknowledgement).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from lab.instance import common as c
from lab.instance.error.failed_messages import ARCHIVED, UNRESOLVED, FailedMessages
from lab.instance.store import DocumentStore

if TYPE_CHECKING:
    from lab.instance.error.archive import Archiver
    from lab.instance.error.retries import Retries

GROUP_COMMENTS = "GroupComments"


class FailureGroups:
    """Failure-group views computed from the failed messages, and the groups' comments."""

    def __init__(self, store: DocumentStore, failed: FailedMessages) -> None:
        self.store = store
        self.failed = failed

    def comment(self, group_id: str, comment: str | None) -> None:
        self.store.put(GROUP_COMMENTS, group_id, {"id": group_id, "comment": comment})

    def delete_comment(self, group_id: str) -> None:
        self.store.delete(GROUP_COMMENTS, group_id)

    def views(self, statuses: tuple[int, ...], classifier: str, classifier_filter: str | None) -> dict[str, dict]:
        groups: dict[str, dict] = {}
        comments = {d["id"]: d["comment"] for d in self.store.all(GROUP_COMMENTS)}
        for doc in self.failed.all():
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
        for doc in self.failed.all():
            for group in doc.get("failure_groups", []):
                if group["id"] == group_id:
                    views = self.views((ARCHIVED,) if archived else (UNRESOLVED,), group["type"], None)
                    return views.get(group_id) or {"id": group_id, "title": group["title"], "type": group["type"]}
        return None

    def group_views(self, classifier: str, classifier_filter: str | None, archived: bool = False) -> list[dict]:
        return list(self.views((ARCHIVED,) if archived else (UNRESOLVED,), classifier, classifier_filter).values())


class GroupFetcher:
    """GroupFetcher.GetGroups: open groups with their retry/archive state, plus closed unacknowledged ones."""

    def __init__(self, groups: FailureGroups, retries: Retries, archive: Archiver, lock: threading.RLock) -> None:
        self.groups = groups
        self.retries = retries
        self.archive = archive
        self._lock = lock

    def group_operations(self, classifier: str, classifier_filter: str | None) -> list[dict]:
        history = self.retries.history()
        unacked = [u for u in history["unacknowledged_operations"] if u.get("classifier") == classifier]
        open_groups = self.groups.group_views(classifier, classifier_filter)
        open_ids = {g["id"] for g in open_groups}
        result = []
        with self._lock:
            archives = dict(self.archive.operations)
            for group in open_groups:
                result.append(self._open_group(group, history, unacked, archives.get(group["id"])))
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
                            **archive.fields(),
                        )
                    )
        result.sort(key=lambda g: g.get("last") or "", reverse=True)
        return result

    def _open_group(self, group: dict, history: dict, unacked: list[dict], archive) -> dict:
        op = self.retries.operation(group["id"], "failureGroup")
        historic = next(
            (
                h
                for h in sorted(history["historic_operations"], key=lambda h: h["completion_time"], reverse=True)
                if h["request_id"] == group["id"] and h["retry_type"] == "failureGroup"
            ),
            None,
        )
        unack = next((u for u in unacked if u["request_id"] == group["id"] and u["retry_type"] == "failureGroup"), None)
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
        if archive is not None and not archive.dismissed:
            entry.update(archive.fields())
        return entry
