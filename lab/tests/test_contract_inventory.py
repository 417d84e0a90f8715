"""Every GET route of ServiceControl 6.19.2 is one the lab serves, and the Monitoring instance's routes and shapes.

ROUTES is transcribed from the route table in docs/reference/servicecontrol.md §2.14, MONITORING_ROUTES from §2.12;
LICENCES from §2.2. The lab's route tables are compared with them in both directions: a route ServiceControl serves
and the lab does not, or the other way round, fails.
"""

from __future__ import annotations

import re
import uuid

import pytest

from lab.instance.api.my_routes import normalize
from lab.tests.instance_support import Broker, base_environ, running_instance
from lab.tests.test_contract import check_shape

# (instance, verb, route) from §2.14.
ROUTES = [
    ("error", "GET", "/api"), ("error", "GET", "/api/instance-info"), ("error", "GET", "/api/configuration"),
    ("error", "GET", "/api/configuration/remotes"), ("error", "GET", "/api/connection"),
    ("error", "GET", "/api/authentication/configuration"), ("error", "GET", "/api/license"),
    ("error", "GET", "/api/license/details"), ("error", "GET", "/api/my/routes"),
    ("error", "GET", "/api/licensing/endpoints"), ("error", "GET", "/api/licensing/report/available"),
    ("error", "GET", "/api/licensing/report/file"), ("error", "GET", "/api/licensing/settings/info"),
    ("error", "GET", "/api/licensing/settings/test"), ("error", "GET", "/api/licensing/settings/masks"),
    ("error", "GET", "/api/errors"), ("error", "HEAD", "/api/errors"),
    ("error", "GET", "/api/endpoints/{endpointname}/errors"), ("error", "GET", "/api/errors/summary"),
    ("error", "GET", "/api/errors/{failedMessageId}"), ("error", "GET", "/api/errors/last/{failedMessageId}"),
    ("error", "GET", "/api/errors/queues/addresses"), ("error", "GET", "/api/edit/config"),
    ("error", "GET", "/api/errors/groups/{classifier}"), ("error", "GET", "/api/archive/groups/id/{groupId}"),
    ("error", "GET", "/api/recoverability/classifiers"), ("error", "GET", "/api/recoverability/groups/{classifier}"),
    ("error", "GET", "/api/recoverability/groups/{groupId}/errors"),
    ("error", "HEAD", "/api/recoverability/groups/{groupId}/errors"),
    ("error", "GET", "/api/recoverability/groups/id/{groupId}"), ("error", "GET", "/api/recoverability/history"),
    ("error", "GET", "/api/endpoints"), ("error", "GET", "/api/endpoints/known"),
    ("error", "GET", "/api/heartbeats/stats"),
    ("error", "GET", "/api/endpointssettings"), ("error", "GET", "/api/customchecks"),
    ("error", "GET", "/api/eventlogitems"), ("error", "GET", "/api/redirects"), ("error", "HEAD", "/api/redirect"),
    ("error", "GET", "/api/notifications/email"), ("error", "GET", "/api/messages"), ("error", "GET", "/api/messages2"),
    ("error", "GET", "/api/endpoints/{endpoint}/messages"), ("error", "GET", "/api/messages/{id}/body"),
    ("error", "GET", "/api/messages/search"), ("error", "GET", "/api/messages/search/{keyword}"),
    ("error", "GET", "/api/endpoints/{endpoint}/messages/search"),
    ("error", "GET", "/api/endpoints/{endpoint}/messages/search/{keyword}"),
    ("error", "GET", "/api/endpoints/{endpoint}/audit-count"), ("error", "GET", "/api/conversations/{conversationId}"),
    ("error", "GET", "/api/sagas/{id}"),
    ("audit", "GET", "/api"), ("audit", "GET", "/api/instance-info"), ("audit", "GET", "/api/configuration"),
    ("audit", "GET", "/api/connection"), ("audit", "GET", "/api/my/routes"), ("audit", "GET", "/api/messages"),
    ("audit", "GET", "/api/messages2"), ("audit", "GET", "/api/endpoints/{endpoint}/messages"),
    ("audit", "GET", "/api/endpoints/{endpoint}/audit-count"), ("audit", "GET", "/api/messages/{id}/body"),
    ("audit", "GET", "/api/messages/search"), ("audit", "GET", "/api/messages/search/{keyword}"),
    ("audit", "GET", "/api/endpoints/{endpoint}/messages/search"),
    ("audit", "GET", "/api/endpoints/{endpoint}/messages/search/{keyword}"),
    ("audit", "GET", "/api/conversations/{conversationId}"), ("audit", "GET", "/api/endpoints/known"),
    ("audit", "GET", "/api/sagas/{id}"),
]  # fmt: skip

