"""What every API controller shares: the route table, and small request/response helpers.

A controller is one ServiceControl Web API controller (or a few that serve one area). Its ``routes`` table
lists ``(methods, template, handler method name)``; ``router_for`` adds every controller's table to one
Router, whose ASP.NET Core-like precedence makes the order of the controllers irrelevant. Adding an area is
adding a controller class with its table and listing it in ErrorApi / AuditApi (lab.instance.api).
"""

from __future__ import annotations

import types
from collections.abc import Iterable

from lab.instance.http import (
    Conventions,
    HttpError,
    Request,
    Response,
    Router,
    etag_of,
    list_response,
    page_of,
    paging,
)
from lab.settings_features import REQUEST_ID_FROM

RouteTable = tuple[tuple[str, str, str], ...]


class Controller:
    """Base class: subclasses set ``routes`` and define the handlers it names."""

    routes: RouteTable = ()

    def register(self, router: Router) -> None:
        for methods, template, handler_name in self.routes:
            # Looked up on the class, so an attribute of the same name cannot stand in for the handler.
            handler = types.MethodType(getattr(type(self), handler_name), self)
            router.add(methods, template, handler)


def router_for(controllers: Iterable[Controller]) -> Router:
    router = Router()
    for controller in controllers:
        controller.register(router)
    return router


def accepted() -> Response:
    return Response(202)


def etag(body) -> tuple[str, str]:
    """The ``ETag`` header ServiceControl puts on a list result."""
    return ("ETag", '"%s"' % etag_of(body))


def counted_head(docs: list) -> Response:
    """A HEAD answer for a list: its Total-Count and ETag, no body."""
    return Response(200, None, [("Total-Count", str(len(docs))), etag(docs)])


def paged_list(request: Request, items: list) -> Response:
    """``items`` paged by ``page``/``per_page``, with Total-Count, Link and the ETag of all items."""
    page, per_page = paging(request)
    return list_response(request, page_of(items, page, per_page), len(items), page, per_page, etag_data=etag_of(items))


def id_list(request: Request, invalid_status: int = 400) -> list[str] | None:
    """A JSON array of message ids. An empty or non-string id is a 400, or None for the caller's own
    answer (``invalid_status=422``, the archive API's validation problem)."""
    ids = request.json()
    if not isinstance(ids, list):
        raise HttpError(400, "A non-empty request body is required.")
    if any(not isinstance(i, str) or not i for i in ids):
        if invalid_status == 422:
            return None
        raise HttpError(400)
    return ids


#: CachingHttpHandler (Error and Audit): set on every controller result that lacks them.
CACHING_HEADERS = (("Cache-Control", "private, max-age=0"), ("Vary", "Accept"))


def conventions_for(settings, result_headers=CACHING_HEADERS) -> Conventions:
    """CORS from the instance's Cors.* settings, request ids from 6.18, the result filters' headers."""
    features = settings.features
    return Conventions(
        cors=features.cors if features is not None else None,
        request_ids=settings.version >= REQUEST_ID_FROM,
        result_headers=tuple(result_headers),
    )
