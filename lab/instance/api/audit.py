"""The Audit instance's messages and known endpoints.

ServiceControl.Audit/Auditing/MessagesView/GetMessagesController (messages, search, body, audit-count) and
ServiceControl.Audit/Monitoring/KnownEndpoints/KnownEndpointsController.
"""

from __future__ import annotations

from lab.instance import common as c
from lab.instance.api.controller import Controller
from lab.instance.api.messages import keep_view, message_sort_key
from lab.instance.audit import KNOWN_ENDPOINTS, AuditInstance, audit_counts, audit_messages_view
from lab.instance.http import Request, Response, etag_of, list_response, page_of, paging, sorting


class AuditMessagesController(Controller):
    routes = (
        ("GET", "/api/messages/search", "messages"),
        ("GET", "/api/messages/search/{keyword}", "messages"),
        ("GET", "/api/messages/{message_id}/body", "body"),
        ("GET", "/api/messages", "messages"),
        ("GET", "/api/endpoints/{endpoint}/messages/search/{keyword}", "messages"),
        ("GET", "/api/endpoints/{endpoint}/messages/search", "messages"),
        ("GET", "/api/endpoints/{endpoint}/messages", "messages"),
        ("GET", "/api/endpoints/{endpoint}/audit-count", "audit_count"),
    )

    def __init__(self, instance: AuditInstance) -> None:
        self.instance = instance

    def messages(self, request: Request, endpoint: str | None = None, keyword: str | None = None) -> Response:
        searching = keyword is not None or request.path.rstrip("/").endswith("/search")
        keyword = keyword if keyword is not None else request.query("q")
        include_system = (request.query("include_system_messages") or "").lower() == "true"
        views = []
        for doc in self.instance.processed_messages():
            view = audit_messages_view(doc)
            if keep_view(
                view, endpoint, keyword if searching else None, hide_system=not searching and not include_system
            ):
                views.append(view)
        page, per_page = paging(request)
        sort, direction = sorting(request)
        ordered = sorted(views, key=message_sort_key(sort), reverse=direction == "desc")
        items = page_of(ordered, page, per_page)
        return list_response(request, items, len(views), page, per_page, etag_data=etag_of(items) + str(len(views)))

    def body(self, request: Request, message_id: str) -> Response:
        body = self.instance.store.get_body(message_id)
        if body is None:
            return Response(404)
        return Response(200, raw=body, content_type="application/octet-stream")

    def audit_count(self, request: Request, endpoint: str) -> Response:
        return Response(200, audit_counts(self.instance.processed_messages(), endpoint))


class AuditKnownEndpointsController(Controller):
    routes = (("GET", "/api/endpoints/known", "endpoints_known"),)

    def __init__(self, instance: AuditInstance) -> None:
        self.store = instance.store

    def endpoints_known(self, request: Request) -> Response:
        views = [
            {
                "id": c.deterministic_guid(d["name"], d["host_id"]),
                "endpoint_details": d,
                "host_display_name": d.get("host"),
            }
            for d in self.store.all(KNOWN_ENDPOINTS)
        ]
        return Response(200, views, [("Total-Count", str(len(views)))])
