# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""The one HTTP client for ServiceControl's API (Error, Audit and Monitoring instances).

Every API module builds its client with ``client_from_module(module)`` and declares its options with
``api_argument_spec(**own_options)``; the connection options are documented once in the
``servicecontrol.platform.connection`` doc fragment and can be set once for all API modules through
``module_defaults: {group/servicecontrol.platform.api: {...}}``.

What the client takes care of, so modules don't:

* the base URL, given with or without the trailing ``/api``; routes are relative (``errors``,
  ``configuration/remotes``) and resolved against ``<instance>/api/``, or against the instance root
  with ``root=True`` (Monitoring instances serve their API at the root);
* TLS (verification on by default, ``ca_path``, client certificates), timeouts, the bearer token that
  ServiceControl 6.11+ accepts when authentication is enabled, and extra headers;
* bounded retries with exponential backoff, only where a retry is safe (see ``RETRY_STATUSES``);
* ServiceControl's response conventions: ``X-Particular-Version``, ``Total-Count``, ``Link`` paging,
  202 Accepted with an empty body for asynchronous operations;
* one exception type whose message names the method, URL and status and never contains a secret.
"""

from __future__ import annotations

import json
import re
import time
import traceback
from urllib.parse import parse_qs, quote, urljoin, urlsplit, urlunsplit

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.servicecontrol.platform.plugins.module_utils._api_errors import (
    RETRY_STATUSES,
    ServiceControlApiError,
    first_line,
    is_retryable_transport_error,
    status_detail,
    transport_failure_detail,
    truncate,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._options import (
    DEFAULT_TIMEOUT,
    checked_timeout,
    timeout_argument_spec,
    tls_argument_spec,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._redact import Redactor, strip_userinfo
from ansible_collections.servicecontrol.platform.plugins.module_utils._tls import TlsConfigurationError, TlsSettings
from ansible_collections.servicecontrol.platform.plugins.module_utils._version import parse_version

try:
    import httpx
except ImportError:
    httpx = None
    HAS_HTTPX = False
    HTTPX_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_HTTPX = True
    HTTPX_IMPORT_ERROR = None

DEFAULT_RETRIES = 3
#: Seconds before the first retry; each further retry doubles it (1, 2, 4, ...), capped at MAX_BACKOFF.
BACKOFF_FACTOR = 1.0
MAX_BACKOFF = 30.0


#: Methods that can be sent twice without doing the work twice. POST and PATCH start ServiceControl
#: operations (retry, archive, ...), so they are retried only when the caller says it is safe.
IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "PUT", "DELETE"))

#: Upper bound on pages read by paginate(), against a server that keeps answering "next".
MAX_PAGES = 100000

USER_AGENT = "servicecontrol.platform (Ansible collection)"

_LINK_RE = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]*)*)")
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def quote_segment(value):
    """Quote one path segment (an endpoint name, a queue address such as ``error@[dbo]``) for a route."""
    return quote(str(value), safe="")


def api_argument_spec(**module_options):
    """The connection options every API module accepts, merged with the module's own options.

    Mirrors the ``servicecontrol.platform.connection`` doc fragment; keep the two in step.
    """
    spec = {
        "url": {"type": "str", "required": True, "aliases": ["api_url"]},
        "timeout": timeout_argument_spec(),
        **tls_argument_spec(),
        "token": {"type": "str", "no_log": True},
        "headers": {"type": "dict", "no_log": True},
        "retries": {"type": "int", "default": DEFAULT_RETRIES},
    }
    spec.update(module_options)
    return spec


def client_options(params, **overrides):
    """The ServiceControlClient arguments from the connection options of api_argument_spec (module or action)."""
    options = {
        key: params[key]
        for key in (
            "url",
            "timeout",
            "validate_certs",
            "ca_path",
            "client_cert",
            "client_key",
            "token",
            "headers",
            "retries",
        )
    }
    options.update(overrides)
    return options


def client_from_module(module, **overrides):
    """Build a ServiceControlClient from the module's connection options, or fail the module clearly."""
    if not HAS_HTTPX:
        module.fail_json(msg=missing_required_lib("httpx"), exception=HTTPX_IMPORT_ERROR)
    try:
        return ServiceControlClient(**client_options(module.params, **overrides))
    except ServiceControlApiError as exc:
        module.fail_json(**exc.fail_kwargs())
    return None  # unreachable: fail_json exits


