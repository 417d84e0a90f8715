# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.servicecontrol.platform.plugins.module_utils import _api
from ansible_collections.servicecontrol.platform.plugins.modules import instance_info

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "servicecontrol"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.instance-info-secret.sig"


def fixture(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class FakeInstance:
    """Answers like one ServiceControl instance: {path: (status, body or None)}; anything else is 404."""

    def __init__(self, routes, version="6.19.2"):
        self.routes = routes
        self.version = version
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        status, body = self.routes.get(request.url.path, (404, None))
        if isinstance(status, Exception):
            raise status
        headers = {"X-Particular-Version": self.version} if self.version and status < 400 else {}
        if body is None:
            return httpx.Response(status, headers=headers)
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers={**headers, "content-type": "text/html"})
        return httpx.Response(status, json=body, headers=headers)

    @property
    def paths(self):
        return [request.url.path for request in self.requests]


ERROR_INSTANCE = {
    "/api/": (200, fixture("error_root.json")),
    "/api/configuration": (200, fixture("error_configuration.json")),
    "/api/configuration/remotes": (200, fixture("error_remotes.json")),
}
AUDIT_INSTANCE = {
    "/api/": (200, fixture("audit_root.json")),
    "/api/configuration": (200, fixture("audit_configuration.json")),
}
MONITORING_INSTANCE = {
    "/": (200, fixture("monitoring_root.json")),
    "/connection": (200, fixture("monitoring_connection.json")),
}


@pytest.fixture
def no_sleep(monkeypatch):
    delays = []
    monkeypatch.setattr(_api.time, "sleep", delays.append)
    return delays


def warnings_of(result):
    """Warning texts; ansible-core 2.19 returns them as structured summaries, older versions as strings."""
    texts = []
    for warning in result.get("warnings", []):
        texts.append(warning["event"]["msg"] if isinstance(warning, dict) else warning)
    return texts


def run_module(monkeypatch, capsys, instance, **args):
    """Run the module in-process against ``instance`` and return (exit code, result JSON)."""
    real_client_from_module = _api.client_from_module
    monkeypatch.setattr(
        instance_info,
        "client_from_module",
        lambda module: real_client_from_module(module, transport=httpx.MockTransport(instance)),
    )
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        instance_info.main()
    return exited.value.code, json.loads(capsys.readouterr().out)


def test_error_instance_with_remotes(monkeypatch, capsys):
    instance = FakeInstance(ERROR_INSTANCE)
    code, result = run_module(monkeypatch, capsys, instance, url="http://servicecontrol:33333/api")
    assert code == 0
    assert result["changed"] is False
    assert result["url"] == "http://servicecontrol:33333/api/"
    assert result["version"] == "6.19.2"
    assert result["instance_kind"] == "error"
    assert result["instance_name"] == "Particular.ServiceControl"
    assert result["transport"] == "RabbitMQ.QuorumConventionalRouting"
    assert result["queues"] == {"error_queue": "error", "error_log_queue": "error.log"}
    assert result["forwarding"] is False
    assert result["data_retention"] == {"error_retention_period": "15.00:00:00"}
    assert result["license_status"] == "valid"
    assert result["configuration"] == fixture("error_configuration.json")
    assert result["configuration"]["performance_tunning"] == {"external_integrations_dispatching_batch_size": 100}
    assert instance.paths == ["/api/", "/api/configuration", "/api/configuration/remotes"]

    online, unavailable, failed = result["remotes"]
    assert online == {
        "api_uri": "http://servicecontrol-audit:44444",
        "status": "online",
        "version": "6.19.2",
        "instance_kind": "audit",
        "instance_name": "Particular.ServiceControl.Audit",
        "transport": "RabbitMQ.QuorumConventionalRouting",
        "configuration": fixture("audit_configuration.json"),
    }
    assert unavailable == {
        "api_uri": "http://servicecontrol-audit-dr:44444",
        "status": "unavailable",
        "version": "Unknown",
        "instance_kind": None,
        "instance_name": None,
        "transport": None,
        "configuration": None,
    }
    assert (failed["status"], failed["version"], failed["instance_kind"]) == ("error", "6.18.1", None)