# (verb, path, status, top-level or item fields) from §2.12.
MONITORED_ENDPOINT = {"name", "isStale", "endpointInstanceIds", "metrics", "disconnectedCount", "connectedCount"}
MONITORING_ROUTES = [
    ("GET", "/", 200, ("exact", {"instanceType": "monitoring", "version": "6.19.2"})),
    ("OPTIONS", "/", 200, ("empty", set())),
    ("GET", "/connection", 200, ("object", {"Metrics"})),
    ("GET", "/license", 200, ("object", {"trialLicense", "edition", "registeredTo", "expirationDate", "status"})),
    ("GET", "/monitored-endpoints", 200, ("exact", [])),
    ("GET", "/monitored-endpoints?history=60", 200, ("exact", [])),
    ("GET", "/monitored-endpoints?history=2", 500, ("any", set())),
    ("GET", "/monitored-endpoints/Sales", 200, ("object", {"digest", "instances", "messageTypes", "metricDetails"})),
    ("GET", "/monitored-endpoints/disconnected", 200, ("exact", 0)),
    ("DELETE", "/monitored-instance/Sales/sales-1", 200, ("empty", set())),
    ("GET", "/api/my/routes", 200, ("object", {"roles", "routes"})),
    ("GET", "/api", 404, ("empty", set())),
    ("GET", "/api/configuration", 404, ("empty", set())),
]  # fmt: skip

# (LAB_LICENSE, status, license_status, trial_license, license_type) from §2.2 and lab/README.md.
LICENCES = [
    ("commercial", "valid", "Valid", False, "Commercial"),
    ("trial", "valid", "Valid", True, "Trial"),
    ("expired", "invalid", "InvalidDueToExpiredSubscription", False, "Commercial"),
    ("expired-trial", "invalid", "InvalidDueToExpiredTrial", True, "Trial"),
]


def _served(api) -> set[tuple[str, str]]:
    served = set()
    for controller in api.controllers:
        for methods, template, _handler in controller.routes:
            for method in methods.split(","):
                if method in ("GET", "HEAD"):
                    served.add((method, normalize(template)))
    return served


def test_the_lab_serves_exactly_servicecontrols_get_routes(apis):
    assert len([r for r in ROUTES if r[0] == "error" and r[1] == "GET"]) == 48
    assert len([r for r in ROUTES if r[0] == "audit"]) == 17
    for kind, api in zip(("error", "audit"), apis):
        expected = {(verb, route) for instance, verb, route in ROUTES if instance == kind}
        assert _served(api) == expected, kind


@pytest.fixture(scope="module")
def monitoring(tmp_path_factory):
    root = tmp_path_factory.mktemp("monitoring")
    broker = Broker("LearningTransport", str(root / "lt"), uuid.uuid4().hex[:6])
    with running_instance("monitoring", base_environ("monitoring", broker, str(root / "m")), broker) as run:
        yield run


@pytest.mark.parametrize("row", MONITORING_ROUTES, ids=lambda row: "%s %s" % row[:2])
def test_monitoring_instance_route(monitoring, row):
    verb, path, status, shape = row
    response = monitoring.client.request(verb, path)
    assert response.status_code == status, response.text
    if status < 300:
        assert response.headers["X-Particular-Version"] == "6.19.2"
    else:
        assert "X-Particular-Version" not in response.headers, "a route miss or an exception is no controller result"
    check_shape(response, shape)
    if path == "/api/my/routes":
        templates = {(r["method"], r["url_template"]) for r in response.json()["routes"]}
        assert ("GET", "/monitored-endpoints/{endpointName}") in templates
        assert all(not re.search(r"[?:]", t) for _m, t in templates)


@pytest.mark.parametrize("licence", LICENCES, ids=lambda row: row[0])
def test_licence_answers(tmp_path, licence):
    name, status, licence_status, trial, licence_type = licence
    broker = Broker("LearningTransport", str(tmp_path / "lt"), uuid.uuid4().hex[:6])
    env = base_environ("error", broker, str(tmp_path / "db"), LAB_LICENSE=name)
    with running_instance("error", env, broker, setup=False) as run:
        answer = run.get("/api/license").json()
        assert (answer["status"], answer["license_status"], answer["trial_license"]) == (status, licence_status, trial)
        assert answer["license_type"] == licence_type
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T00:00:00\.0000000Z?", answer["expiration_date"])
        assert run.get("/api").json()["license_status"] == status
        assert ("products" in answer) == (not trial)
