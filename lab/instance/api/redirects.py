"""Message redirects: ``/api/redirects``, ``HEAD /api/redirect`` (MessageRedirects/Api/MessageRedirectsController).

Request bodies use the names ``fromphysicaladdress``, ``tophysicaladdress``, ``retryexisting`` (pinned in
ServiceControl); answers are snake_case MessageRedirect / RedirectsQueryResult. Status codes: POST 201 (also for
the same redirect again), 400 for a missing address, 409 with ``X-Particular-Reason: Duplicate`` (a different
target for the same source) or ``Dependents`` (the source is another redirect's target); PUT 204, 400, 404, 409;
DELETE 204. ``retryexisting`` retries the pending retries of the source queue (RetryPendingMessages). Lists are
sorted by ``from_physical_address`` or ``to_physical_address`` (default desc), paged, with Total-Count and a
deterministic ETag; Link as WithPagingLinksAndTotalCount writes it (never, see lab.instance.api.event_log). The
redirects: lab.instance.error.redirects.
"""

from __future__ import annotations

import uuid

from lab.instance import common as c
from lab.instance.api.controller import Controller
from lab.instance.error import ErrorInstance
from lab.instance.error.redirects import redirect_id, redirect_view
from lab.instance.error.retries import CMD_RETRY_PENDING
from lab.instance.http import HttpError, Request, Response, page_of, paging, paging_links


def _body(request: Request) -> dict:
    body = request.json()
    if not isinstance(body, dict):
        raise HttpError(400, "A non-empty request body is required.")
    return {k.lower(): v for k, v in body.items()}


def _guid(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise HttpError(404) from None  # the {messageRedirectId:guid} constraint does not match


class RedirectsController(Controller):
    routes = (
        ("GET", "/api/redirects", "redirects"),
        ("POST", "/api/redirects", "create"),
        ("HEAD", "/api/redirect", "count"),
        ("PUT", "/api/redirects/{messageRedirectId}", "change"),
        ("DELETE", "/api/redirects/{messageRedirectId}", "delete"),
    )

    def __init__(self, instance: ErrorInstance) -> None:
        self.redirects = instance.redirects
        self.send = instance.send_command

    @staticmethod
    def _etag(redirects: list[dict]) -> list[tuple[str, str]]:
        """EtagHelper.CalculateEtag (id, target and ticks of each) through WithDeterministicEtag; none when empty."""
        data = "".join(
            "%s.%s.%d"
            % (
                redirect_id(r["from_physical_address"]),
                r["to_physical_address"],
                c.dotnet_ticks(c.parse_iso(r["last_modified"])),
            )
            for r in redirects
        )
        return [("ETag", '"%s"' % c.deterministic_guid(data))] if data else []

    def redirects(self, request: Request) -> Response:
        redirects = self.redirects.all()
        direction = request.query("direction") or "desc"
        direction = direction if direction in ("asc", "desc") else "desc"
        sort = (request.query("sort") or "").lower()
        field = "to_physical_address" if sort == "to_physical_address" else "from_physical_address"
        ordered = sorted(redirects, key=lambda r: r[field], reverse=direction == "desc")
        page, per_page = paging(request)
        response = Response(200, [redirect_view(r) for r in page_of(ordered, page, per_page)])
        response.headers += self._etag(redirects)
        response.headers.append(("Total-Count", str(len(redirects))))
        for value in paging_links(request, page, per_page, len(redirects), highest_total=1):
            response.headers.append(("Link", value))
        return response

    def count(self, request: Request) -> Response:
        redirects = self.redirects.all()
        return Response(200, None, [*self._etag(redirects), ("Total-Count", str(len(redirects)))])

    def create(self, request: Request) -> Response:
        body = _body(request)
        source, target = body.get("fromphysicaladdress"), body.get("tophysicaladdress")
        if not (isinstance(source, str) and source.strip()) or not (isinstance(target, str) and target.strip()):
            return Response(400)
        redirects = self.redirects.all()
        existing = next((r for r in redirects if redirect_id(r["from_physical_address"]) == redirect_id(source)), None)
        if existing is not None:
            if existing["to_physical_address"] == target:
                return Response(201, redirect_view({**existing, "last_modified": c.json_date(c.utcnow())}))
            return Response(409, redirect_view(existing), [("X-Particular-Reason", "Duplicate")])
        dependents = [redirect_view(r) for r in redirects if r["to_physical_address"] == source]
        if dependents:
            return Response(409, dependents, [("X-Particular-Reason", "Dependents")])
        stored = self.redirects.add(source, target)
        if body.get("retryexisting"):
            period = {"PeriodFrom": "0001-01-01T00:00:00Z", "PeriodTo": c.json_date(c.utcnow())}
            self.send(CMD_RETRY_PENDING, {"QueueAddress": source, **period})
        return Response(201, redirect_view(stored))

    def change(self, request: Request, message_redirect_id: str) -> Response:
        wanted = _guid(message_redirect_id)
        body = _body(request)
        target = body.get("tophysicaladdress")
        if not (isinstance(target, str) and target.strip()):
            return Response(400)
        if self.redirects.find_by_id(wanted) is None:
            return Response(404)
        if self.redirects.find_by_id(redirect_id(target)) is not None:
            return Response(409)
        self.redirects.change(wanted, target)
        return Response(204)

    def delete(self, request: Request, message_redirect_id: str) -> Response:
        self.redirects.remove(_guid(message_redirect_id))
        return Response(204)
