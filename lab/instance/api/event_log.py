"""``GET /api/eventlogitems``: the event log, newest first (ServiceControl/EventLog/EventLogApiController).

Paged with Total-Count; Link as WithPagingLinksAndTotalCount writes it without the highest count of the
instances, which makes the last page 1, so no Link is ever sent; an ETag, and 304 for a matching If-None-Match.
The items: lab.instance.error.event_log.
"""

from __future__ import annotations

from lab.instance.api.controller import Controller, etag
from lab.instance.error import ErrorInstance
from lab.instance.http import Request, Response, page_of, paging, paging_links


class EventLogController(Controller):
    routes = (("GET", "/api/eventlogitems", "items"),)

    def __init__(self, instance: ErrorInstance) -> None:
        self.events = instance.events

    def items(self, request: Request) -> Response:
        items = self.events.items()
        page, per_page = paging(request)
        response = Response(200, page_of(items, page, per_page), [("Total-Count", str(len(items)))])
        for value in paging_links(request, page, per_page, len(items), highest_total=1):
            response.headers.append(("Link", value))
        response.headers.append(etag(items))
        return response
