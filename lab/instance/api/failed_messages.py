"""The failed-message lists and documents: ``/api/errors...``.

ServiceControl/MessageFailures/Api: GetAllErrorsController (errors, HEAD errors, endpoints/{name}/errors,
errors/summary), GetErrorByIdController (errors/{id}, errors/last/{id}) and QueueAddressController
(errors/queues/addresses). The filter and sort helpers also serve the failure-group message lists.
"""

from __future__ import annotations

from lab.instance import common as c
from lab.instance.api.controller import Controller, counted_head, paged_list
from lab.instance.error import ErrorInstance
from lab.instance.error.failed_messages import (
    STATUS_VALUES,
    UNRESOLVED,
    failed_message_document,
    failed_message_view,
    last_attempt,
    queue_address_of,
    receiving_of,
)
from lab.instance.http import HttpError, Request, Response, etag_of, list_response, page_of, paging, sorting


def _parse_status_filter(status: str | None):
    """FilterByStatusWhere: comma list, case-insensitive names (or numbers), ``-`` excludes."""
    if status is None:
        return None, []
    includes, excludes = [], []

    def value_of(text: str):
        if text.lstrip("-").isdigit():
            return int(text)
        return STATUS_VALUES.get(text.lower())

    for item in status.replace(" ", "").split(","):
        if item.startswith("-"):
            parsed = value_of(item[1:])
            if parsed is not None:
                excludes.append(parsed)
            continue
        parsed = value_of(item)
        if parsed is not None:
            includes.append(parsed)
    return (includes or None), excludes


def _parse_modified(modified: str | None):
    if modified is None:
        return None
    message = (
        "Invalid modified date range, dates need to be in ISO8601 format and it needs to be a range eg. "
        "2016-03-11T00:27:15.474Z...2016-03-16T03:27:15.474Z"
    )
    parts = modified.split("...")
    if len(parts) != 2:
        raise HttpError(500, message)
    try:
        return c.parse_iso(parts[0]), c.parse_iso(parts[1])
    except ValueError:
        raise HttpError(500, message) from None


def filter_failed(request: Request, docs: list[dict], queue_address: str | None = None) -> list[dict]:
    """The ``status`` and ``modified`` query filters (and a queue address) over failed-message documents."""
    includes, excludes = _parse_status_filter(request.query("status"))
    window = _parse_modified(request.query("modified"))
    result = []
    for doc in docs:
        if includes is not None and doc["status"] not in includes:
            continue
        if doc["status"] in excludes:
            continue
        if window is not None and not window[0] <= c.parse_iso(doc["last_modified"]) <= window[1]:
            continue
        if queue_address and (queue_address_of(doc) or "").lower() != queue_address.lower():
            continue
        result.append(doc)
    return result


def _sort_failed(docs: list[dict], sort: str, direction: str) -> list[dict]:
    def key(doc: dict):
        view = failed_message_view(doc)
        field = {
            "id": "message_id",
            "message_id": "message_id",
            "message_type": "message_type",
            "status": None,
            "modified": "last_modified",
            "time_of_failure": "time_of_failure",
        }.get(sort, "time_sent")
        if field is None:
            return (1, doc["status"])
        value = view.get(field)
        if value is None:
            return (0, "")
        if field in ("last_modified", "time_of_failure", "time_sent"):
            return (1, c.parse_iso(value).isoformat())
        return (1, value)

    return sorted(docs, key=key, reverse=direction == "desc")


def failed_message_list(request: Request, docs: list[dict]) -> Response:
    """A sorted, paged list of FailedMessageViews."""
    page, per_page = paging(request)
    sort, direction = sorting(request)
    ordered = _sort_failed(docs, sort, direction)
    views = [failed_message_view(d) for d in page_of(ordered, page, per_page)]
    return list_response(request, views, len(docs), page, per_page, etag_data=etag_of(views) + str(len(docs)))


class FailedMessagesController(Controller):
    routes = (
        ("GET", "/api/errors/summary", "errors_summary"),
        ("GET", "/api/errors/queues/addresses", "queue_addresses"),
        ("GET", "/api/errors", "errors_get"),
        ("HEAD", "/api/errors", "errors_head"),
        ("GET", "/api/errors/last/{failedMessageId}", "error_last"),
        ("GET", "/api/errors/{failedMessageId}", "error_by_id"),
        ("GET", "/api/endpoints/{endpointname}/errors", "errors_by_endpoint"),
    )

    def __init__(self, instance: ErrorInstance) -> None:
        self.failed = instance.failed

    def _errors(self, request: Request) -> list[dict]:
        return filter_failed(request, self.failed.all(), request.query("queueaddress"))

    def errors_get(self, request: Request) -> Response:
        return failed_message_list(request, self._errors(request))

    def errors_head(self, request: Request) -> Response:
        return counted_head(self._errors(request))

    def errors_by_endpoint(self, request: Request, endpointname: str) -> Response:
        docs = [
            d
            for d in filter_failed(request, self.failed.all())
            if ((receiving_of(d) or {}).get("name") or "").lower() == endpointname.lower()
        ]
        return failed_message_list(request, docs)

    def errors_summary(self, request: Request) -> Response:
        summary = {"Endpoints": {}, "Hosts": {}, "Message types": {}}
        for doc in self.failed.all():
            if doc["status"] != UNRESOLVED:
                continue
            receiving = receiving_of(doc) or {}
            mtype = last_attempt(doc)["message_metadata"].get("MessageType")
            for facet, value in (
                ("Endpoints", receiving.get("name")),
                ("Hosts", receiving.get("host")),
                ("Message types", mtype),
            ):
                if value is not None:
                    summary[facet][value] = summary[facet].get(value, 0) + 1
        return Response(200, summary)

    def error_by_id(self, request: Request, failed_message_id: str) -> Response:
        doc = self.failed.get(failed_message_id)
        if doc is None:
            return Response(404)
        return Response(200, failed_message_document(doc))

    def error_last(self, request: Request, failed_message_id: str) -> Response:
        doc = self.failed.get(failed_message_id)
        if doc is None:
            return Response(404)
        return Response(200, failed_message_view(doc))

    def queue_addresses(self, request: Request) -> Response:
        counts: dict[str, int] = {}
        for doc in self.failed.all():
            if doc["status"] == UNRESOLVED:
                address = queue_address_of(doc)
                counts[address] = counts.get(address, 0) + 1
        items = [{"physical_address": k, "failed_message_count": v} for k, v in sorted(counts.items())]
        return paged_list(request, items)
