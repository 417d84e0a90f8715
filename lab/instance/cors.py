"""CORS and the request id, as ServiceControl's middleware adds them to every response.

ServiceControl 6.19.2 builds one default CORS policy per instance (ServiceControl/Infrastructure/WebApi/Cors.cs,
ServiceControl.Audit/Infrastructure/WebApi/Cors.cs, ServiceControl.Monitoring/WebApplicationExtensions.cs) from
its Cors.* settings (lab.settings_features.CorsSettings) and runs ASP.NET Core's CORS middleware with it; the
request id comes from ServiceControl.Hosting/RequestId/RequestIdHeader.cs. The middleware's rules
(docs/reference/servicecontrol.md §2.1, §1.12):

- only a request with an ``Origin`` header takes part;
- a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered by the middleware itself with
  204, whatever the route; when the origin is allowed it carries ``Access-Control-Allow-Origin`` and the
  allowed headers and methods (never the exposed headers);
- any other response carries ``Access-Control-Allow-Origin`` and ``Access-Control-Expose-Headers`` when the
  origin is allowed (``*`` for any origin, else the request's origin), ``Access-Control-Allow-Credentials:
  true`` with specific origins, and ``Vary: Origin`` when more than one origin is configured;
- a disallowed origin gets none of these headers (the browser then refuses the response).
"""

from __future__ import annotations

import itertools
import threading
import time

from lab.settings_features import CorsSettings

#: Kestrel's connection ids are 13 characters of this alphabet, then ":" and the request number in hex.
_BASE32 = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
_connection_ids = itertools.count(int(time.time() * 1000) << 16)
_lock = threading.Lock()


def connection_id() -> str:
    """A new connection id shaped like Kestrel's (base-32 digits of a counter, 13 characters)."""
    with _lock:
        value = next(_connection_ids)
    return "".join(_BASE32[(value >> shift) & 31] for shift in range(60, -5, -5))


def request_id(connection: str, number: int) -> str:
    """HttpContext.TraceIdentifier: ``<connection id>:<request number as 8 hex digits>``."""
    return "%s:%08X" % (connection, number)


def origin_allowed(cors: CorsSettings, origin: str) -> bool:
    if not origin:
        return False
    if cors.allow_any_origin:
        return True
    # CorsPolicyBuilder.WithOrigins lower-cases the configured origins; the request's is compared as sent.
    return origin in [o.lower() for o in cors.allowed_origins]


def is_preflight(method: str, headers: dict[str, str]) -> bool:
    return method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers


def _origin_headers(cors: CorsSettings, origin: str) -> list[tuple[str, str]]:
    headers = [("Access-Control-Allow-Origin", "*" if cors.allow_any_origin else origin)]
    if not cors.allow_any_origin:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    return headers


def _vary(cors: CorsSettings) -> list[tuple[str, str]]:
    # CorsService: VaryByOrigin is SupportsCredentials for any origin (never with ServiceControl's policy),
    # otherwise more than one configured origin.
    return [("Vary", "Origin")] if not cors.allow_any_origin and len(cors.allowed_origins) > 1 else []


def preflight_headers(cors: CorsSettings, headers: dict[str, str]) -> list[tuple[str, str]]:
    """The CORS headers of a preflight answer (204); none when the origin is not allowed."""
    origin = headers.get("origin", "")
    if not origin_allowed(cors, origin):
        return []
    result = _origin_headers(cors, origin)
    result.append(("Access-Control-Allow-Headers", ",".join(cors.allowed_headers)))
    result.append(("Access-Control-Allow-Methods", ",".join(cors.allowed_methods)))
    return result + _vary(cors)


def response_headers(cors: CorsSettings, headers: dict[str, str]) -> list[tuple[str, str]]:
    """The CORS headers of an ordinary response to a cross-origin request."""
    origin = headers.get("origin", "")
    if "origin" not in headers or not origin_allowed(cors, origin):
        return []
    result = _origin_headers(cors, origin)
    result.append(("Access-Control-Expose-Headers", ",".join(cors.exposed_headers)))
    return result + _vary(cors)
