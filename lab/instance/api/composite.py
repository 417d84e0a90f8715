"""The Error instance's other composite views: ``messages2``, conversations, audit counts and saga histories.

ServiceControl 6.19.2 (docs/reference/servicecontrol.md §2.8, §2.9): CompositeViews/Messages/GetMessages2Controller
(6.19: a time range on ``time_sent``, ``page_size`` and only ``Total-Count``; note that ``page_size`` has no
default, so leaving it out returns no items), GetMessagesByConversationController with MessagesByConversationApi,
CompositeViews/AuditCounts/GetAuditCountsForEndpointApi (the remotes' counts summed per day; nothing local) and
SagaAudit/GetSagaByIdApi (remote only; the changes of several instances merged, newest first). Each asks the
remotes the same path and query (lab.instance.api.remotes) and merges as ScatterGatherApi does.
"""

from __future__ import annotations

import urllib.parse
import uuid

from lab.instance import common as c
from lab.instance.api.controller import Controller
from lab.instance.api.messages import keep_view, scatter_gather
from lab.instance.api.remotes import RemoteInstances
from lab.instance.error import ErrorInstance
from lab.instance.error.failed_messages import messages_view
from lab.instance.http import HttpError, Request, Response, paging, paging_links


def time_range(request: Request) -> tuple:
    """DateTimeRange(from, to): DateTime.Parse of each given bound; a bad one throws (500)."""
    bounds = []
    for name in ("from", "to"):
        text = request.query(name)
        try:
            bounds.append(c.parse_iso(text) if text is not None else None)
        except ValueError:
            raise HttpError(500, "String '%s' was not recognized as a valid DateTime." % text) from None
    return tuple(bounds)


def in_range(view: dict, bounds: tuple) -> bool:
    first, last = bounds
    if first is None and last is None:
        return True
    sent = c.parse_iso(view["time_sent"]) if view.get("time_sent") else None
    if sent is None:
        return False
    return (first is None or sent >= first) and (last is None or sent <= last)


def messages2_selection(request: Request):
    """GetMessages2Controller's selection: (a predicate over views, the page size); ``endpoint_name`` narrows to a
    receiving endpoint, ``q`` searches (system messages included only then), ``from``/``to`` bound ``time_sent``."""
    endpoint = request.query("endpoint_name") or None
    keyword = request.query("q")
    keyword = keyword if keyword and keyword.strip() else None
    bounds = time_range(request)

    def wanted(view: dict) -> bool:
        return in_range(view, bounds) and keep_view(view, endpoint, keyword, hide_system=keyword is None)

    return wanted, page_size(request)


def page_size(request: Request) -> int:
    """``[FromQuery(Name = "page_size")] int``: absent means 0, which PagingInfo keeps (no items)."""
    text = request.query("page_size")
    if text is None or text == "":
        return 0
    try:
        return int(text)
    except ValueError:
        raise HttpError(400, "The value '%s' is not valid." % text) from None


def path_and_query(request: Request) -> str:
    return request.path + ("?" + urllib.parse.urlencode(request.query_pairs) if request.query_pairs else "")


def with_paging(request: Request, items, total: int, highest: int) -> Response:
    """WithQueryStatsAndPagingInfo: Total-Count, and Link beyond 50 results."""
    page, per_page = paging(request)
    response = Response(200, items, [("Total-Count", str(total))])
    for value in paging_links(request, page, per_page, total, highest):
        response.headers.append(("Link", value))
    return response


def saga_id(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise HttpError(400, "The value '%s' is not valid." % text) from None


class CompositeViewsController(Controller):
    routes = (
        ("GET", "/api/messages2", "messages2"),
        ("GET", "/api/conversations/{conversationId}", "conversation"),
        ("GET", "/api/endpoints/{endpoint}/audit-count", "audit_count"),
        ("GET", "/api/sagas/{id}", "saga"),
    )

    def __init__(self, instance: ErrorInstance, remotes: RemoteInstances) -> None:
        self.failed = instance.failed
        self.remotes = remotes

    def _views(self, predicate) -> list[dict]:
        views = []
        for doc in self.failed.all():
            view = messages_view(doc)
            if predicate(view):
                view["instance_id"] = self.remotes.instance_id
                views.append(view)
        return views

    def messages2(self, request: Request) -> Response:
        wanted, size = messages2_selection(request)
        local = self._views(wanted)
        return scatter_gather(self.remotes, request, local, 1, size, links=False, tagged=False)

    def conversation(self, request: Request, conversation_id: str) -> Response:
        include_system = (request.query("include_system_messages") or "").lower() == "true"
        local = self._views(
            lambda v: v.get("conversation_id") == conversation_id and (include_system or not v["is_system_message"])
        )
        page, per_page = paging(request)
        return scatter_gather(self.remotes, request, local, page, per_page)

    def audit_count(self, request: Request, endpoint: str) -> Response:
        days: dict[str, int] = {}
        results = self.remotes.query(path_and_query(request))
        for _instance, counts, _total in results:
            for item in counts or []:
                day = c.json_date(c.parse_iso(item["utc_date"]))
                days[day] = days.get(day, 0) + int(item.get("count", 0))
        items = [{"utc_date": day, "count": days[day]} for day in sorted(days)]
        total = sum(r[2] for r in results)
        return with_paging(request, items, total, max([r[2] for r in results], default=0))

    def saga(self, request: Request, id: str) -> Response:
        saga_id(id)
        results = self.remotes.query(path_and_query(request))
        histories = [data for _instance, data, _total in results if isinstance(data, dict)]
        total = sum(r[2] for r in results)
        if not histories:
            # A null result: ASP.NET Core answers 204 No Content.
            response = Response(204, None, [("Total-Count", str(total))])
            return response
        first = histories[0]
        if len(histories) > 1:
            changes = [change for history in histories for change in history.get("changes", [])]
            changes.sort(key=lambda change: c.parse_iso(change["finish_time"]), reverse=True)
            first["changes"] = changes
        return with_paging(request, first, total, max(r[2] for r in results))
