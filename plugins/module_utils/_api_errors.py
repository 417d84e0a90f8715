# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""The API client's one exception type, and how a failed call is explained to the operator.

Every explanation names what to do (set token, set ca_path, check url, ...). Texts pass through the
client's redactor before they get here, or are redacted here; no secret reaches a message.
"""

from __future__ import annotations

import json
import ssl

try:
    import httpx
except ImportError:  # the client reports the missing library; nothing here runs without it
    httpx = None

#: Statuses worth retrying. They mean "not reachable right now", not "your request is wrong":
#: 502 Bad Gateway - a reverse proxy (IIS ARR, nginx, the ServicePulse container) could not reach the
#:     instance, typically because it is restarting;
#: 503 Service Unavailable - the instance (or Kestrel/HTTP.sys in front of it) is starting or overloaded;
#: 504 Gateway Timeout - a proxy gave up waiting on a slow instance.
#: 500 is deliberately absent: ServiceControl answers 500 for its own bugs and bad data, which a retry
#: repeats. 4xx never change on their own.
RETRY_STATUSES = frozenset((502, 503, 504))
_DETAIL_LIMIT = 300


class ServiceControlApiError(Exception):
    """Anything that went wrong talking to ServiceControl. The message never contains a secret.

    Attributes: ``instance_url`` (the API base URL), ``method``, ``route``, ``url`` (the request URL
    without query string), ``status`` (HTTP status or None when no response arrived), ``reason``,
    ``detail`` (a short, actionable explanation), ``attempts`` and ``body`` (the decoded error body,
    if any, for callers that want to inspect it).
    """

    def __init__(
        self,
        detail,
        *,
        instance_url=None,
        method=None,
        route=None,
        url=None,
        status=None,
        reason=None,
        attempts=1,
        body=None,
    ):
        self.detail = detail
        self.instance_url = instance_url
        self.method = method
        self.route = route
        self.url = url or instance_url
        self.status = status
        self.reason = reason
        self.attempts = attempts
        self.body = body
        super().__init__(self._message())

    def _message(self):
        outcome = self.detail
        if self.status is not None:
            outcome = "%s %s - %s" % (self.status, self.reason or "", self.detail)
            outcome = outcome.replace("  - ", " - ")
        if self.method and self.url:
            return "%s %s failed: %s" % (self.method, self.url, outcome)
        if self.url:
            return "%s: %s" % (self.url, outcome)
        return outcome

    def fail_kwargs(self):
        """Keyword arguments for ``module.fail_json``: the message plus status (-1 when no response) and URL."""
        return {"msg": str(self), "status": -1 if self.status is None else self.status, "url": self.url}


def status_detail(response, *, has_token, display, redact):
    """Why a non-2xx response failed, and what to do, in one line (ServiceControl's own message appended)."""
    status = response.status
    tried = " (gave up after %d attempts)" % response.attempts if response.attempts > 1 else ""
    if status == 401:
        hint = (
            "the instance rejected the token (expired, invalid or issued for another audience); obtain a new token"
            if has_token
            else "the instance requires authentication; set token"
        )
    elif status == 403:
        hint = "the token is valid but lacks the permission this call needs (role-based access, ServiceControl 6.18+)"
    elif status == 404:
        hint = "not found; check that url points at the ServiceControl instance and that its version has this route"
    elif status == 500:
        hint = "ServiceControl reported an internal error; see the instance's log"
    elif status in RETRY_STATUSES:
        hint = "the instance, or a proxy in front of it, is unavailable (starting, stopping or overloaded)"
    elif 300 <= status < 400:
        location = display(response.headers.get("location", "")) or "another address"
        hint = "redirected to %s; set url to the final address" % location
    else:
        hint = "the request was refused"
    server_says = server_message(response, redact)
    if server_says:
        hint = "%s; ServiceControl said: %s" % (hint, server_says)
    return hint + tried


def server_message(response, redact):
    """The message ServiceControl (or a proxy) put in an error body, short and redacted; "" when none."""
    if not response.content or not response.content.strip():
        return ""
    try:
        data = json.loads(response.content.decode("utf-8", "replace"))
    except ValueError:
        # HTML error pages (IIS, proxies) say nothing useful in their first line.
        if "html" in response.content_type:
            return ""
        return redact(truncate(first_line(response.content.decode("utf-8", "replace"))))
    if isinstance(data, dict):
        for key in ("message", "Message", "detail", "title", "error", "Error"):
            if isinstance(data.get(key), str) and data[key].strip():
                return redact(truncate(data[key].strip()))
    return ""


def transport_failure_detail(exc, *, timeout, attempts, redact):
    """Why a request got no response (TLS, timeout, refused connection), and what to do."""
    raw = first_line(redact(str(exc))) or type(exc).__name__
    tried = " (gave up after %d attempts)" % attempts if attempts > 1 else ""
    if _is_tls_failure(exc):
        if _is_certificate_failure(exc):
            detail = (
                "TLS certificate verification failed (%s); set ca_path to the CA that signed the instance's "
                "certificate, or validate_certs=false to skip verification (insecure)" % raw
            )
        else:
            detail = (
                "TLS handshake failed (%s); check that url uses the scheme (http or https) the instance listens "
                "on, and client_cert/client_key if it requires a client certificate" % raw
            )
    elif isinstance(exc, httpx.ConnectTimeout):
        detail = "connection timed out after %gs; check url, firewalls and that the instance is running" % (timeout)
    elif isinstance(exc, httpx.TimeoutException):
        detail = "no response within %gs; raise timeout or check the instance's load" % timeout
    elif isinstance(exc, httpx.ConnectError):
        detail = "cannot connect (%s); check url and that the instance is running" % raw
    elif isinstance(exc, httpx.InvalidURL) or isinstance(exc, httpx.UnsupportedProtocol):
        detail = "invalid request URL (%s)" % raw
    else:
        detail = "the connection failed (%s)" % raw
    return detail + tried


def is_retryable_transport_error(exc):
    if _is_tls_failure(exc):
        return False
    return isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError))


def _exception_chain(exc):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _is_tls_failure(exc):
    for link in _exception_chain(exc):
        if isinstance(link, ssl.SSLError):
            return True
    return "[SSL" in str(exc) or "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _is_certificate_failure(exc):
    for link in _exception_chain(exc):
        if isinstance(link, ssl.SSLCertVerificationError):
            return True
    text = str(exc)
    return "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text


def first_line(text):
    return (text or "").strip().splitlines()[0].strip() if (text or "").strip() else ""


def truncate(text):
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 3] + "..."
