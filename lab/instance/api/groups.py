"""Failure groups: ``/api/recoverability/...``.

ServiceControl/Recoverability/API: FailureGroupsController (classifiers, groups, a group and its messages,
comments, retry history), FailureGroupsRetryController, FailureGroupsArchiveController,
FailureGroupsUnarchiveController and UnacknowledgedGroupsController.
"""

from __future__ import annotations

from lab.instance import common as c
from lab.instance.api.controller import Controller, accepted, counted_head, etag
from lab.instance.api.failed_messages import failed_message_list, filter_failed
from lab.instance.error import ErrorInstance
from lab.instance.error.archive import CMD_ARCHIVE_GROUP, CMD_UNARCHIVE_GROUP
from lab.instance.error.failed_messages import in_group
from lab.instance.error.groups import FailureGroups
from lab.instance.error.retries import CMD_RETRY_GROUP
from lab.instance.http import Request, Response

DEFAULT_CLASSIFIER = "Exception Type and Stack Trace"


def group_json(view: dict) -> dict:
    """A FailureGroupView as the API writes it."""
    return c.compact(**{**view, "first": c.json_date(view["first"]), "last": c.json_date(view["last"])})


def group_by_id(groups: FailureGroups, group_id: str, archived: bool = False) -> Response:
    view = groups.group_view(group_id, archived=archived)
    if view is None or "count" not in view:
        return Response(404)
    return Response(200, group_json(view))


class FailureGroupsController(Controller):
    routes = (
        ("GET", "/api/recoverability/classifiers", "classifiers"),
        ("GET", "/api/recoverability/history", "history"),
        ("GET", "/api/recoverability/groups/id/{groupId}", "group_by_id"),
        ("GET", "/api/recoverability/groups/{groupId}/errors", "group_errors"),
        ("HEAD", "/api/recoverability/groups/{groupId}/errors", "group_errors_head"),
        ("POST", "/api/recoverability/groups/{groupId}/errors/retry", "group_retry"),
        ("POST", "/api/recoverability/groups/{groupId}/errors/archive", "group_archive"),
        ("POST", "/api/recoverability/groups/{groupId}/errors/unarchive", "group_unarchive"),
        ("POST", "/api/recoverability/groups/{groupId}/comment", "group_comment"),
        ("DELETE", "/api/recoverability/groups/{groupId}/comment", "group_comment_delete"),
        ("GET", "/api/recoverability/groups/{classifier?}", "groups"),
        ("DELETE", "/api/recoverability/unacknowledgedgroups/{groupId}", "acknowledge"),
    )

    def __init__(self, instance: ErrorInstance) -> None:
        self.send = instance.send_command
        self.failed = instance.failed
        self.failure_groups = instance.groups
        self.group_fetcher = instance.group_fetcher
        self.retries = instance.retries
        self.archive = instance.archive

    def classifiers(self, request: Request) -> Response:
        return Response(200, list(c.CLASSIFIERS), [("Total-Count", str(len(c.CLASSIFIERS)))])

    def groups(self, request: Request, classifier: str = DEFAULT_CLASSIFIER) -> Response:
        classifier_filter = request.query("classifierFilter")
        if classifier_filter == "undefined":
            classifier_filter = None
        result = self.group_fetcher.group_operations(classifier, classifier_filter)
        return Response(200, result, [etag(result)])

    def _group_docs(self, request: Request, group_id: str) -> list[dict]:
        return filter_failed(request, [d for d in self.failed.all() if in_group(d, group_id)])

    def group_errors(self, request: Request, group_id: str) -> Response:
        return failed_message_list(request, self._group_docs(request, group_id))

    def group_errors_head(self, request: Request, group_id: str) -> Response:
        return counted_head(self._group_docs(request, group_id))

    def group_by_id(self, request: Request, group_id: str) -> Response:
        return group_by_id(self.failure_groups, group_id)

    def group_retry(self, request: Request, group_id: str) -> Response:
        if not self.retries.operation_in_progress(group_id, "failureGroup"):
            group = self.failure_groups.group_view(group_id)
            self.retries.wait_operation(
                group_id, "failureGroup", group["title"] if group else None, group["type"] if group else None
            )
            self.send(CMD_RETRY_GROUP, {"GroupId": group_id, "Started": c.json_date(c.utcnow())})
        return accepted()

    def _archive_group(self, group_id: str, unarchive: bool) -> Response:
        if not self.archive.in_progress(group_id):
            self.archive.start_operation(group_id, unarchive=unarchive)
            self.send(CMD_UNARCHIVE_GROUP if unarchive else CMD_ARCHIVE_GROUP, {"GroupId": group_id})
        return accepted()

    def group_archive(self, request: Request, group_id: str) -> Response:
        return self._archive_group(group_id, unarchive=False)

    def group_unarchive(self, request: Request, group_id: str) -> Response:
        return self._archive_group(group_id, unarchive=True)

    def group_comment(self, request: Request, group_id: str) -> Response:
        self.failure_groups.comment(group_id, request.query("comment"))
        return accepted()

    def group_comment_delete(self, request: Request, group_id: str) -> Response:
        self.failure_groups.delete_comment(group_id)
        return accepted()

    def history(self, request: Request) -> Response:
        history = self.retries.history()
        response = Response(200, history)
        identifier = ",".join(h["request_id"] for h in history["historic_operations"])
        if identifier:
            response.headers.append(("ETag", '"%s"' % c.deterministic_guid(identifier)))
        return response

    def acknowledge(self, request: Request, group_id: str) -> Response:
        # An archive operation is dismissed first; otherwise the group's retry operation is acknowledged.
        acknowledged = self.archive.dismiss(group_id) or self.retries.acknowledge_group(group_id)
        return Response(200) if acknowledged else Response(404)
