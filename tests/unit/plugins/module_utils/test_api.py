# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy
import json
import math
import ssl
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils import _api
from ansible_collections.servicecontrol.platform.plugins.module_utils._api import (
    ServiceControlApiError,
    ServiceControlClient,
    api_argument_spec,
    client_from_module,
    parse_link_header,
    quote_segment,
    split_instance_url,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._tls import TlsSettings
from ansible_collections.servicecontrol.platform.plugins.module_utils._version import Version

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "servicecontrol"
URL = "http://sc:33333/api"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.s3cr3t-payload.signature"
HEADER_SECRET = "gateway-key-0f9e8d7c"
SC_VERSION = {"X-Particular-Version": "6.19.2"}


def fixture(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class Recorder:
    """A MockTransport handler that answers from a list of responses/exceptions and records requests."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    @property
    def methods(self):
        return [request.method for request in self.requests]


def client_for(handler, url=URL, **options):
    return ServiceControlClient(url, transport=httpx.MockTransport(handler), **options)


@pytest.fixture
def sleeps(monkeypatch):
    """Record backoff delays instead of sleeping."""
    delays = []
    monkeypatch.setattr(_api.time, "sleep", delays.append)
    return delays


def json_response(status, body, headers=None):
    return httpx.Response(status, json=body, headers={**SC_VERSION, **(headers or {})})


# -- base URL -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "instance_url", "api_url"),
    [
        ("http://sc:33333", "http://sc:33333/", "http://sc:33333/api/"),
        ("http://sc:33333/", "http://sc:33333/", "http://sc:33333/api/"),
        ("http://sc:33333/api", "http://sc:33333/", "http://sc:33333/api/"),
        ("http://sc:33333/api/", "http://sc:33333/", "http://sc:33333/api/"),
        ("HTTP://sc:33333/API//", "http://sc:33333/", "http://sc:33333/api/"),
        ("https://host.example.com/servicecontrol/api", "https://host.example.com/servicecontrol/", None),
        ("  http://mon:33633  ", "http://mon:33633/", "http://mon:33633/api/"),
    ],
)
def test_base_url_is_normalised_with_or_without_api(given, instance_url, api_url):
    assert split_instance_url(given) == (instance_url, api_url or instance_url + "api/")


@pytest.mark.parametrize("given", ["http://sc:33333", "http://sc:33333/api/", "http://sc:33333/api"])
def test_routes_resolve_against_the_api_and_root_against_the_instance(given):
    recorder = Recorder(json_response(200, []))
    with client_for(recorder, url=given) as client:
        client.get("errors")
        client.get("/configuration/remotes")
        client.get("")
        client.get("connection", root=True)
    assert [str(request.url) for request in recorder.requests] == [
        "http://sc:33333/api/errors",
        "http://sc:33333/api/configuration/remotes",
        "http://sc:33333/api/",
        "http://sc:33333/connection",
    ]


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        ("", "url is empty"),
        ("   ", "url is empty"),
        ("servicecontrol:33333", "must be an http:// or https:// address"),
        ("ftp://sc/api", "must be an http:// or https:// address"),
        ("http:///api", "must be an http:// or https:// address"),
        ("http://sc:33333/api?x=1", "must not contain a query string"),
        ("http://sc:notaport/api", "is not a valid URL"),
    ],
)
def test_bad_url_fails_before_any_request(given, complaint):
    recorder = Recorder(json_response(200, {}))
    with pytest.raises(ServiceControlApiError, match=complaint):
        client_for(recorder, url=given)
    assert recorder.requests == []


def test_quote_segment_keeps_queue_addresses_in_one_segment():
    assert quote_segment("error@[dbo]@[servicecontrol]") == "error%40%5Bdbo%5D%40%5Bservicecontrol%5D"
    assert quote_segment("Sales/Orders") == "Sales%2FOrders"


# -- headers --------------------------------------------------------------------------------------


def test_no_authorization_header_without_token():
    recorder = Recorder(json_response(200, {}))
    with client_for(recorder) as client:
        client.get("configuration")
    sent = recorder.requests[0].headers
    assert "authorization" not in sent
    assert sent["accept"] == "application/json"
    assert "servicecontrol.platform" in sent["user-agent"]


def test_token_is_sent_as_bearer_and_extra_headers_are_sent():
    recorder = Recorder(json_response(200, {}))
    with client_for(recorder, token=TOKEN, headers={"X-Api-Key": HEADER_SECRET, "X-Tenant": 42}) as client:
        client.get("errors")
        client.post("errors/retry/all")
    for request in recorder.requests:
        assert request.headers["authorization"] == "Bearer " + TOKEN
        assert request.headers["x-api-key"] == HEADER_SECRET
        assert request.headers["x-tenant"] == "42"


def test_per_call_headers_are_added():
    recorder = Recorder(httpx.Response(304, headers=SC_VERSION))
    with client_for(recorder) as client, pytest.raises(ServiceControlApiError):
        client.get("errors", headers={"If-None-Match": '"abc"'})
    assert recorder.requests[0].headers["if-none-match"] == '"abc"'


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"headers": {"bad name": "x"}}, "invalid header name 'bad name'"),
        ({"headers": {"X-Thing": None}}, "value of 'X-Thing' must be a string"),
        ({"headers": ["X-Thing: 1"]}, "headers must be a dictionary"),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"retries": -1}, "retries must be 0 or more"),
        ({"client_key": "/etc/pki/client.key"}, "client_key is set without client_cert"),
        ({"ca_path": "/nonexistent/ca.pem"}, "cannot load the TLS files"),
    ],
)
def test_bad_connection_options_fail_clearly(options, complaint):
    with pytest.raises(ServiceControlApiError, match=complaint) as caught:
        client_for(Recorder(json_response(200, {})), **options)
    assert caught.value.status is None


def test_token_and_credentials_in_url_are_mutually_exclusive():
    with pytest.raises(ServiceControlApiError, match="use only one way to authenticate") as caught:
        client_for(Recorder(json_response(200, {})), url="http://admin:pa55word@sc:33333/api", token=TOKEN)
    assert "pa55word" not in str(caught.value)
    assert TOKEN not in str(caught.value)


# -- TLS options ----------------------------------------------------------------------------------


def test_tls_verification_is_on_by_default():
    assert TlsSettings(True, None, None, None).ssl_context() is True
    assert api_argument_spec()["validate_certs"]["default"] is True


def test_validate_certs_false_disables_verification():
    assert TlsSettings(False, None, None, None).ssl_context() is False


def test_ca_path_replaces_the_default_trust_store(tmp_path):
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(ssl.DER_cert_to_PEM_cert(_self_signed_der()), encoding="ascii")
    context = TlsSettings(True, str(ca_file), None, None).ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert len(context.get_ca_certs()) == 1


def test_client_certificate_is_loaded_even_without_verification(tmp_path):
    cert_file, key_file = tmp_path / "client.pem", tmp_path / "client.key"
    certificate, key = _self_signed(pem=True)
    cert_file.write_bytes(certificate)
    key_file.write_bytes(key)
    context = TlsSettings(False, None, str(cert_file), str(key_file)).ssl_context()
    assert context.verify_mode == ssl.CERT_NONE
    assert context.check_hostname is False
    # A key file given as the certificate: the client refuses it before any request.
    with pytest.raises(ServiceControlApiError, match="cannot load the TLS files"):
        client_for(Recorder(json_response(200, {})), client_cert=str(key_file))


def _self_signed_der():
    return _self_signed()[0]


def _self_signed(pem=False):
    pytest.importorskip("cryptography")
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    if not pem:
        return certificate.public_bytes(serialization.Encoding.DER), None
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def test_tls_certificate_failure_says_to_set_ca_path_or_validate_certs(sleeps):
    def fail(request):
        try:
            raise ssl.SSLCertVerificationError(
                1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1000)"
            )
        except ssl.SSLError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc

    recorder = Recorder(fail)
    with client_for(recorder, url="https://sc:33333/api") as client, pytest.raises(ServiceControlApiError) as caught:
        client.get("configuration")
    message = str(caught.value)
    assert message.startswith("GET https://sc:33333/api/configuration failed: TLS certificate verification failed")
    assert "set ca_path" in message
    assert "validate_certs=false" in message
    assert caught.value.status is None
    # A certificate problem does not go away by itself: no retries.
    assert len(recorder.requests) == 1
    assert sleeps == []


def test_tls_handshake_failure_points_at_the_scheme(sleeps):
    recorder = Recorder(httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1000)"))
    with client_for(recorder, url="https://sc:33333/api") as client, pytest.raises(ServiceControlApiError) as caught:
        client.get("configuration")
    assert "TLS handshake failed" in str(caught.value)
    assert "scheme (http or https)" in str(caught.value)
    assert len(recorder.requests) == 1


# -- status errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "token", "expected"),
    [
        (
            401,
            None,
            "GET http://sc:33333/api/errors failed: 401 Unauthorized - the instance requires authentication; set token",
        ),
        (401, TOKEN, "GET http://sc:33333/api/errors failed: 401 Unauthorized - the instance rejected the token"),
        (
            403,
            TOKEN,
            "GET http://sc:33333/api/errors failed: 403 Forbidden - the token is valid but lacks the permission",
        ),
        (404, None, "GET http://sc:33333/api/errors failed: 404 Not Found - not found; check that url points at"),
        (
            500,
            None,
            "GET http://sc:33333/api/errors failed: 500 Internal Server Error - ServiceControl reported an internal",
        ),
        (400, None, "GET http://sc:33333/api/errors failed: 400 Bad Request - the request was refused"),
        (429, None, "GET http://sc:33333/api/errors failed: 429 Too Many Requests"),
    ],
)
def test_client_and_server_errors_are_not_retried_and_explain_themselves(sleeps, status, token, expected):
    recorder = Recorder(httpx.Response(status))
    with client_for(recorder, token=token) as client, pytest.raises(ServiceControlApiError) as caught:
        client.get("errors", params={"status": "unresolved"})
    error = caught.value
    assert str(error).startswith(expected)
    assert (error.status, error.method, error.route) == (status, "GET", "errors")
    assert error.instance_url == "http://sc:33333/api/"
    assert error.url == "http://sc:33333/api/errors"
    assert error.fail_kwargs() == {"msg": str(error), "status": status, "url": "http://sc:33333/api/errors"}
    assert len(recorder.requests) == 1
    assert sleeps == []


def test_servicecontrol_error_body_is_quoted_in_the_message():
    body = {"error": "forbidden", "message": "You do not have permission to access this resource."}
    recorder = Recorder(httpx.Response(403, json=body))
    with client_for(recorder, token=TOKEN) as client, pytest.raises(ServiceControlApiError) as caught:
        client.post("errors/retry/all")
    assert "ServiceControl said: You do not have permission to access this resource." in str(caught.value)
    assert caught.value.body == body


def test_html_error_pages_are_not_quoted():
    recorder = Recorder(
        httpx.Response(404, text="<html><body>IIS 404</body></html>", headers={"content-type": "text/html"})
    )
    with client_for(recorder) as client, pytest.raises(ServiceControlApiError) as caught:
        client.get("errors")
    assert "IIS" not in str(caught.value)


def test_redirect_is_reported_with_the_target():
    recorder = Recorder(httpx.Response(301, headers={"location": "https://sc.example.com/api/errors"}))
    with client_for(recorder) as client, pytest.raises(ServiceControlApiError) as caught:
        client.get("errors")
    assert "redirected to https://sc.example.com/api/errors; set url to the final address" in str(caught.value)


# -- retries --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "detail"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "cannot connect ([Errno 111] Connection refused)"),
        (httpx.ConnectTimeout("timed out"), "connection timed out after 30s"),
        (httpx.ReadTimeout("timed out"), "no response within 30s"),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), "the connection failed"),
    ],
)
def test_connection_errors_and_timeouts_are_retried_with_exponential_backoff(sleeps, failure, detail):
    recorder = Recorder(failure)
    with client_for(recorder) as client, pytest.raises(ServiceControlApiError) as caught:
        client.get("errors")
    assert len(recorder.requests) == 4  # the first attempt and 3 retries
    assert sleeps == [1.0, 2.0, 4.0]
    message = str(caught.value)
    assert message.startswith("GET http://sc:33333/api/errors failed: ")
    assert detail in message
    assert message.endswith("(gave up after 4 attempts)")
    assert caught.value.status is None
    assert caught.value.fail_kwargs()["status"] == -1


def test_connection_error_then_success(sleeps):
    recorder = Recorder(httpx.ConnectError("[Errno 111] Connection refused"), json_response(200, {"ok": True}))
    with client_for(recorder) as client:
        assert client.get_json("configuration") == {"ok": True}
    assert len(recorder.requests) == 2
    assert sleeps == [1.0]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_statuses_are_retried_then_succeed(sleeps, status):
    recorder = Recorder(httpx.Response(status), httpx.Response(status), json_response(200, []))
    with client_for(recorder) as client:
        response = client.get("errors")
    assert response.status == 200
    assert response.attempts == 3
    assert len(recorder.requests) == 3
    assert sleeps == [1.0, 2.0]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_statuses_exhaust_the_retries(sleeps, status):
    recorder = Recorder(httpx.Response(status))
    with client_for(recorder, retries=2) as client, pytest.raises(ServiceControlApiError) as caught:
        client.get("errors")
    assert len(recorder.requests) == 3
    assert sleeps == [1.0, 2.0]
    assert caught.value.status == status
    assert caught.value.attempts == 3
    assert str(caught.value).endswith("is unavailable (starting, stopping or overloaded) (gave up after 3 attempts)")


def test_backoff_is_capped_and_honours_retry_after(sleeps):
    recorder = Recorder(
        httpx.Response(503, headers={"Retry-After": "5"}),
        httpx.Response(503, headers={"Retry-After": "120"}),
        httpx.Response(503),
        json_response(200, {}),
    )
    with client_for(recorder, backoff_factor=2.0, max_backoff=10.0) as client:
        client.get("configuration")
    assert sleeps == [5.0, 10.0, 8.0]


def test_retries_zero_disables_retrying(sleeps):
    recorder = Recorder(httpx.Response(503))
    with client_for(recorder, retries=0) as client, pytest.raises(ServiceControlApiError):
        client.get("errors")
    assert len(recorder.requests) == 1
    assert sleeps == []


def test_on_retry_reports_each_retry(sleeps):
    seen = []
    recorder = Recorder(httpx.Response(503), json_response(200, {}))
    with client_for(recorder, on_retry=lambda *args: seen.append(args)) as client:
        client.get("configuration")
    assert seen == [(1, 1.0, "503 Service Unavailable")]


@pytest.mark.parametrize("method", ["post", "patch"])
@pytest.mark.parametrize("failure", [httpx.Response(503), httpx.ConnectError("[Errno 104] Connection reset by peer")])
def test_operations_are_not_retried_unless_asked(sleeps, method, failure):
    recorder = Recorder(failure, httpx.Response(202))
    with client_for(recorder) as client, pytest.raises(ServiceControlApiError):
        getattr(client, method)("errors/archive", body=["a"])
    assert len(recorder.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("method", ["post", "patch"])
def test_operations_are_retried_when_the_caller_says_it_is_safe(sleeps, method):
    recorder = Recorder(httpx.Response(503), httpx.Response(202))
    with client_for(recorder) as client:
        response = getattr(client, method)("errors/archive", body=["a"], retry=True)
    assert response.status == 202
    assert len(recorder.requests) == 2
    assert json.loads(recorder.requests[1].content) == ["a"]


@pytest.mark.parametrize(("method", "attempts"), [("POST", 1), ("PATCH", 1), ("PUT", 4), ("DELETE", 4), ("HEAD", 4)])
def test_request_retries_by_method_by_default(sleeps, method, attempts):
    recorder = Recorder(httpx.Response(503))
    with client_for(recorder) as client, pytest.raises(ServiceControlApiError):
        client.request(method, "errors/archive")
    assert recorder.methods == [method] * attempts


@pytest.mark.parametrize("method", ["put", "delete"])
def test_idempotent_writes_are_retried(sleeps, method):
    recorder = Recorder(httpx.Response(502), httpx.Response(204))
    with client_for(recorder) as client:
        response = getattr(client, method)("recoverability/unacknowledgedgroups/42")
    assert response.status == 204
    assert recorder.methods == [method.upper()] * 2


def test_get_can_opt_out_of_retries(sleeps):
    recorder = Recorder(httpx.Response(503))
    with client_for(recorder) as client, pytest.raises(ServiceControlApiError):
        client.get("errors", retry=False)
    assert len(recorder.requests) == 1


# -- bodies and headers of successful responses ---------------------------------------------------


def test_accepted_with_empty_body_is_success():
    recorder = Recorder(httpx.Response(202, headers=SC_VERSION))
    with client_for(recorder) as client:
        response = client.post("errors/retry/all")
    assert response.status == 202
    assert response.json() is None
    assert recorder.methods == ["POST"]


def test_invalid_json_gives_a_clear_error():
    recorder = Recorder(
        httpx.Response(200, text="<!doctype html><title>ServicePulse</title>", headers={"content-type": "text/html"})
    )
    with client_for(recorder) as client, pytest.raises(ServiceControlApiError) as caught:
        client.get_json("configuration")
    message = str(caught.value)
    assert message.startswith("GET http://sc:33333/api/configuration failed: 200 OK - the response is not valid JSON")
    assert "content type 'text/html'" in message
    assert "check that url points at a ServiceControl API" in message


def test_version_header_is_parsed():
    recorder = Recorder(json_response(200, fixture("error_configuration.json")))
    with client_for(recorder) as client:
        response = client.get("configuration")
    # The body, its headers and the version travel together in the response.
    assert response.version == Version("6.19.2")
    assert response.version >= Version("4.33.0")
    assert response.version_text == "6.19.2"
    assert response.body == fixture("error_configuration.json")


@pytest.mark.parametrize(
    ("header", "expected"), [(None, None), ("Unknown", None), ("6.20.0-alpha.3", "6.20.0-alpha.3")]
)
def test_missing_or_unknown_version_header_gives_none(header, expected):
    headers = {"X-Particular-Version": header} if header else {}
    recorder = Recorder(httpx.Response(200, json={}, headers=headers))
    with client_for(recorder) as client:
        response = client.get("configuration")
    assert response.version == (Version(expected) if expected else None)
    assert response.version_text == header


# -- counts ---------------------------------------------------------------------------------------


def test_count_uses_head_and_total_count():
    recorder = Recorder(httpx.Response(200, headers={**SC_VERSION, "Total-Count": "1234"}))
    with client_for(recorder) as client:
        assert client.count("errors", params={"status": "unresolved"}) == 1234
    request = recorder.requests[0]
    assert request.method == "HEAD"
    assert request.url.path == "/api/errors"
    assert request.url.params["status"] == "unresolved"


def test_count_with_get_for_routes_without_head():
    items = [fixture("failed_message_view.json")]
    recorder = Recorder(httpx.Response(200, json=items, headers={**SC_VERSION, "Total-Count": "87"}))
    with client_for(recorder, url="http://sc-audit:44444") as client:
        count = client.count("messages", params={"include_system_messages": "true", "per_page": 1}, method="GET")
    assert count == 87
    assert recorder.requests[0].method == "GET"
    assert str(recorder.requests[0].url) == "http://sc-audit:44444/api/messages?include_system_messages=true&per_page=1"


def test_count_without_total_count_header_fails():
    recorder = Recorder(httpx.Response(200, headers=SC_VERSION))
    with client_for(recorder) as client, pytest.raises(ServiceControlApiError, match="no Total-Count header"):
        client.count("errors")


def test_total_count_zero_is_a_count():
    recorder = Recorder(httpx.Response(200, headers={"Total-Count": "0"}))
    with client_for(recorder) as client:
        assert client.count("errors", params={"status": "unresolved"}) == 0


# -- paging ---------------------------------------------------------------------------------------


class FakeErrorsRoute:
    """GET /api/errors the way ServiceControl 6.19 answers it (HttpResponseExtensions.WithPagingLinks).

    Total-Count on every page; Link only when the total exceeds 50 (the default page size, whatever
    per_page says); link targets are the request path with "/api/" removed plus the query with page set.
    """

    def __init__(self, total):
        template = fixture("failed_message_view.json")
        self.items = []
        for number in range(total):
            item = copy.deepcopy(template)
            item["id"] = "failed-%03d" % number
            self.items.append(item)
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        query = dict(request.url.params)
        page = int(query.get("page", 1))
        per_page = int(query.get("per_page", 50))
        start = (page - 1) * per_page
        body = self.items[start : start + per_page]
        headers = {**SC_VERSION, "Total-Count": str(len(self.items))}
        if len(self.items) > 50:
            last = math.ceil(len(self.items) / per_page)
            path = request.url.path.replace("/api/", "")
            others = {key: value for key, value in query.items() if key != "page"}
            links = []
            if page != 1:
                links.append(("first", 1))
            if page > 1:
                links.append(("prev", page - 1))
            if page != last:
                links.append(("last", last))
            if page < last:
                links.append(("next", page + 1))
            headers["Link"] = ", ".join(
                '<%s?%s>; rel="%s"' % (path, urlencode({**others, "page": number}), rel) for rel, number in links
            )
        return httpx.Response(200, json=body, headers=headers)


def test_paginate_follows_link_next_over_three_pages():
    route = FakeErrorsRoute(120)
    with client_for(route) as client:
        items = list(client.paginate("errors", params={"status": "unresolved", "sort": "time_of_failure"}))
    assert [item["id"] for item in items] == ["failed-%03d" % number for number in range(120)]
    assert len(route.requests) == 3
    assert [request.url.params.get("page") for request in route.requests] == [None, "2", "3"]
    for request in route.requests:
        assert request.url.path == "/api/errors"
        assert request.url.params["status"] == "unresolved"
        assert request.url.params["sort"] == "time_of_failure"


def test_paginate_uses_total_count_when_servicecontrol_sends_no_link():
    # With 30 items ServiceControl sends no Link even for per_page=10: three pages must still be read.
    route = FakeErrorsRoute(30)
    with client_for(route) as client:
        items = list(client.paginate("errors", params={"status": "unresolved"}, per_page=10))
    assert len(items) == 30
    assert len({item["id"] for item in items}) == 30
    assert [request.url.params.get("page") for request in route.requests] == [None, "2", "3"]


def test_paginate_single_page_and_empty_list():
    for total in (0, 7):
        route = FakeErrorsRoute(total)
        with client_for(route) as client:
            assert len(list(client.paginate("errors"))) == total
        assert len(route.requests) == 1


def test_paginate_stops_on_an_empty_page_even_if_total_count_promises_more():
    recorder = Recorder(
        httpx.Response(200, json=[{"id": "a"}], headers={"Total-Count": "3"}),
        httpx.Response(200, json=[], headers={"Total-Count": "3"}),
    )
    with client_for(recorder) as client:
        assert [item["id"] for item in client.paginate("errors")] == ["a"]
    assert len(recorder.requests) == 2


def test_paginate_refuses_links_to_another_host():
    recorder = Recorder(
        httpx.Response(
            200, json=[{"id": "a"}], headers={"Link": '<http://evil.example.com/api/errors?page=2>; rel="next"'}
        )
    )
    with client_for(recorder, token=TOKEN) as client, pytest.raises(ServiceControlApiError, match="another host"):
        list(client.paginate("errors"))
    assert len(recorder.requests) == 1


def test_paginate_rejects_non_list_bodies():
    recorder = Recorder(json_response(200, {"errors": []}))
    with client_for(recorder) as client, pytest.raises(ServiceControlApiError, match="expected a JSON array"):
        list(client.paginate("errors"))


def test_parse_link_header():
    header = (
        '<errors?status=unresolved&page=1>; rel="first", '
        '<errors?status=unresolved&page=3>; rel="last", <errors?page=2>; rel=next'
    )
    assert parse_link_header(header) == {
        "first": "errors?status=unresolved&page=1",
        "last": "errors?status=unresolved&page=3",
        "next": "errors?page=2",
    }
    assert parse_link_header("") == {}


# -- secrets --------------------------------------------------------------------------------------


def _echo_secrets(status):
    def answer(request):
        leaked = "%s %s" % (request.headers.get("authorization"), request.headers.get("x-api-key"))
        return httpx.Response(status, json={"message": "rejected " + leaked, "echo": leaked})

    return answer


@pytest.mark.parametrize(
    "failure",
    [
        _echo_secrets(401),
        _echo_secrets(403),
        _echo_secrets(500),
        _echo_secrets(503),
        httpx.ConnectError("connect failed while sending Bearer %s" % TOKEN),
        httpx.ReadTimeout("timed out"),
        lambda request: httpx.Response(200, text="not json " + TOKEN),
    ],
)
def test_no_secret_in_any_error(sleeps, failure):
    recorder = Recorder(failure)
    with client_for(recorder, token=TOKEN, headers={"X-Api-Key": HEADER_SECRET}) as client:
        with pytest.raises(ServiceControlApiError) as caught:
            client.get_json("errors")
    error = caught.value
    everything = "%s %r %r %r" % (error, error.args, vars(error), error.fail_kwargs())
    assert TOKEN not in everything
    assert "s3cr3t-payload" not in everything
    assert HEADER_SECRET not in everything


def test_credentials_in_the_url_never_appear(sleeps):
    recorder = Recorder(httpx.Response(503))
    with client_for(recorder, url="http://admin:hunter2-long@sc:33333/api") as client:
        assert client.api_url == "http://sc:33333/api/"
        with pytest.raises(ServiceControlApiError) as caught:
            client.get("errors")
    # The credentials are still used (basic authentication for a proxy) ...
    assert recorder.requests[0].headers["authorization"].startswith("Basic ")
    # ... but never shown.
    everything = "%s %r" % (caught.value, vars(caught.value))
    assert "hunter2-long" not in everything
    assert "admin" not in everything
    assert str(caught.value).startswith("GET http://sc:33333/api/errors failed: 503")


def test_bad_url_message_strips_credentials():
    with pytest.raises(ServiceControlApiError) as caught:
        client_for(Recorder(json_response(200, {})), url="http://admin:hunter2-long@sc:33333/api?x=1")
    assert "hunter2-long" not in str(caught.value)
    assert "http://sc:33333/api?x=1" in str(caught.value)


# -- Ansible glue ---------------------------------------------------------------------------------


def test_argument_spec_marks_secrets_and_merges_module_options():
    spec = api_argument_spec(include_remotes={"type": "bool", "default": True})
    assert spec["url"] == {"type": "str", "required": True, "aliases": ["api_url"]}
    assert spec["token"]["no_log"] is True
    assert spec["headers"]["no_log"] is True
    assert spec["client_key"]["no_log"] is False
    assert spec["validate_certs"]["default"] is True
    assert spec["include_remotes"] == {"type": "bool", "default": True}
    assert set(spec) == {
        "url",
        "timeout",
        "validate_certs",
        "ca_path",
        "client_cert",
        "client_key",
        "token",
        "headers",
        "retries",
        "include_remotes",
    }


class FakeModule:
    def __init__(self, **params):
        self.params = {key: None for key in api_argument_spec()}
        self.params.update(timeout=30.0, validate_certs=True, retries=3)
        self.params.update(params)
        self.failure = None

    def fail_json(self, **kwargs):
        self.failure = kwargs
        raise SystemExit(1)


def test_client_from_module_builds_a_client():
    module = FakeModule(url="http://sc:33333", token=TOKEN, retries=1)
    recorder = Recorder(httpx.Response(503), json_response(200, {}))
    client = client_from_module(module, transport=httpx.MockTransport(recorder))
    assert client.api_url == "http://sc:33333/api/"
    assert client.retries == 1


def test_client_from_module_fails_on_bad_options():
    module = FakeModule(url="ftp://sc")
    with pytest.raises(SystemExit):
        client_from_module(module)
    assert module.failure["status"] == -1
    assert "must be an http:// or https:// address" in module.failure["msg"]


def test_client_from_module_reports_missing_httpx(monkeypatch):
    monkeypatch.setattr(_api, "HAS_HTTPX", False)
    monkeypatch.setattr(_api, "HTTPX_IMPORT_ERROR", "Traceback: No module named 'httpx'")
    module = FakeModule(url="http://sc:33333")
    with pytest.raises(SystemExit):
        client_from_module(module)
    assert "httpx" in module.failure["msg"]
    assert "Failed to import the required Python library" in module.failure["msg"]
    assert module.failure["exception"] == "Traceback: No module named 'httpx'"
