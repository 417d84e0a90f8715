"""The HTTP side of a lab instance: routing and the response conventions ServiceControl applies.

Conventions (docs/reference/servicecontrol.md §2.1, ServiceControl 6.19.2 WebApi filters):
- ``X-Particular-Version`` on every response;
- JSON bodies ``application/json; charset=utf-8``, snake_case, enums camelCase, nulls omitted;
- ``ETag`` on list results, and a 2xx answer becomes ``304 Not Modified`` when ``If-None-Match`` holds it;
- a path that exists with another verb answers 405 (with ``Allow``), an unknown path 404; neither carries
  ``X-Particular-Version``, which ServiceControl's result filters add to controller results only;
- the instance kind's ``Conventions``: CORS and the request id (lab.instance.cors), and the result filters'
  headers (``Cache-Control``, ``Vary``).

Authentication is not emulated: every route is anonymous (as ServiceControl with Authentication.Enabled=false).
"""

from __future__ import annotations

import json
import keyword
import logging
import re
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lab.instance import common as c
from lab.instance import cors as cors_rules
from lab.settings_features import CorsSettings

log = logging.getLogger("lab.instance.http")


class HttpError(Exception):
    def __init__(self, status: int, message: str = "", allow: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        #: The methods a 405 names in ``Allow``.
        self.allow = allow


class RouteMiss(HttpError):
    """No route for the request (404) or not with this verb (405): answered by routing, not by a controller."""


@dataclass
class Conventions:
    """What an instance kind's middleware and MVC result filters add to its responses."""

    cors: CorsSettings | None = None
    #: ``Request-Id`` on every response (6.18+).
    request_ids: bool = False
    #: Headers the result filters set on controller results when absent (CachingHttpHandler); a value may be
    #: a function returning it.
    result_headers: tuple[tuple[str, Any], ...] = ()


@dataclass
class Request:
    method: str
    path: str
    query_pairs: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    def query(self, name: str, default: str | None = None) -> str | None:
        # ASP.NET Core binds query parameters case-insensitively; the first value wins for a string.
        for key, value in self.query_pairs:
            if key.lower() == name.lower():
                return value
        return default

    def json(self) -> Any:
        if not self.body:
            return None
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError:
            raise HttpError(400, "The request body is not valid JSON.") from None


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    raw: bytes | None = None
    content_type: str = "application/json; charset=utf-8"

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


Handler = Callable[..., Response]


def route_precedence(template: str) -> tuple[int, ...]:
    """ASP.NET Core's route precedence, segment by segment: a literal segment wins over a complex one
    (``{from}...{to}``), which wins over a parameter, which wins over an optional parameter."""
    key = []
    for segment in template.strip("/").split("/"):
        if "{" not in segment:
            key.append(0)
        elif not (segment.startswith("{") and segment.endswith("}") and segment.count("{") == 1):
            key.append(1)
        elif segment.endswith("?}"):
            key.append(3)
        else:
            key.append(2)
    return tuple(key)


def python_name(parameter: str) -> str:
    """The keyword a handler receives a route parameter as: ServiceControl's camelCase name in snake_case
    (``failedMessageId`` -> ``failed_message_id``), ``from`` as ``from_``."""
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", parameter).lower()
    return name + "_" if keyword.iskeyword(name) else name


class Router:
    """Routes by method and path. As in ASP.NET Core, the more specific template wins whatever the order the
    routes were added in (``route_precedence``; equal ones keep their order), so controllers can add theirs
    independently: ``/api/errors/groups`` goes to ``errors/groups/{classifier?}``, not ``errors/{id}``."""

    def __init__(self) -> None:
        self._routes: list[tuple[tuple[int, ...], tuple[str, ...], re.Pattern, Handler]] = []
        #: (methods, template) in the order added, for the routes manifest (api/my/routes).
        self.templates: list[tuple[str, str]] = []
        self.conventions = Conventions()

    def add(self, methods: str, template: str, handler: Handler) -> None:
        """``template`` like ``/api/errors/{id}`` (a parameter matches one non-empty path segment, or
        part of one, e.g. ``{from}...{to}``); ``{name?}`` is optional at the end."""
        pattern = ""
        for part in re.split(r"(\{[^}]+\})", template):
            if part.startswith("{"):
                name = part.strip("{}")
                optional = name.endswith("?")
                name = name.rstrip("?")
                if optional:
                    pattern = pattern.rstrip("/") + "(?:/(?P<%s>[^/]+))?" % name
                else:
                    pattern += "(?P<%s>[^/]+?)" % name
            else:
                pattern += re.escape(part)
        route = (route_precedence(template), tuple(methods.split(",")), re.compile("^" + pattern + "/?$"), handler)
        self.templates.append((methods, template))
        self._routes.append(route)
        self._routes.sort(key=lambda r: r[0])  # stable: equal precedence keeps the order of adding

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        allowed: list[str] = []
        for _precedence, methods, regex, handler in self._routes:
            match = regex.match(path)
            if not match:
                continue
            if method in methods:
                params = {
                    python_name(k): urllib.parse.unquote(v) for k, v in match.groupdict().items() if v is not None
                }
                return handler, params
            allowed.extend(methods)
        if allowed:
            raise RouteMiss(405, allow=tuple(dict.fromkeys(allowed)))
        raise RouteMiss(404)


def paging(request: Request) -> tuple[int, int]:
    """PagingInfoModelBinder: ``per_page`` < 1 or absent -> 50; ``page`` < 1 or absent -> 1.
    A non-integer value makes Convert.ToInt32 throw, which ASP.NET Core answers with 500."""

    def number(name: str) -> int:
        text = request.query(name)
        if text is None:
            return 0
        try:
            return int(text.strip())
        except ValueError:
            raise HttpError(500, "Input string was not in a correct format.") from None

    per_page = number("per_page")
    page = number("page")
    return (page if page >= 1 else 1), (per_page if per_page >= 1 else 50)


SORT_OPTIONS = (
    "id",
    "message_id",
    "message_type",
    "status",
    "time_sent",
    "modified",
    "time_of_failure",
    "processed_at",
    "critical_time",
    "delivery_time",
    "processing_time",
)


def sorting(request: Request) -> tuple[str, str]:
    """SortInfoModelBinder: unknown values silently fall back to ``time_sent`` / ``desc``."""
    direction = request.query("direction") or ""
    if direction not in ("asc", "desc"):
        direction = "desc"
    sort = request.query("sort") or ""
    if sort not in SORT_OPTIONS:
        sort = "time_sent"
    return sort, direction


def page_of(items: list, page: int, per_page: int) -> list:
    start = (page - 1) * per_page
    return items[start : start + per_page]


def paging_links(request: Request, page: int, per_page: int, total: int, highest_total: int | None = None) -> list[str]:
    """HttpResponseExtensions.WithPagingLinks: only when the total exceeds 50, relative to ``api/``."""
    if total <= 50:
        return []
    highest = total if highest_total is None else highest_total
    last_page = -(-highest // per_page)
    if page > last_page:
        return []
    path = urllib.parse.unquote(request.path).replace("/api/", "")
    others = [(k, v) for k, v in request.query_pairs if k != "page"]

    def link(number: int, rel: str) -> str:
        pairs = [*others, ("page", str(number))]
        query = "&".join("%s=%s" % (urllib.parse.quote(k, safe=""), urllib.parse.quote(v, safe="")) for k, v in pairs)
        return '<%s?%s>; rel="%s"' % (path, query, rel)

    links = []
    if page != 1:
        links.append(link(1, "first"))
    if page > 1:
        links.append(link(page - 1, "prev"))
    if page != last_page:
        links.append(link(last_page, "last"))
    if page < last_page:
        links.append(link(page + 1, "next"))
    return links


def list_response(request: Request, items: list, total: int, page: int, per_page: int, *, etag_data: str) -> Response:
    """A paged list with Total-Count, Link (when needed) and a deterministic ETag."""
    response = Response(200, items)
    response.headers.append(("Total-Count", str(total)))
    for value in paging_links(request, page, per_page, total):
        response.headers.append(("Link", value))
    response.headers.append(("ETag", '"%s"' % c.deterministic_guid(etag_data)))
    return response


def etag_of(docs: list[dict]) -> str:
    return c.deterministic_guid(json.dumps(docs, sort_keys=True))


class ApiServer:
    """A ThreadingHTTPServer serving one instance's routes on its HostName/Port."""

    def __init__(self, router: Router, host: str, port: int, version: str) -> None:
        self.router = router
        self.version = version
        bind_host = "" if host in ("*", "+") else host
        server_self = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "Kestrel"

            def version_string(self) -> str:
                return "Kestrel"

            def log_message(self, fmt: str, *args) -> None:
                log.debug("%s " + fmt, self.address_string(), *args)

            def _serve(self) -> None:
                # One handler object per connection: its id and request count make the request ids.
                if not hasattr(self, "connection_id"):
                    self.connection_id, self.requests = cors_rules.connection_id(), 0
                self.requests += 1
                server_self.handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        self.httpd = ThreadingHTTPServer((bind_host, port), _Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        request = Request(
            method=handler.command,
            path=parsed.path,
            query_pairs=urllib.parse.parse_qsl(parsed.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
        )
        conventions = self.router.conventions
        if conventions.cors is not None and cors_rules.is_preflight(request.method, request.headers):
            # The CORS middleware answers every preflight itself, before routing.
            preflight = Response(204, None, cors_rules.preflight_headers(conventions.cors, request.headers))
            self._write(handler, request, preflight, controller_result=False)
            return
        controller_result = True
        try:
            route, params = self.router.resolve(request.method, request.path)
            response = route(request, **params)
        except RouteMiss as exc:
            controller_result = False
            response = Response(exc.status, None, [("Allow", ", ".join(exc.allow))] if exc.allow else [])
        except HttpError as exc:
            # An unhandled exception's 500 comes from the host, not from a controller result.
            controller_result = exc.status != 500
            response = Response(exc.status, {"message": str(exc)} if str(exc) else None)
        except Exception as exc:
            log.exception("Unhandled error for %s %s", request.method, request.path)
            controller_result = False
            response = Response(500, {"message": str(exc)})
        self._write(handler, request, response, controller_result)

    def _conventional_headers(self, handler, request: Request, response: Response, controller_result: bool):
        conventions = self.router.conventions
        headers: list[tuple[str, str]] = []
        if controller_result:
            headers.append(("X-Particular-Version", self.version))
            headers += [
                (k, v() if callable(v) else v) for k, v in conventions.result_headers if response.header(k) is None
            ]
        if conventions.cors is not None and not cors_rules.is_preflight(request.method, request.headers):
            headers += cors_rules.response_headers(conventions.cors, request.headers)
        if conventions.request_ids and response.header("Request-Id") is None:
            headers.append(("Request-Id", cors_rules.request_id(handler.connection_id, handler.requests)))
        return headers

    def _write(
        self, handler: BaseHTTPRequestHandler, request: Request, response: Response, controller_result: bool = True
    ) -> None:
        etag = response.header("ETag")
        if etag and 200 <= response.status <= 299:
            wanted = [v.strip() for v in request.headers.get("if-none-match", "").split(",") if v.strip()]
            if etag in wanted or "*" in wanted:
                response = Response(304, None, [h for h in response.headers if h[0] != "Link"])
        payload = b""
        if response.raw is not None:
            payload = response.raw
        elif response.body is not None:
            payload = c.dumps(response.body)
        handler.send_response(response.status)
        conventional = self._conventional_headers(handler, request, response, controller_result)
        for name, value in conventional:
            handler.send_header(name, value)
        # The CORS middleware sets its exposed headers over what a controller set (ApplyResult).
        replaced = {name.lower() for name, _value in conventional if name.lower().startswith("access-control-")}
        for name, value in [h for h in response.headers if h[0].lower() not in replaced]:
            handler.send_header(name, value)
        if payload or response.status == 200:
            handler.send_header("Content-Type", response.content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if request.method != "HEAD" and response.status != 304:
            handler.wfile.write(payload)
