"""CORS, preflights and the other conventional headers, held against docs/reference/servicecontrol.md §2.1 and §1.12.

Expected values are transcribed from the reference (ServiceControl 6.19.2's Cors.cs policies and ASP.NET Core's CORS
middleware), not from the lab's code.
"""

from __future__ import annotations

import uuid

import pytest

from lab.tests.instance_support import Broker, base_environ, running_instance

ORIGIN = "http://servicepulse.example:9090"
ERROR_EXPOSED = "ETag,Last-Modified,Link,Total-Count,X-Particular-Version,Content-Disposition,Request-Id"
AUDIT_EXPOSED = "ETag,Last-Modified,Link,Total-Count,X-Particular-Version,Request-Id"
ALLOWED_HEADERS = "Origin,X-Requested-With,Content-Type,Accept,Authorization"
ALLOWED_METHODS = "POST,GET,PUT,DELETE,OPTIONS,PATCH,HEAD"
PREFLIGHT = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "accept"}


@pytest.fixture(scope="module")
def instances(tmp_path_factory):
    root = tmp_path_factory.mktemp("cors")
    broker = Broker("LearningTransport", str(root / "learning"), uuid.uuid4().hex[:6])
    with (
        running_instance("error", base_environ("error", broker, str(root / "e")), broker) as error,
        running_instance("audit", base_environ("audit", broker, str(root / "a")), broker) as audit,
        running_instance("monitoring", base_environ("monitoring", broker, str(root / "m")), broker) as monitoring,
    ):
        yield {"error": error, "audit": audit, "monitoring": monitoring}


@pytest.mark.parametrize(
    ("kind", "path", "exposed"),
    [
        ("error", "/api/errors", ERROR_EXPOSED),
        ("audit", "/api/messages", AUDIT_EXPOSED),
        ("monitoring", "/monitored-endpoints", AUDIT_EXPOSED),
    ],
)
def test_any_origin_by_default(instances, kind, path, exposed):
    response = instances[kind].get(path, headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Expose-Headers"] == exposed
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" not in response.headers.get_list("Vary")
    # The request id is on every response (6.18+), and the browser may read it.
    assert response.headers["Request-Id"].count(":") == 1


@pytest.mark.parametrize("kind", ["error", "audit", "monitoring"])
@pytest.mark.parametrize("path", ["/api/errors", "/api/messages", "/monitored-endpoints", "/no/such/route"])
def test_preflight_is_answered_by_the_middleware_for_any_path(instances, kind, path):
    response = instances[kind].client.options(path, headers=PREFLIGHT)
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Headers"] == ALLOWED_HEADERS
    assert response.headers["Access-Control-Allow-Methods"] == ALLOWED_METHODS
    # A preflight is not a controller result, and carries no exposed headers.
    assert "Access-Control-Expose-Headers" not in response.headers
    assert "X-Particular-Version" not in response.headers


def test_no_origin_no_cors_headers(instances):
    response = instances["error"].get("/api/errors")
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]
    # Without Access-Control-Request-Method an OPTIONS is an ordinary request: routed, and 405 here.
    options = instances["error"].client.options("/api/errors", headers={"Origin": ORIGIN})
    assert options.status_code == 405
    assert "GET" in options.headers["Allow"]


def test_route_misses_carry_no_version_but_results_do(instances):
    error = instances["error"]
    missing = error.get("/api/no/such/route", headers={"Origin": ORIGIN})
    assert missing.status_code == 404
    assert "X-Particular-Version" not in missing.headers
    assert missing.headers["Access-Control-Allow-Origin"] == "*"
    assert missing.headers["Request-Id"]
    wrong_verb = error.client.delete("/api/errors")
    assert wrong_verb.status_code == 405 and "X-Particular-Version" not in wrong_verb.headers
    result = error.get("/api/errors/does-not-exist")
    assert result.status_code == 404 and result.headers["X-Particular-Version"] == "6.19.2"
    ok = error.get("/api")
    assert ok.headers["Cache-Control"] == "private, max-age=0"
    assert "Accept" in ok.headers.get_list("Vary")
    monitoring = instances["monitoring"].get("/")
    assert monitoring.headers["Pragma"] == "no-cache"
    assert monitoring.headers["Expires"] == "Tue, 03 Jul 2001 06:00:00 GMT"


def test_supported_operations_expose_allow(instances):
    for kind, path in (("error", "/api/endpoints"), ("monitoring", "/")):
        plain = instances[kind].client.options(path)
        assert plain.status_code == 200
        assert plain.headers.get_list("Allow") == ["GET", "DELETE", "PATCH"]
        assert plain.headers["Access-Control-Expose-Headers"] == "Allow"
        # Cross-origin, the CORS middleware's exposed headers replace the controller's.
        cross = instances[kind].client.options(path, headers={"Origin": ORIGIN})
        assert cross.headers.get_list("Access-Control-Expose-Headers") != ["Allow"]


def _started(tmp_path, **settings):
    broker = Broker("LearningTransport", str(tmp_path / "lt"), uuid.uuid4().hex[:6])
    return running_instance("error", base_environ("error", broker, str(tmp_path / "db"), **settings), broker)


def test_allowed_origins_replace_any_origin_and_allow_credentials(tmp_path):
    other = "https://other.example"
    env = {"SERVICECONTROL_CORS_ALLOWEDORIGINS": "%s/app; https://Other.example:443/x" % ORIGIN}
    with _started(tmp_path, **env) as run:
        allowed = run.get("/api/errors", headers={"Origin": ORIGIN})
        assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
        assert "Origin" in allowed.headers.get_list("Vary"), "two origins configured"
        assert run.get("/api/errors", headers={"Origin": other}).headers["Access-Control-Allow-Origin"] == other
        refused = run.get("/api/errors", headers={"Origin": "http://intruder.example"})
        assert refused.status_code == 200
        assert "Access-Control-Allow-Origin" not in refused.headers
        preflight = run.client.options("/api/errors", headers={**PREFLIGHT, "Origin": "http://intruder.example"})
        assert preflight.status_code == 204
        assert "Access-Control-Allow-Origin" not in preflight.headers


def test_no_origin_at_all_when_any_origin_is_switched_off(tmp_path):
    with _started(tmp_path, SERVICECONTROL_CORS_ALLOWANYORIGIN="false") as run:
        assert "Access-Control-Allow-Origin" not in run.get("/api", headers={"Origin": ORIGIN}).headers


def test_one_allowed_origin_does_not_vary(tmp_path):
    with _started(tmp_path, SERVICECONTROL_CORS_ALLOWEDORIGINS=ORIGIN) as run:
        response = run.get("/api", headers={"Origin": ORIGIN})
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "Origin" not in response.headers.get_list("Vary")


def test_older_versions_fixed_policy_and_no_request_id(tmp_path):
    env = {"LAB_SERVICECONTROL_VERSION": "6.10.0", "SERVICECONTROL_CORS_ALLOWANYORIGIN": "false"}
    with _started(tmp_path, **env) as run:
        response = run.get("/api", headers={"Origin": ORIGIN})
        # Cors.* settings exist from 6.11: before that any origin, and no request id before 6.18.
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["Access-Control-Expose-Headers"].split(",")[-1] == "Content-Disposition"
        assert "Request-Id" not in response.headers
        preflight = run.client.options("/api", headers=PREFLIGHT)
        assert "Authorization" not in preflight.headers["Access-Control-Allow-Headers"]
