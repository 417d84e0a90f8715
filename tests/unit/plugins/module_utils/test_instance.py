# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The instance layer: kind detection and summaries from 6.19-shaped bodies, read through the one client."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils._api import (
    ServiceControlApiError,
    ServiceControlClient,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._instance import (
    kind_of,
    read_instance,
    summarize_configuration,
    summarize_remote,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "servicecontrol"


def fixture(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def client_for(routes, url="http://sc:33333/api"):
    """A client whose instance answers {path: (status, body, version)}; anything else is 404."""

    def answer(request):
        status, body, version = routes.get(request.url.path, (404, None, None))
        headers = {"X-Particular-Version": version} if version else {}
        return httpx.Response(status, json=body, headers=headers) if body is not None else httpx.Response(status)

    return ServiceControlClient(url, transport=httpx.MockTransport(answer), retries=0)


def test_kinds_come_from_the_configuration_queues():
    assert kind_of(fixture("error_configuration.json")) == "error"
    assert kind_of(fixture("audit_configuration.json")) == "audit"
    assert kind_of({"transport": {}}) is None
    assert kind_of(None) is None


def test_error_summary():
    summary = summarize_configuration(fixture("error_configuration.json"))
    assert summary["instance_kind"] == "error"
    assert set(summary["queues"]) == {"error_queue", "error_log_queue"}
    assert summary["forwarding"] is fixture("error_configuration.json")["transport"]["forward_error_messages"]


def test_audit_summary():
    summary = summarize_configuration(fixture("audit_configuration.json"))
    assert summary["instance_kind"] == "audit"
    assert set(summary["queues"]) == {"audit_queue", "audit_log_queue"}


def test_summarize_remote_tolerates_missing_fields():
    assert summarize_remote({"api_uri": "http://x:33333"}) == {
        "api_uri": "http://x:33333",
        "status": None,
        "version": None,
        "instance_kind": None,
        "instance_name": None,
        "transport": None,
        "configuration": None,
    }


def test_version_is_the_one_the_configuration_response_carries():
    # The root answers with another version header than the configuration: the configuration's counts,
    # because the description is built from that response (not from whichever request came last).
    routes = {
        "/api/": (200, fixture("error_root.json"), "6.0.0"),
        "/api/configuration": (200, fixture("error_configuration.json"), "6.19.2"),
        "/api/configuration/remotes": (200, fixture("error_remotes.json"), "5.0.0"),
    }
    with client_for(routes) as client:
        described = read_instance(client)
    assert described["version"] == "6.19.2"
    assert described["instance_kind"] == "error"
    assert len(described["remotes"]) == len(fixture("error_remotes.json"))


def test_remotes_that_are_not_a_list_are_a_clear_error():
    routes = {
        "/api/": (200, fixture("error_root.json"), "6.19.2"),
        "/api/configuration": (200, fixture("error_configuration.json"), "6.19.2"),
        "/api/configuration/remotes": (200, {"oops": 1}, "6.19.2"),
    }
    with client_for(routes) as client, pytest.raises(ServiceControlApiError) as raised:
        read_instance(client)
    assert "expected the remote instances as a JSON array, got an object" in str(raised.value)
    assert raised.value.route == "configuration/remotes"


def test_monitoring_instance_is_found_at_the_root():
    routes = {
        "/": (200, fixture("monitoring_root.json"), "6.19.2"),
        "/connection": (200, fixture("monitoring_connection.json"), "6.19.2"),
    }
    with client_for(routes, url="http://mon:33633") as client:
        described = read_instance(client)
    assert described["instance_kind"] == "monitoring"
    assert described["version"] == "6.19.2"
    assert described["queues"] == {"metrics_queue": "Particular.Monitoring"}
