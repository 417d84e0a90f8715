"""The Audit instance's messages, conversations, sagas and known endpoints.

ServiceControl.Audit 6.19.2 (docs/reference/servicecontrol.md §2.9): Auditing/MessagesView/GetMessagesController
(messages, search, body, audit-count), GetMessages2Controller (6.19), MessagesConversationController,
SagaAudit/SagasController, and Monitoring/KnownEndpoints/KnownEndpointsController — a stub kept for older
primary instances, which always answers an empty list (the audit instance no longer stores known endpoints).
The Audit instance does not set ``instance_id`` on its views; the Error instance's scatter-gather does.
"""

from __future__ import annotations

import datetime as dt

from lab.instance import common as c
from lab.instance.api.composite import messages2_selection, saga_id
from lab.instance.api.controller import Controller
from lab.instance.api.messages import keep_view, message_sort_key
from lab.instance.audit import PROCESSED_MESSAGES, AuditInstance, audit_messages_view, saga_history
from lab.instance.http import Request, Response, etag_of, list_response, page_of, paging, sorting


def audit_counts(docs: list[dict], endpoint: str) -> list[dict]:
    """RavenAuditDataStore.QueryAuditCounts: per UTC day, from the oldest message of the endpoint but at most the
    last 30 days up to today, the non-system messages it processed; days without any are left out."""
    days: dict[dt.date, int] = {}
    oldest = None
    for doc in docs:
        if ((doc["message_metadata"].get("ReceivingEndpoint") or {}).get("name")) != endpoint:
            continue
        day = c.parse_iso(doc["processed_at"]).date()
        oldest = day if oldest is None or day < oldest else oldest
        if not doc["message_metadata"].get("IsSystemMessage"):
            days[day] = days.get(day, 0) + 1
    if oldest is None:
        return []
    end = c.utcnow().date() + dt.timedelta(days=1)
    start = max(oldest, end - dt.timedelta(days=30))
    return [
        {"utc_date": c.json_date(dt.datetime(d.year, d.month, d.day, tzinfo=c.UTC)), "count": days[d]}
        for d in sorted(days)
        if start <= d < end
    ]


class AuditMessagesController(Controller):
    routes = (
        ("GET", "/api/messages/search", "messages"),
        ("GET", "/api/messages/search/{keyword}", "messages"),
        ("GET", "/api/messages/{id}/body", "body"),
        ("GET", "/api/messages", "messages"),
        ("GET", "/api/messages2", "messages2"),
        ("GET", "/api/endpoints/{endpoint}/messages/search/{keyword}", "messages"),
        ("GET", "/api/endpoints/{endpoint}/messages/search", "messages"),
        ("GET", "/api/endpoints/{endpoint}/messages", "messages"),
        ("GET", "/api/endpoints/{endpoint}/audit-count", "audit_count"),
        ("GET", "/api/conversations/{conversationId}", "conversation"),
    )

    def __init__(self, instance: AuditInstance) -> None:
        self.instance = instance

    def _views(self, predicate) -> list[dict]:
        return [v for v in map(audit_messages_view, self.instance.processed_messages()) if predicate(v)]

    def _paged(self, request: Request, views: list[dict]) -> Response:
        page, per_page = paging(request)
        sort, direction = sorting(request)
        ordered = sorted(views, key=message_sort_key(sort), reverse=direction == "desc")
        items = page_of(ordered, page, per_page)
        return list_response(request, items, len(views), page, per_page, etag_data=etag_of(items) + str(len(views)))

    def messages(self, request: Request, endpoint: str | None = None, keyword: str | None = None) -> Response:
        searching = keyword is not None or request.path.rstrip("/").endswith("/search")
        keyword = keyword if keyword is not None else request.query("q")
        include_system = (request.query("include_system_messages") or "").lower() == "true"
        hide_system = not searching and not include_system
        return self._paged(
            request,
            self._views(lambda v: keep_view(v, endpoint, keyword if searching else None, hide_system=hide_system)),
        )

    def messages2(self, request: Request) -> Response:
        wanted, size = messages2_selection(request)
        views = self._views(wanted)
        sort, direction = sorting(request)
        items = sorted(views, key=message_sort_key(sort), reverse=direction == "desc")[: max(size, 0)]
        return Response(200, items, [("Total-Count", str(len(views)))])

    def conversation(self, request: Request, conversation_id: str) -> Response:
        return self._paged(request, self._views(lambda v: v.get("conversation_id") == conversation_id))

    def body(self, request: Request, id: str) -> Response:
        doc = self.instance.store.get(PROCESSED_MESSAGES, id)
        body = self.instance.store.get_body(id) if doc is not None else None
        if body is None:
            # No body attachment for that id (an empty body, too big, or the message expired): NoContent.
            return Response(204)
        content_type = doc["headers"].get(c.CONTENT_TYPE, "text/plain")
        return Response(200, raw=body, content_type=content_type, headers=[("ETag", '"%s"' % c.deterministic_guid(id))])

    def audit_count(self, request: Request, endpoint: str) -> Response:
        # QueryStatsInfo.Zero: Total-Count 0 whatever the counts.
        return Response(200, audit_counts(self.instance.processed_messages(), endpoint), [("Total-Count", "0")])


class AuditSagasController(Controller):
    routes = (("GET", "/api/sagas/{id}", "saga"),)

    def __init__(self, instance: AuditInstance) -> None:
        self.instance = instance

    def saga(self, request: Request, id: str) -> Response:
        history = saga_history(self.instance.saga_snapshots(), saga_id(id))
        if history is None:
            return Response(204, None, [("Total-Count", "0")])
        return Response(200, history, [("Total-Count", "1")])


class AuditKnownEndpointsController(Controller):
    routes = (("GET", "/api/endpoints/known", "endpoints_known"),)

    def endpoints_known(self, request: Request) -> Response:
        return Response(200, [], [("Total-Count", "0")])