def split_instance_url(url):
    """Return ``(instance_url, api_url)`` for a URL given with or without ``/api``, both ending in ``/``.

    ``http://sc:33333``, ``http://sc:33333/`` and ``http://sc:33333/api/`` all give
    ``("http://sc:33333/", "http://sc:33333/api/")``; a virtual directory (``http://host/sc/api``) is kept.
    """
    if not isinstance(url, str) or not url.strip():
        raise ServiceControlApiError(
            "url is empty; set it to the instance's API address, e.g. http://servicecontrol:33333/api"
        )
    text = url.strip()
    shown = strip_userinfo(text)
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise ServiceControlApiError(
            "url '%s' is not a valid URL (%s); use e.g. http://servicecontrol:33333/api" % (shown, exc)
        ) from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ServiceControlApiError(
            "url '%s' must be an http:// or https:// address with a host, e.g. http://servicecontrol:33333/api" % shown
        )
    if parts.query or parts.fragment:
        raise ServiceControlApiError(
            "url '%s' must not contain a query string or fragment; give the instance's base address" % shown
        )
    path = parts.path.rstrip("/")
    if path.lower().endswith("/api"):
        path = path[: -len("/api")]
    instance_url = urlunsplit((parts.scheme.lower(), parts.netloc, path + "/", "", ""))
    return instance_url, instance_url + "api/"


class ApiResponse:
    """One ServiceControl response: status, headers and the decoded ServiceControl conventions."""

    def __init__(self, client, response, *, method, route, url, attempts):
        self._client = client
        self.method = method
        self.route = route
        self.url = url
        self.status = response.status_code
        self.reason = response.reason_phrase
        self.headers = response.headers
        self.content = response.content
        self.attempts = attempts
        #: The raw ``X-Particular-Version`` header, or None.
        self.version_text = response.headers.get("x-particular-version")
        #: The parsed version (comparable with ``>= Version("4.33.0")``), or None when absent or unknown.
        self.version = parse_version(self.version_text)

    @property
    def ok(self):
        return 200 <= self.status < 300

    @property
    def total_count(self):
        """The ``Total-Count`` header as an int, or None when the route does not send it."""
        value = self.headers.get("total-count")
        if value is None:
            return None
        try:
            return int(value.strip())
        except ValueError:
            return None

    @property
    def links(self):
        """``Link`` header targets by relation (``next``, ``prev``, ``first``, ``last``), as sent."""
        return parse_link_header(", ".join(self.headers.get_list("link")))

    @property
    def content_type(self):
        return self.headers.get("content-type", "")

    @property
    def body(self):
        """The decoded JSON body (decoded once), None when empty; see json()."""
        if not hasattr(self, "_body"):
            self._body = self.json()
        return self._body

    def expect(self, kind, what):
        """The body, checked to be a ``dict`` or ``list`` (``kind``); otherwise an error naming ``what``."""
        body = self.body
        if not isinstance(body, kind):
            raise self._client.error(
                self,
                "expected %s as a JSON %s, got %s" % (what, "object" if kind is dict else "array", _json_kind(body)),
            )
        return body

    def json(self):
        """The decoded body; None for an empty body (e.g. 202 Accepted from an asynchronous operation)."""
        if not self.content or not self.content.strip():
            return None
        try:
            # json.loads detects UTF-8/16/32 itself; ServiceControl always sends UTF-8.
            return json.loads(self.content)
        except ValueError as exc:
            detail = (
                "the response is not valid JSON (%s, content type '%s'); check that url points at a ServiceControl API"
                % (
                    first_line(str(exc)),
                    self.content_type or "none",
                )
            )
            raise self._client.error(self, detail) from None


def parse_link_header(value):
    """Parse an RFC 5988/8288 ``Link`` header into ``{rel: target}`` (first target wins per rel)."""
    links = {}
    for match in _LINK_RE.finditer(value or ""):
        target, params = match.group(1).strip(), match.group(2)
        for param in params.split(";"):
            name, _sep, rel_value = param.strip().partition("=")
            if name.strip().lower() != "rel":
                continue
            for rel in rel_value.strip().strip('"').split():
                links.setdefault(rel.lower(), target)
    return links


