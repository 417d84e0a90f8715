"""Messages views: ``/api/messages...`` on the Error instance, merged with its remotes' (scatter-gather).

ServiceControl/CompositeViews/Messages: GetMessagesController with ScatterGatherApi, MessageViewComparer
(``message_sort_key``) and the keyword search. The Audit instance's own controller is lab.instance.api.audit.
"""

from __future__ import annotations

import urllib.parse

from lab.instance import common as c
from lab.instance.api.controller import Controller, etag
from lab.instance.api.remotes import RemoteInstances
from lab.instance.error import ErrorInstance
from lab.instance.error.failed_messages import last_attempt, messages_view
from lab.instance.http import HttpError, Request, Response, page_of, paging, paging_links, sorting

_MESSAGE_SORT_FIELDS = {
    "id": "message_id",
    "message_id": "message_id",
    "message_type": "message_type",
    "critical_time": "critical_time",
    "delivery_time": "delivery_time",
    "time_sent": "time_sent",
    "processing_time": "processing_time",
    "processed_at": "processed_at",
    "status": "status",
}
_MESSAGE_STATUS_ORDER = [
    "failed",
    "repeatedFailure",
    "successful",
    "resolvedSuccessfully",
    "archivedFailure",
    "retryIssued",
]


def message_sort_key(sort: str):
    field = _MESSAGE_SORT_FIELDS.get(sort)
    if field is None:
        # MessageViewComparer has no comparer for the other allowed sort options.
        raise HttpError(500, "Specified argument was out of the range of valid values. (Parameter 'sortInfo')")

    def key(view: dict):
        value = view.get(field)
        if field == "status":
            return (1, _MESSAGE_STATUS_ORDER.index(value) if value in _MESSAGE_STATUS_ORDER else 0)
        if value is None:
            return (0, "")
        if field in ("time_sent", "processed_at"):
            return (1, c.parse_iso(value).isoformat())
        return (1, value)

    return key


def matches_keyword(view: dict, keyword: str | None) -> bool:
    if not keyword:
        return True
    needle = keyword.lower()
    haystack = [view.get("message_id") or "", view.get("message_type") or ""]
    haystack += [str(h["value"]) for h in view.get("headers", [])]
    return any(needle in text.lower() for text in haystack)


def keep_view(view: dict, endpoint: str | None, keyword: str | None, *, hide_system: bool) -> bool:
    """The messages filters: system messages hidden unless asked for, one receiving endpoint, a keyword."""
    if hide_system and view["is_system_message"]:
        return False
    if endpoint and (view.get("receiving_endpoint") or {}).get("name") != endpoint:
        return False
    return matches_keyword(view, keyword)


def scatter_gather(
    remotes: RemoteInstances,
    request: Request,
    local: list[dict],
    page: int,
    per_page: int,
    *,
    links: bool = True,
    tagged: bool = True,
) -> Response:
    """ScatterGatherApiMessageView: this instance's page of ``local`` views and the remotes' answers to the same
    request, each view tagged with its instance (and its body URL with ``instance_id``), de-duplicated by
    receiving endpoint and message id (this instance first), sorted again and cut to one page."""
    sort, direction = sorting(request)
    key = message_sort_key(sort)
    local_sorted = sorted(local, key=key, reverse=direction == "desc")
    results = [(remotes.instance_id, page_of(local_sorted, page, per_page), len(local))]
    path_and_query = request.path + ("?" + urllib.parse.urlencode(request.query_pairs) if request.query_pairs else "")
    results += remotes.query_messages(path_and_query)
    combined: dict[str, dict] = {}
    for instance_id, views, _total in results:
        for view in views:
            view.setdefault("instance_id", instance_id)
            if view.get("body_url") and "instance_id" not in view["body_url"]:
                view["body_url"] += "?instance_id=%s" % instance_id
            combined.setdefault(
                "%s-%s" % ((view.get("receiving_endpoint") or {}).get("name"), view.get("message_id")), view
            )
    items = sorted(combined.values(), key=key, reverse=direction == "desc")[:per_page]
    total = sum(r[2] for r in results)
    response = Response(200, items, [("Total-Count", str(total))])
    if links:
        for value in paging_links(request, page, per_page, total, max(r[2] for r in results)):
            response.headers.append(("Link", value))
    if tagged:
        response.headers.append(etag(items))
    return response


class MessagesController(Controller):
    routes = (
        ("GET", "/api/messages/search", "messages_search"),
        ("GET", "/api/messages/search/{keyword}", "messages_search"),
        ("GET", "/api/messages/{id}/body", "message_body"),
        ("GET", "/api/messages", "messages"),
        ("GET", "/api/endpoints/{endpoint}/messages/search/{keyword}", "messages_search"),
        ("GET", "/api/endpoints/{endpoint}/messages/search", "messages_search"),
        ("GET", "/api/endpoints/{endpoint}/messages", "messages"),
    )

    def __init__(self, instance: ErrorInstance, remotes: RemoteInstances) -> None:
        self.failed = instance.failed
        self.store = instance.store
        self.remotes = remotes

    def _local_messages(self, request: Request, endpoint: str | None, keyword: str | None) -> list[dict]:
        include_system = (request.query("include_system_messages") or "").lower() == "true"
        views = []
        for doc in self.failed.all():
            view = messages_view(doc)
            if not keep_view(view, endpoint, keyword, hide_system=not include_system and keyword is None):
                continue
            view["instance_id"] = self.remotes.instance_id
            views.append(view)
        return views

    def messages(self, request: Request, endpoint: str | None = None) -> Response:
        return self._scatter_gather(request, self._local_messages(request, endpoint, None))

    def messages_search(self, request: Request, keyword: str | None = None, endpoint: str | None = None) -> Response:
        keyword = keyword if keyword is not None else request.query("q")
        return self._scatter_gather(request, self._local_messages(request, endpoint, keyword or ""))

    def _scatter_gather(self, request: Request, local: list[dict]) -> Response:
        page, per_page = paging(request)
        return scatter_gather(self.remotes, request, local, page, per_page)

    def message_body(self, request: Request, id: str) -> Response:
        forwarded = self.remotes.forward_if_remote(request)
        if forwarded is not None:
            return forwarded
        # The body is an attachment of the failed message's document: gone with it when it expires.
        doc = self.failed.get(id)
        body = self.store.get_body(id) if doc is not None else None
        if body is None:
            return Response(404)
        content_type = last_attempt(doc)["message_metadata"].get("ContentType", "text/plain") if doc else "text/plain"
        return Response(200, raw=body, content_type=content_type)
