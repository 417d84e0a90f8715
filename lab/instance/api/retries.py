"""Retrying failed messages and pending retries: ``/api/errors/.../retry`` and ``/api/pendingretries/...``.

ServiceControl/MessageFailures/Api: RetryMessagesController, PendingRetryMessagesController and
ResolveMessagesController. Each request sends the internal command the Error instance's input queue handles
(lab.instance.error.retries) and answers 202.
"""

from __future__ import annotations

from lab.instance import common as c
from lab.instance.api.controller import Controller, accepted, id_list
from lab.instance.api.remotes import RemoteInstances
from lab.instance.error import ErrorInstance
from lab.instance.error.retries import (
    CMD_RESOLVE_PENDING,
    CMD_RESOLVE_PENDING_RANGE,
    CMD_RETRY_ALL,
    CMD_RETRY_BY_IDS,
    CMD_RETRY_BY_QUEUE,
    CMD_RETRY_MESSAGE,
    CMD_RETRY_PENDING,
    CMD_RETRY_PENDING_BY_IDS,
)
from lab.instance.http import HttpError, Request, Response


class RetryMessagesController(Controller):
    routes = (
        ("POST", "/api/errors/retry/all", "retry_all"),
        ("POST", "/api/errors/retry", "retry_by_ids"),
        ("POST", "/api/errors/queues/{queueAddress}/retry", "retry_by_queue"),
        ("POST", "/api/errors/{endpointName}/retry/all", "retry_all_for_endpoint"),
        ("POST", "/api/errors/{failedMessageId}/retry", "retry_one"),
    )

    def __init__(self, instance: ErrorInstance, remotes: RemoteInstances) -> None:
        self.send = instance.send_command
        self.remotes = remotes

    def retry_one(self, request: Request, failed_message_id: str) -> Response:
        forwarded = self.remotes.forward_if_remote(request)
        if forwarded is not None:
            return forwarded
        self.send(CMD_RETRY_MESSAGE, {"FailedMessageId": failed_message_id})
        return accepted()

    def retry_by_ids(self, request: Request) -> Response:
        self.send(CMD_RETRY_BY_IDS, {"MessageUniqueIds": id_list(request)})
        return accepted()

    def retry_by_queue(self, request: Request, queue_address: str) -> Response:
        self.send(CMD_RETRY_BY_QUEUE, {"QueueAddress": queue_address, "Status": 1})
        return accepted()

    def retry_all(self, request: Request) -> Response:
        self.send(CMD_RETRY_ALL, {"Endpoint": None})
        return accepted()

    def retry_all_for_endpoint(self, request: Request, endpoint_name: str) -> Response:
        self.send(CMD_RETRY_ALL, {"Endpoint": endpoint_name})
        return accepted()


def _lowered_body(request: Request) -> dict:
    """A JSON object body with its keys lower-cased (System.Text.Json binds case-insensitively)."""
    body = request.json()
    if not isinstance(body, dict):
        raise HttpError(400)
    return {k.lower(): v for k, v in body.items()}


def _period(body: dict) -> tuple[str, str]:
    try:
        return c.json_date(c.parse_iso(body["from"])), c.json_date(c.parse_iso(body["to"]))
    except (KeyError, TypeError, ValueError):
        raise HttpError(400) from None


def _queue_range(request: Request) -> dict:
    body = _lowered_body(request)
    start, end = _period(body)
    return {"QueueAddress": body.get("queueaddress"), "PeriodFrom": start, "PeriodTo": end}


class PendingRetriesController(Controller):
    routes = (
        ("POST", "/api/pendingretries/retry", "pending_retry_ids"),
        ("POST", "/api/pendingretries/queues/retry", "pending_retry_queue"),
        ("PATCH", "/api/pendingretries/resolve", "pending_resolve"),
        ("PATCH", "/api/pendingretries/queues/resolve", "pending_resolve_queue"),
    )

    def __init__(self, instance: ErrorInstance) -> None:
        self.send = instance.send_command

    def pending_retry_ids(self, request: Request) -> Response:
        self.send(CMD_RETRY_PENDING_BY_IDS, {"MessageUniqueIds": id_list(request)})
        return accepted()

    def pending_retry_queue(self, request: Request) -> Response:
        self.send(CMD_RETRY_PENDING, _queue_range(request))
        return accepted()

    def pending_resolve(self, request: Request) -> Response:
        body = _lowered_body(request)
        ids = body.get("uniquemessageids")
        if ids:
            for unique_id in ids:
                self.send(CMD_RESOLVE_PENDING, {"FailedMessageId": unique_id})
            return accepted()
        start, end = _period(body)
        self.send(CMD_RESOLVE_PENDING_RANGE, {"QueueAddress": None, "PeriodFrom": start, "PeriodTo": end})
        return accepted()

    def pending_resolve_queue(self, request: Request) -> Response:
        self.send(CMD_RESOLVE_PENDING_RANGE, _queue_range(request))
        return accepted()
