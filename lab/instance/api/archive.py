"""Archiving and unarchiving failed messages, and the archived groups: ``/api/errors/...archive``, ``/api/archive``.

ServiceControl/MessageFailures/Api: ArchiveMessagesController (errors/archive, errors/{id}/archive,
errors/groups/{classifier?}, archive/groups/id/{groupId}) and UnArchiveMessagesController (errors/unarchive,
errors/{from}...{to}/unarchive). The commands are handled by lab.instance.error.archive.
"""

from __future__ import annotations

from lab.instance import common as c
from lab.instance.api.controller import Controller, accepted, etag, id_list
from lab.instance.api.groups import DEFAULT_CLASSIFIER, group_by_id, group_json
from lab.instance.error import ErrorInstance
from lab.instance.error.archive import CMD_ARCHIVE, CMD_UNARCHIVE, CMD_UNARCHIVE_RANGE
from lab.instance.http import Request, Response


class ArchiveMessagesController(Controller):
    routes = (
        ("GET", "/api/errors/groups/{classifier?}", "archived_groups"),
        ("POST,PATCH", "/api/errors/archive", "archive_batch"),
        ("PATCH", "/api/errors/unarchive", "unarchive_batch"),
        ("PATCH", "/api/errors/{from}...{to}/unarchive", "unarchive_range"),
        ("POST,PATCH", "/api/errors/{messageId}/archive", "archive_one"),
        ("GET", "/api/archive/groups/id/{groupId}", "archived_group"),
    )

    def __init__(self, instance: ErrorInstance) -> None:
        self.send = instance.send_command
        self.groups = instance.groups

    def archive_batch(self, request: Request) -> Response:
        ids = id_list(request, invalid_status=422)
        if ids is None:
            return Response(422, {"messageIds": ["Cannot contain null or empty message IDs."]})
        for unique_id in ids:
            self.send(CMD_ARCHIVE, {"FailedMessageId": unique_id, "Scope": "Batch"})
        return accepted()

    def archive_one(self, request: Request, message_id: str) -> Response:
        self.send(CMD_ARCHIVE, {"FailedMessageId": message_id, "Scope": "Single"})
        return accepted()

    def unarchive_batch(self, request: Request) -> Response:
        self.send(CMD_UNARCHIVE, {"FailedMessageIds": id_list(request)})
        return accepted()

    def unarchive_range(self, request: Request, from_: str, to: str) -> Response:
        try:
            first, last = c.parse_iso(from_), c.parse_iso(to)
        except ValueError:
            return Response(400)
        self.send(CMD_UNARCHIVE_RANGE, {"From": c.json_date(first), "To": c.json_date(last)})
        return accepted()

    def archived_groups(self, request: Request, classifier: str = DEFAULT_CLASSIFIER) -> Response:
        views = [group_json(g) for g in self.groups.group_views(classifier, None, archived=True)]
        return Response(200, views, [etag(views)])

    def archived_group(self, request: Request, group_id: str) -> Response:
        return group_by_id(self.groups, group_id, archived=True)