def test_remotes_can_be_skipped(monkeypatch, capsys):
    instance = FakeInstance(ERROR_INSTANCE)
    code, result = run_module(monkeypatch, capsys, instance, url="http://servicecontrol:33333", include_remotes=False)
    assert code == 0
    assert result["remotes"] == []
    assert "/api/configuration/remotes" not in instance.paths


def test_error_instance_without_remotes_configured(monkeypatch, capsys):
    routes = dict(ERROR_INSTANCE)
    routes["/api/configuration/remotes"] = (200, [])
    code, result = run_module(monkeypatch, capsys, FakeInstance(routes), url="http://servicecontrol:33333")
    assert code == 0
    assert result["remotes"] == []


def test_audit_instance(monkeypatch, capsys):
    instance = FakeInstance(AUDIT_INSTANCE, version="6.18.1")
    code, result = run_module(monkeypatch, capsys, instance, url="http://servicecontrol-audit:44444/api/")
    assert code == 0
    assert result["instance_kind"] == "audit"
    assert result["version"] == "6.18.1"
    assert result["instance_name"] == "Particular.ServiceControl.Audit"
    assert result["queues"] == {"audit_queue": "audit", "audit_log_queue": "audit.log"}
    assert result["forwarding"] is False
    assert result["data_retention"] == {"audit_retention_period": "7.00:00:00"}
    assert result["license_status"] is None
    assert result["remotes"] == []
    # Audit instances have no remotes endpoint: it must not be called even though include_remotes is true.
    assert instance.paths == ["/api/", "/api/configuration"]


def test_forwarding_error_instance(monkeypatch, capsys):
    configuration = fixture("error_configuration.json")
    configuration["transport"].update(forward_error_messages=True, error_log_queue="error.forwarded")
    configuration["data_retention"]["audit_retention_period"] = "30.00:00:00"
    routes = dict(ERROR_INSTANCE, **{"/api/configuration": (200, configuration)})
    _code, result = run_module(monkeypatch, capsys, FakeInstance(routes), url="http://sc:33333", include_remotes=False)
    assert result["forwarding"] is True
    assert result["queues"]["error_log_queue"] == "error.forwarded"
    assert result["data_retention"] == {
        "error_retention_period": "15.00:00:00",
        "audit_retention_period": "30.00:00:00",
    }


def test_monitoring_instance_is_detected_from_its_root(monkeypatch, capsys):
    instance = FakeInstance(MONITORING_INSTANCE)
    code, result = run_module(monkeypatch, capsys, instance, url="http://servicecontrol-monitoring:33633")
    assert code == 0
    assert result["instance_kind"] == "monitoring"
    assert result["url"] == "http://servicecontrol-monitoring:33633/"
    assert result["version"] == "6.19.2"
    assert result["queues"] == {"metrics_queue": "Particular.Monitoring"}
    assert result["instance_name"] is None
    assert result["transport"] is None
    assert result["forwarding"] is None
    assert result["configuration"] == {}
    assert result["remotes"] == []
    assert warnings_of(result) == []
    assert instance.paths == ["/api/", "/", "/connection"]


def test_monitoring_version_falls_back_to_the_root_document(monkeypatch, capsys):
    instance = FakeInstance(MONITORING_INSTANCE, version=None)
    _code, result = run_module(monkeypatch, capsys, instance, url="http://mon:33633/api")
    assert result["version"] == "6.19.2"


def test_monitoring_instance_with_authentication_enabled(monkeypatch, capsys):
    # With authentication on, the unknown /api route and /connection answer 401; the root stays anonymous.
    routes = dict(MONITORING_INSTANCE, **{"/api/": (401, None), "/connection": (401, None)})
    code, result = run_module(monkeypatch, capsys, FakeInstance(routes), url="http://mon:33633")
    assert code == 0
    assert result["instance_kind"] == "monitoring"
    assert result["queues"] == {}
    assert any("metrics queue" in warning and "set token" in warning for warning in warnings_of(result))