class ServiceControlClient:
    """HTTP client for one ServiceControl instance. Use as a context manager, or call close().

    Public interface:

    * ``request(method, route, *, params=None, body=None, root=False, retry=None, headers=None)`` ->
      ApiResponse; raises ServiceControlApiError on any non-2xx status or transport failure;
    * ``get``, ``head``, ``delete``, ``put`` (retried), ``post``, ``patch`` (retried only with
      ``retry=True``) - the same arguments minus the method; ``body`` is sent as JSON;
    * ``get_json(route, *, params=None, root=False)`` -> decoded body (None when empty);
    * ``count(route, *, params=None, method="HEAD")`` -> int from ``Total-Count``;
    * ``paginate(route, *, params=None, per_page=None)`` -> iterator over the items of every page;
    * ``instance_url``/``api_url`` (userinfo stripped) and ``url_for(route, root=False)``;
    * ``error(response, detail)`` -> a ServiceControlApiError about a 2xx response the caller cannot use.
    """

    def __init__(
        self,
        url,
        *,
        timeout=DEFAULT_TIMEOUT,
        validate_certs=True,
        ca_path=None,
        client_cert=None,
        client_key=None,
        token=None,
        headers=None,
        retries=DEFAULT_RETRIES,
        backoff_factor=BACKOFF_FACTOR,
        max_backoff=MAX_BACKOFF,
        transport=None,
        on_retry=None,
    ):
        if not HAS_HTTPX:
            raise ServiceControlApiError(missing_required_lib("httpx"))
        self._instance_url, self._api_url = split_instance_url(url)
        self.instance_url = strip_userinfo(self._instance_url)
        self.api_url = strip_userinfo(self._api_url)

        self._redactor = Redactor()
        try:
            self.timeout = checked_timeout(timeout)
        except ValueError as exc:
            raise self._config_error(str(exc)) from None
        self.retries = DEFAULT_RETRIES if retries is None else int(retries)
        if self.retries < 0:
            raise self._config_error("retries must be 0 or more, got %s" % retries)
        self.backoff_factor = backoff_factor
        self.max_backoff = max_backoff
        self.on_retry = on_retry
        self.has_token = bool(token)

        extra_headers = self._check_headers(headers)
        self._redactor.add(token, *extra_headers.values())
        if token and urlsplit(self._api_url).username is not None:
            raise self._config_error(
                "url contains credentials (user:password@) and token is set; use only one way to authenticate"
            )

        base_headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        base_headers.update(extra_headers)
        if token:
            base_headers["Authorization"] = "Bearer %s" % token

        try:
            verify = TlsSettings(bool(validate_certs), ca_path, client_cert, client_key).ssl_context()
        except TlsConfigurationError as exc:
            raise self._config_error(str(exc)) from None
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            verify=verify,
            headers=base_headers,
            follow_redirects=False,
            transport=transport,
        )

    # -- lifecycle ------------------------------------------------------------------------------------

    def close(self):
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- requests -------------------------------------------------------------------------------------

    def url_for(self, route="", root=False):
        """Absolute URL of a route relative to the API (``errors``) or, with ``root=True``, the instance root."""
        base = self._instance_url if root else self._api_url
        return base + (route or "").lstrip("/")

    def request(self, method, route="", *, params=None, body=None, root=False, retry=None, headers=None):
        """Send one request (with retries where safe) and return an ApiResponse for a 2xx status.

        ``retry`` None retries idempotent methods only; True/False forces it for this call.
        """
        return self._send(
            method, self.url_for(route, root=root), route, params=params, body=body, retry=retry, headers=headers
        )

    def get(self, route="", *, params=None, root=False, retry=None, headers=None):
        return self.request("GET", route, params=params, root=root, retry=retry, headers=headers)

    def head(self, route="", *, params=None, root=False, retry=None, headers=None):
        return self.request("HEAD", route, params=params, root=root, retry=retry, headers=headers)

    def delete(self, route, *, params=None, body=None, root=False, retry=None, headers=None):
        return self.request("DELETE", route, params=params, body=body, root=root, retry=retry, headers=headers)

    def put(self, route, *, body=None, params=None, root=False, retry=None, headers=None):
        return self.request("PUT", route, params=params, body=body, root=root, retry=retry, headers=headers)

    def post(self, route, *, body=None, params=None, root=False, retry=False, headers=None):
        return self.request("POST", route, params=params, body=body, root=root, retry=retry, headers=headers)

    def patch(self, route, *, body=None, params=None, root=False, retry=False, headers=None):
        return self.request("PATCH", route, params=params, body=body, root=root, retry=retry, headers=headers)

    def get_json(self, route="", *, params=None, root=False):
        return self.get(route, params=params, root=root).json()

    def count(self, route, *, params=None, method="HEAD"):
        """The ``Total-Count`` of a list route, e.g. ``count("errors", params={"status": "unresolved"})``.

        HEAD is the cheap form ServiceControl offers for ``errors`` and group errors; use
        ``method="GET"`` (with ``per_page=1``) for routes without HEAD, such as audit ``messages``.
        """
        response = self.request(method, route, params=params)
        if response.total_count is None:
            raise self.error(response, "the response has no Total-Count header, so this route cannot be counted")
        return response.total_count

    def paginate(self, route, *, params=None, per_page=None):
        """Yield the items of a list route across all pages.

        Follows ``Link: <...>; rel="next"`` (ServiceControl sends the target relative to the API, e.g.
        ``errors?page=2&per_page=50``). ServiceControl omits Link when the total is 50 or less whatever
        ``per_page`` is, so when Link is absent and ``Total-Count`` says items are missing, the next page
        is requested by number.
        """
        query = dict(params or {})
        if per_page:
            query["per_page"] = per_page
        page = _as_int(query.get("page"), 1)
        url, label, send_params = self.url_for(route), route, query
        visited = set()
        yielded = 0
        for _page_index in range(MAX_PAGES):
            response = self._send("GET", url, label, params=send_params)
            items = response.json()
            if items is None:
                items = []
            if not isinstance(items, list):
                raise self.error(response, "expected a JSON array of items, got %s" % type(items).__name__)
            yield from items
            yielded += len(items)
            if not items:
                return
            next_target = response.links.get("next")
            if next_target:
                url = self._resolve_link(response, next_target)
                if url in visited:
                    return
                visited.add(url)
                label, send_params = next_target, None
                page = _as_int(parse_qs(urlsplit(url).query).get("page", [None])[0], page + 1)
                continue
            total = response.total_count
            if total is None or yielded >= total:
                return
            page += 1
            url, label, send_params = self.url_for(route), route, dict(query, page=page)

    # -- internals ------------------------------------------------------------------------------------

    def _send(self, method, url, route, *, params=None, body=None, retry=None, headers=None):
        method = method.upper()
        may_retry = (method in IDEMPOTENT_METHODS) if retry is None else bool(retry)
        attempts_allowed = 1 + (self.retries if may_retry else 0)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, url, params=params, json=body, headers=headers)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                retryable = is_retryable_transport_error(exc)
                if retryable and attempt < attempts_allowed:
                    self._wait(attempt, None, first_line(self._redact(str(exc))) or type(exc).__name__)
                    continue
                raise ServiceControlApiError(
                    transport_failure_detail(exc, timeout=self.timeout, attempts=attempt, redact=self._redact),
                    instance_url=self.api_url,
                    method=method,
                    route=route,
                    url=self._display(url),
                    attempts=attempt,
                ) from None
            if response.status_code in RETRY_STATUSES and attempt < attempts_allowed:
                response.close()
                self._wait(attempt, response, "%s %s" % (response.status_code, response.reason_phrase))
                continue
            break
        result = ApiResponse(self, response, method=method, route=route, url=self._display(url), attempts=attempt)
        if not result.ok:
            raise self.error(
                result,
                status_detail(result, has_token=self.has_token, display=self._display, redact=self._redact),
                body=self._redact_body(self._error_body(result)),
            )
        return result

    def _wait(self, attempt, response, reason):
        delay = min(self.backoff_factor * (2 ** (attempt - 1)), self.max_backoff)
        retry_after = response.headers.get("retry-after") if response is not None else None
        if retry_after and retry_after.strip().isdigit():
            delay = min(max(delay, float(retry_after.strip())), self.max_backoff)
        if self.on_retry is not None:
            self.on_retry(attempt, delay, reason)
        time.sleep(delay)

    def error(self, response, detail, body=None):
        """A ServiceControlApiError about ``response`` (for callers that find a 2xx response unusable)."""
        return ServiceControlApiError(
            self._redact(detail),
            instance_url=self.api_url,
            method=response.method,
            route=response.route,
            url=response.url,
            status=response.status,
            reason=response.reason,
            attempts=response.attempts,
            body=body,
        )

    def _config_error(self, detail):
        return ServiceControlApiError(self._redact(detail), instance_url=self.api_url)

    def _display(self, url):
        parts = urlsplit(strip_userinfo(url))
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))

    def _redact(self, text):
        return self._redactor.text(text or "")

    def _redact_body(self, body):
        return self._redactor.value(body)

    def _error_body(self, response):
        try:
            return response.json()
        except ServiceControlApiError:
            return truncate(response.content.decode("utf-8", "replace"))

    def _resolve_link(self, response, target):
        url = urljoin(self._api_url, target)
        here, there = urlsplit(self._api_url), urlsplit(url)
        # The token goes with every request: never follow a link to another host.
        if (here.scheme, here.hostname, here.port) != (there.scheme, there.hostname, there.port):
            raise self.error(response, "the Link header points to another host; refusing to send credentials there")
        return url

    def _check_headers(self, headers):
        if not headers:
            return {}
        if not isinstance(headers, dict):
            raise self._config_error("headers must be a dictionary of header names and values")
        checked = {}
        for raw_name, value in headers.items():
            name = str(raw_name).strip()
            if not _HEADER_NAME_RE.match(name):
                raise self._config_error("headers has an invalid header name '%s'" % name)
            if value is None or isinstance(value, (dict, list)):
                raise self._config_error("headers: the value of '%s' must be a string" % name)
            checked[name] = str(value)
        return checked


def _json_kind(value):
    if value is None:
        return "an empty body"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def _as_int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