def test_something_that_is_not_servicecontrol_fails_with_the_original_error(monkeypatch, capsys):
    routes = {"/": (200, "<!doctype html><title>It works</title>")}
    code, result = run_module(monkeypatch, capsys, FakeInstance(routes), url="http://webserver")
    assert code == 1
    assert result["failed"] is True
    assert result["status"] == 404
    assert result["msg"].startswith("GET http://webserver/api/ failed: 404 Not Found - not found;")


def test_json_at_the_root_is_not_enough_to_be_a_monitoring_instance(monkeypatch, capsys):
    routes = {"/": (200, {"instanceType": "gateway", "version": "1.0.0"})}
    code, result = run_module(monkeypatch, capsys, FakeInstance(routes), url="http://gateway:8080")
    assert code == 1
    assert result["status"] == 404
    assert result["msg"].startswith("GET http://gateway:8080/api/ failed: 404 Not Found")


def test_configuration_of_unknown_shape_fails(monkeypatch, capsys):
    routes = {"/api/": (200, {"name": "Something"}), "/api/configuration": (200, {"host": {}})}
    code, result = run_module(monkeypatch, capsys, FakeInstance(routes), url="http://other:8080")
    assert code == 1
    assert "not a ServiceControl Error or Audit instance" in result["msg"]
    assert result["url"] == "http://other:8080/api/configuration"


def test_missing_version_header_gives_null(monkeypatch, capsys):
    instance = FakeInstance(ERROR_INSTANCE, version=None)
    code, result = run_module(monkeypatch, capsys, instance, url="http://sc:33333", include_remotes=False)
    assert code == 0
    assert result["version"] is None
    assert result["instance_kind"] == "error"


def test_check_mode_reads_the_same(monkeypatch, capsys):
    instance = FakeInstance(ERROR_INSTANCE)
    code, result = run_module(monkeypatch, capsys, instance, url="http://sc:33333", _ansible_check_mode=True)
    assert code == 0
    assert result["changed"] is False
    assert result["instance_kind"] == "error"
    assert len(result["remotes"]) == 3
    assert {request.method for request in instance.requests} == {"GET"}


def test_unreachable_instance_fails_after_retries_without_leaking_the_token(monkeypatch, capsys, no_sleep):
    routes = {"/api/": (httpx.ConnectError("[Errno 111] Connection refused"), None)}
    code, result = run_module(monkeypatch, capsys, FakeInstance(routes), url="http://sc:33333", token=TOKEN, retries=2)
    assert code == 1
    assert result["msg"] == (
        "GET http://sc:33333/api/ failed: cannot connect ([Errno 111] Connection refused); "
        "check url and that the instance is running (gave up after 3 attempts)"
    )
    assert result["status"] == -1
    assert no_sleep == [1.0, 2.0]
    assert "instance-info-secret" not in json.dumps(result)


def test_remotes_failure_is_reported(monkeypatch, capsys):
    routes = dict(ERROR_INSTANCE, **{"/api/configuration/remotes": (500, {"message": "Remote lookup failed"})})
    code, result = run_module(monkeypatch, capsys, FakeInstance(routes), url="http://sc:33333")
    assert code == 1
    assert result["status"] == 500
    assert result["msg"].startswith("GET http://sc:33333/api/configuration/remotes failed: 500 Internal Server Error")
    assert "Remote lookup failed" in result["msg"]


def test_bad_url_fails_before_any_request(monkeypatch, capsys):
    instance = FakeInstance(ERROR_INSTANCE)
    code, result = run_module(monkeypatch, capsys, instance, url="servicecontrol:33333")
    assert code == 1
    assert "must be an http:// or https:// address" in result["msg"]
    assert instance.requests == []


def test_api_url_alias(monkeypatch, capsys):
    instance = FakeInstance(AUDIT_INSTANCE)
    code, result = run_module(monkeypatch, capsys, instance, api_url="http://servicecontrol-audit:44444")
    assert code == 0
    assert result["instance_kind"] == "audit"
