"""Contract of the lab instances' HTTP API, held against a table transcribed from
docs/reference/servicecontrol.md §2 (routes, verbs, status codes, headers, JSON field names).

The table below is data written from docs/reference/servicecontrol.md §2, not from the lab's code: when the lab and the
table disagree, check docs/reference/servicecontrol.md (and ServiceControl's source) before changing either.
"""

from __future__ import annotations

import re
import uuid

import pytest

from lab.tests.instance_support import Broker, audit_message, base_environ, failed_message, running_instance, wait_until

FAILED_MESSAGES = 60  # more than one default page (50), so Link headers appear

# ---------------------------------------------------------------------------------------------- the table
# Field sets from docs/reference/servicecontrol.md §2.2-§2.9.
# "{id}", "{group}", "{endpoint}", "{queue}" are filled from live data.
ROOT_FIELDS = {
    "description", "name", "endpoints_url", "known_endpoints_url", "sagas_url", "errors_url", "endpoints_error_url",
    "message_search_url", "endpoints_message_search_url", "endpoints_messages_url", "audit_count_url", "license_status",
    "license_details", "configuration", "remote_configuration", "event_log_items", "archived_groups_url",
    "get_archive_group", "my_routes_url",
}  # fmt: skip
FAILED_MESSAGE_VIEW_FIELDS = {
    "id", "message_id", "message_type", "is_system_message", "time_sent", "time_of_failure", "last_modified",
    "exception", "number_of_processing_attempts", "status", "sending_endpoint", "receiving_endpoint", "queue_address",
    "edited", "edit_of",
}  # fmt: skip
EXCEPTION_FIELDS = {"exception_type", "message", "source", "stack_trace"}
ENDPOINT_DETAILS_FIELDS = {"name", "host_id", "host"}
FAILED_MESSAGE_FIELDS = {"id", "unique_message_id", "status", "processing_attempts", "failure_groups"}
PROCESSING_ATTEMPT_FIELDS = {"headers", "message_metadata", "failure_details", "attempted_at", "message_id"}
GROUP_OPERATION_FIELDS = {
    "id", "title", "type", "count", "first", "last", "operation_status", "operation_progress",
    "need_user_acknowledgement",
}  # fmt: skip
QUEUE_ADDRESS_FIELDS = {"physical_address", "failed_message_count"}
FAILURE_GROUP_VIEW_FIELDS = {"id", "title", "type", "count", "first", "last"}
HISTORY_FIELDS = {"historic_operations", "unacknowledged_operations"}
CLASSIFIERS = [
    "Exception Type and Stack Trace",
    "Message Type",
    "Endpoint Address",
    "Endpoint Instance",
    "Endpoint Name",
]
MESSAGES_VIEW_FIELDS = {"id", "message_id", "status", "processed_at"}
CUSTOM_CHECK_FIELDS = {"id", "custom_check_id", "category", "status", "reported_at", "originating_endpoint"}
ERROR_CONFIGURATION = {
    "host": {"instance_name", "logging"},
    "data_retention": {"error_retention_period"},
    "performance_tunning": {"external_integrations_dispatching_batch_size"},
    "transport": {"transport_type", "error_log_queue", "error_queue", "forward_error_messages"},
    "plugins": {"heartbeat_grace_period"},
}
AUDIT_CONFIGURATION = {
    "host": {"instance_name", "logging"},
    "data_retention": {"audit_retention_period"},
    "performance_tunning": {"max_body_size_to_store"},
    "transport": {"transport_type", "audit_log_queue", "audit_queue", "forward_audit_messages"},
    "persistence": {"persistence_type"},
    "plugins": set(),
}

# §2.2, §2.3, §2.8, §2.9, §2.13.
LICENSE_FIELDS = {
    "trial_license", "edition", "registered_to", "upgrade_protection_expiration", "expiration_date", "status",
    "products", "has_endpoint_metadata", "license_type", "instance_name", "license_status", "license_extension_url",
}  # fmt: skip
EVENT_LOG_FIELDS = {"id", "description", "severity", "raised_at", "related_to", "category", "event_type"}
KNOWN_ENDPOINT_FIELDS = {"id", "endpoint_details", "host_display_name"}
CONNECTION_TEST_FIELDS = {
    "transport", "audit_connection_result", "monitoring_connection_result", "broker_connection_result"
}  # fmt: skip
AUDIT_ROOT_FIELDS = {
    "description", "name", "known_endpoints_url", "message_search_url", "endpoints_message_search_url",
    "endpoints_messages_url", "audit_count_url", "configuration",
}  # fmt: skip
NO_SUCH_SAGA = "/api/sagas/1d7ac4e2-66b4-4be8-9d57-5ea4b1a1b001"
AUTHENTICATION = ("object", {"enabled", "role_based_authorization_enabled"})
REPORT_STATE = ("object", {"transport", "report_can_be_generated", "reason"})
SETTINGS_INFO = ("object", {"service_control_settings", "monitoring_settings", "broker_settings"})
EDIT_CONFIG = ("object", {"enabled", "sensitive_headers", "locked_headers"})

DAY_RANGE = "2020-01-01T00:00:00Z...2020-01-02T00:00:00Z"
QUEUE_RANGE = {"queueaddress": "{queue}", "from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"}
NONE: set = set()
EMPTY = ("empty", NONE)
ANY = ("any", NONE)
LIST = ("list", NONE)

MERGED_VIEWS = ("items", MESSAGES_VIEW_FIELDS | {"instance_id"})

# (verb, path, json body, status, headers that must be present, top-level fields or item fields)
FAILED_VIEWS = ("items", FAILED_MESSAGE_VIEW_FIELDS)
ERROR_ROUTES = [
    ("GET", "/api", None, 200, set(), ("object", ROOT_FIELDS)),
    ("GET", "/api/configuration", None, 200, set(), ("object", set(ERROR_CONFIGURATION))),
    ("GET", "/api/instance-info", None, 200, set(), ("object", set(ERROR_CONFIGURATION))),
    ("GET", "/api/configuration/remotes", None, 200, set(), ("items", {"api_uri", "version", "status"})),
    ("GET", "/api/errors", None, 200, {"Total-Count", "ETag", "Link"}, ("items", FAILED_MESSAGE_VIEW_FIELDS)),
    ("GET", "/api/errors?status=unresolved", None, 200, {"Total-Count", "ETag"}, ("items", FAILED_MESSAGE_VIEW_FIELDS)),
    ("HEAD", "/api/errors?status=unresolved", None, 200, {"Total-Count"}, EMPTY),
    ("GET", "/api/endpoints/{endpoint}/errors", None, 200, {"Total-Count"}, ("items", FAILED_MESSAGE_VIEW_FIELDS)),
    ("GET", "/api/errors/summary", None, 200, set(), ("object", {"Endpoints", "Hosts", "Message types"})),
    ("GET", "/api/errors/{id}", None, 200, set(), ("object", FAILED_MESSAGE_FIELDS)),
    ("GET", "/api/errors/does-not-exist", None, 404, set(), ANY),
    ("GET", "/api/errors/last/{id}", None, 200, set(), ("object", FAILED_MESSAGE_VIEW_FIELDS)),
    ("GET", "/api/errors/queues/addresses", None, 200, {"Total-Count"}, ("items", QUEUE_ADDRESS_FIELDS)),
    ("POST", "/api/errors/retry", ["{id}"], 202, set(), EMPTY),
    ("POST", "/api/errors/retry", [""], 400, set(), ANY),
    ("POST", "/api/errors/{id}/retry", None, 202, set(), EMPTY),
    ("POST", "/api/errors/queues/NoSuchQueue/retry", None, 202, set(), EMPTY),
    ("POST", "/api/errors/NoSuchEndpoint/retry/all", None, 202, set(), EMPTY),
    ("POST", "/api/pendingretries/retry", ["{id}"], 202, set(), EMPTY),
    ("POST", "/api/pendingretries/queues/retry", QUEUE_RANGE, 202, set(), EMPTY),
    ("PATCH", "/api/pendingretries/resolve", {"uniquemessageids": ["does-not-exist"]}, 202, set(), EMPTY),
    ("PATCH", "/api/pendingretries/queues/resolve", QUEUE_RANGE, 202, set(), EMPTY),
    ("POST", "/api/errors/archive", ["does-not-exist"], 202, set(), EMPTY),
    ("PATCH", "/api/errors/archive", ["does-not-exist"], 202, set(), EMPTY),
    ("POST", "/api/errors/archive", [""], 422, set(), ANY),
    ("POST", "/api/errors/does-not-exist/archive", None, 202, set(), EMPTY),
    ("PATCH", "/api/errors/does-not-exist/archive", None, 202, set(), EMPTY),
    ("PATCH", "/api/errors/unarchive", ["does-not-exist"], 202, set(), EMPTY),
    ("PATCH", "/api/errors/%s/unarchive" % DAY_RANGE, None, 202, set(), EMPTY),
    ("GET", "/api/errors/groups", None, 200, {"ETag"}, LIST),
    ("GET", "/api/archive/groups/id/does-not-exist", None, 404, set(), ANY),
    ("GET", "/api/recoverability/classifiers", None, 200, {"Total-Count"}, ("exact", CLASSIFIERS)),
    ("GET", "/api/recoverability/groups", None, 200, {"ETag"}, ("items", GROUP_OPERATION_FIELDS)),
    ("GET", "/api/recoverability/groups/Message%20Type", None, 200, set(), ("items", GROUP_OPERATION_FIELDS)),
    ("GET", "/api/recoverability/groups/{group}/errors", None, 200, {"Total-Count"}, FAILED_VIEWS),
    ("HEAD", "/api/recoverability/groups/{group}/errors", None, 200, {"Total-Count"}, EMPTY),
    ("GET", "/api/recoverability/groups/id/{group}", None, 200, set(), ("object", FAILURE_GROUP_VIEW_FIELDS)),
    ("POST", "/api/recoverability/groups/{group}/comment?comment=checked", None, 202, set(), EMPTY),
    ("DELETE", "/api/recoverability/groups/{group}/comment", None, 202, set(), EMPTY),
    ("GET", "/api/recoverability/history", None, 200, set(), ("object", HISTORY_FIELDS)),
    ("DELETE", "/api/recoverability/unacknowledgedgroups/does-not-exist", None, 404, set(), ANY),
    ("GET", "/api/endpoints", None, 200, set(), LIST),
    ("GET", "/api/heartbeats/stats", None, 200, set(), ("object", {"active", "failing"})),
    ("GET", "/api/customchecks", None, 200, {"Total-Count"}, ("items", CUSTOM_CHECK_FIELDS)),
    ("GET", "/api/customchecks?status=pass", None, 200, {"Total-Count"}, ("items", CUSTOM_CHECK_FIELDS)),
    ("GET", "/api/messages", None, 200, {"Total-Count"}, LIST),
    ("GET", "/api/authentication/configuration", None, 200, set(), AUTHENTICATION),
    ("GET", "/api/license", None, 200, set(), ("object", LICENSE_FIELDS)),
    ("GET", "/api/license/details", None, 204, set(), EMPTY),
    ("GET", "/api/my/routes", None, 200, set(), ("object", {"roles", "routes"})),
    ("GET", "/api/licensing/endpoints", None, 200, set(), LIST),
    ("GET", "/api/licensing/report/available", None, 200, set(), REPORT_STATE),
    ("GET", "/api/licensing/report/file", None, 400, set(), ANY),
    ("GET", "/api/licensing/settings/info", None, 200, set(), SETTINGS_INFO),
    ("GET", "/api/licensing/settings/test", None, 200, set(), ("object", CONNECTION_TEST_FIELDS)),
    ("GET", "/api/licensing/settings/masks", None, 200, set(), ("exact", [])),
    ("GET", "/api/edit/config", None, 200, set(), EDIT_CONFIG),
    ("POST", "/api/edit/{id}", {"message_body": "{}", "message_headers": {}}, 404, set(), ANY),
    ("GET", "/api/endpointssettings", None, 200, set(), ("items", {"name", "track_instances"})),
    ("PATCH", "/api/endpointssettings/Sales", {"track_instances": True}, 202, set(), EMPTY),
    ("GET", "/api/eventlogitems", None, 200, {"Total-Count", "ETag"}, ("items", EVENT_LOG_FIELDS)),
    ("GET", "/api/redirects", None, 200, {"Total-Count"}, LIST),
    ("HEAD", "/api/redirect", None, 200, {"Total-Count"}, EMPTY),
    ("GET", "/api/notifications/email", None, 200, set(), ("object", {"enabled", "enable_tls"})),
    ("GET", "/api/messages2?page_size=5", None, 200, {"Total-Count"}, MERGED_VIEWS),
    ("GET", "/api/messages2", None, 200, {"Total-Count"}, ("exact", [])),
    ("GET", "/api/conversations/{conversation}", None, 200, {"Total-Count"}, ("items", MESSAGES_VIEW_FIELDS)),
    ("GET", "/api/endpoints/Shipping/audit-count", None, 200, {"Total-Count"}, ("items", {"utc_date", "count"})),
    ("GET", "/api/endpoints/Sales/messages/search?q=Sales", None, 200, {"Total-Count"}, LIST),
    ("GET", NO_SUCH_SAGA, None, 204, set(), EMPTY),
    ("GET", "/api/sagas/not-a-guid", None, 400, set(), ANY),
    ("GET", "/api/endpoints/known", None, 200, {"Total-Count"}, ("items", KNOWN_ENDPOINT_FIELDS)),
    ("OPTIONS", "/api/endpoints", None, 200, {"Allow"}, EMPTY),
]  # fmt: skip

MESSAGE_VIEWS = ("items", MESSAGES_VIEW_FIELDS)
AUDIT_ROUTES = [
    ("GET", "/api", None, 200, set(), ("object", AUDIT_ROOT_FIELDS)),
    ("GET", "/api/configuration", None, 200, set(), ("object", set(AUDIT_CONFIGURATION))),
    ("GET", "/api/instance-info", None, 200, set(), ("object", set(AUDIT_CONFIGURATION))),
    ("GET", "/api/messages?include_system_messages=true&per_page=1", None, 200, {"Total-Count"}, MESSAGE_VIEWS),
    ("GET", "/api/endpoints/Shipping/messages", None, 200, {"Total-Count"}, LIST),
    ("GET", "/api/messages/search/Shipping", None, 200, {"Total-Count"}, LIST),
    ("GET", "/api/endpoints/Shipping/audit-count", None, 200, set(), LIST),
    ("GET", "/api/endpoints/known", None, 200, {"Total-Count"}, ("exact", [])),
    ("GET", "/api/messages2?page_size=5", None, 200, {"Total-Count"}, MESSAGE_VIEWS),
    ("GET", "/api/conversations/{conversation}", None, 200, {"Total-Count"}, MESSAGE_VIEWS),
    ("GET", NO_SUCH_SAGA, None, 204, set(), EMPTY),
    ("GET", "/api/my/routes", None, 200, set(), ("object", {"roles", "routes"})),
    ("GET", "/api{audit_body}", None, 200, {"ETag"}, ANY),
    ("GET", "/api/messages/no-such-message/body", None, 204, set(), EMPTY),
]  # fmt: skip

# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("contract")
    broker = Broker("LearningTransport", str(root / "learning"), uuid.uuid4().hex[:6])
    audit_env = base_environ("audit", broker, str(root / "audit-db"), SERVICECONTROLQUEUEADDRESS="x")
    with broker.open() as transport:
        transport.create_queue("x")
    with running_instance("audit", audit_env, broker) as audit:
        error_env = base_environ(
            "error", broker, str(root / "error-db"), REMOTEINSTANCES='[{"api_uri":"%s"}]' % audit.instance.url
        )
        with running_instance("error", error_env, broker) as error, broker.open() as transport:
            for index in range(FAILED_MESSAGES):
                transport.send(broker.name("error"), failed_message("Sales" if index % 2 else "Billing"))
            for _ in range(2):
                transport.send(broker.name("audit"), audit_message("Shipping"))
            wait_until(lambda: error.get("/api/errors").headers["Total-Count"] == str(FAILED_MESSAGES), timeout=20)
            wait_until(lambda: audit.get("/api/messages").headers["Total-Count"] == "2")
            yield {"error": error, "audit": audit}


def fill(lab, text: str) -> str:
    error = lab["error"]
    first = error.get("/api/errors", params={"status": "unresolved", "sort": "message_id"}).json()[0]
    group = error.get("/api/recoverability/groups").json()[0]
    audited = lab["audit"].get("/api/messages").json()[0]
    values = {
        "{id}": first["id"],
        "{group}": group["id"],
        "{endpoint}": "Sales",
        "{queue}": "Sales",
        "{conversation}": audited["conversation_id"],
        "{audit_body}": audited["body_url"],
    }
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def call(run, lab, verb: str, path: str, body):
    if body is not None:
        import json

        body = json.loads(fill(lab, json.dumps(body)))
    return run.client.request(verb, fill(lab, path), json=body)


def check_shape(response, shape) -> None:
    kind, fields = shape
    if kind == "empty":
        assert response.content == b""
        return
    if kind == "any":
        return
    data = response.json()
    if kind == "object":
        assert isinstance(data, dict)
        assert fields <= set(data), "missing %s" % (fields - set(data))
    elif kind == "exact":
        assert data == fields
    elif kind == "list":
        assert isinstance(data, list)
    elif kind == "items":
        assert isinstance(data, list)
        assert data, "expected at least one item to check its fields"
        for item in data:
            assert fields <= set(item), "missing %s" % (fields - set(item))
    assert not _has_null(data), "ServiceControl omits null properties"


def _has_null(value) -> bool:
    if isinstance(value, dict):
        return any(v is None or _has_null(v) for k, v in value.items() if k != "headers")
    if isinstance(value, list):
        return any(_has_null(v) for v in value)
    return False


# ---------------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("row", ERROR_ROUTES, ids=lambda row: "%s %s" % row[:2])
def test_error_instance_route(lab, row):
    verb, path, body, status, headers, shape = row
    response = call(lab["error"], lab, verb, path, body)
    assert response.status_code == status, response.text
    assert all(name in response.headers for name in headers), response.headers
    assert response.headers["X-Particular-Version"] == "6.19.2"
    check_shape(response, shape)


@pytest.mark.parametrize("row", AUDIT_ROUTES, ids=lambda row: "%s %s" % row[:2])
def test_audit_instance_route(lab, row):
    verb, path, body, status, headers, shape = row
    response = call(lab["audit"], lab, verb, path, body)
    assert response.status_code == status, response.text
    assert all(name in response.headers for name in headers), response.headers
    assert response.headers["X-Particular-Version"] == "6.19.2"
    check_shape(response, shape)


def test_nested_json_shapes(lab):
    error = lab["error"]
    view = error.get("/api/errors").json()[0]
    assert EXCEPTION_FIELDS <= set(view["exception"])
    assert ENDPOINT_DETAILS_FIELDS <= set(view["sending_endpoint"])
    assert ENDPOINT_DETAILS_FIELDS <= set(view["receiving_endpoint"])
    assert view["status"] in {"unresolved", "resolved", "retryIssued", "archived"}
    document = error.get("/api/errors/%s" % view["id"]).json()
    assert PROCESSING_ATTEMPT_FIELDS <= set(document["processing_attempts"][0])
    assert {"id", "title", "type"} <= set(document["failure_groups"][0])
    configuration = error.get("/api/configuration").json()
    for section, fields in ERROR_CONFIGURATION.items():
        assert fields <= set(configuration[section]), section
    assert re.fullmatch(r"\d+\.\d{2}:\d{2}:\d{2}", configuration["data_retention"]["error_retention_period"])
    audit_configuration = lab["audit"].get("/api/configuration").json()
    for section, fields in AUDIT_CONFIGURATION.items():
        assert fields <= set(audit_configuration[section]), section
    remote = error.get("/api/configuration/remotes").json()[0]
    assert remote["status"] == "online"
    assert remote["version"] == "6.19.2"


def test_total_count_and_link_rules(lab):
    error = lab["error"]
    first = error.get("/api/errors", params={"per_page": "50"})
    assert first.headers["Total-Count"] == str(FAILED_MESSAGES)
    links = first.headers.get_list("Link")
    assert links == ['<errors?per_page=50&page=2>; rel="last"', '<errors?per_page=50&page=2>; rel="next"']
    second = error.get("/api/errors", params={"page": "2"})
    assert len(second.json()) == FAILED_MESSAGES - 50
    assert second.headers.get_list("Link") == ['<errors?page=1>; rel="first"', '<errors?page=1>; rel="prev"']
    one_page = error.get("/api/errors", params={"per_page": "100"})
    assert "Link" not in one_page.headers, "a single page has no first/prev/last/next to link"
    assert one_page.headers["Total-Count"] == str(FAILED_MESSAGES)
    beyond = error.get("/api/errors", params={"page": "9"})
    assert beyond.json() == [] and "Link" not in beyond.headers
    summary = error.get("/api/errors/queues/addresses")
    assert "Link" not in summary.headers, "only two addresses: no Link"
    assert error.client.head("/api/errors").headers["Total-Count"] == str(FAILED_MESSAGES)


def test_paging_and_sorting_fall_back_silently(lab):
    error = lab["error"]
    default = [v["id"] for v in error.get("/api/errors").json()]
    assert len(default) == 50
    for params in ({"sort": "bogus"}, {"direction": "sideways"}, {"per_page": "0"}, {"page": "-3"}):
        assert [v["id"] for v in error.get("/api/errors", params=params).json()] == default, params
    ascending = [
        v["message_id"] for v in error.get("/api/errors", params={"sort": "message_id", "direction": "asc"}).json()
    ]
    assert ascending == sorted(ascending)


def test_status_filters_and_modified_range(lab):
    error = lab["error"]
    everything = int(error.client.head("/api/errors").headers["Total-Count"])
    assert int(error.client.head("/api/errors", params={"status": "-archived"}).headers["Total-Count"]) <= everything
    assert error.client.head("/api/errors", params={"status": "Unresolved,RetryIssued"}).status_code == 200
    future = error.client.head("/api/errors", params={"modified": "2090-01-01T00:00:00Z...2091-01-01T00:00:00Z"})
    assert future.headers["Total-Count"] == "0"
    wide = error.client.head("/api/errors", params={"modified": "2000-01-01T00:00:00Z...2090-01-01T00:00:00Z"})
    assert wide.headers["Total-Count"] == str(everything)
    assert error.client.head("/api/errors", params={"queueaddress": "SALES"}).headers["Total-Count"] != "0"


def test_etag_and_if_none_match(lab):
    error = lab["error"]
    first = error.get("/api/errors")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    again = error.get("/api/errors", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["X-Particular-Version"] == "6.19.2"
    assert error.get("/api/errors", headers={"If-None-Match": '"other"'}).status_code == 200


def test_unknown_routes_and_wrong_verbs(lab):
    error = lab["error"]
    assert error.get("/api/nothing-here").status_code == 404
    assert error.client.delete("/api/errors").status_code == 405
    assert (
        error.client.post(
            "/api/errors/retry", content=b"not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )


def test_instance_ids_editing_and_known_endpoint_shapes(lab):
    error, audit = lab["error"], lab["audit"]
    # §2.9: the Audit instance leaves instance_id out; the Error instance's scatter-gather fills it in.
    assert all("instance_id" not in v for v in audit.get("/api/messages").json())
    merged = error.get("/api/messages", params={"per_page": "100"}).json()
    assert merged and all(v["instance_id"] for v in merged)
    remote = [v for v in merged if v["receiving_endpoint"]["name"] == "Shipping"]
    local = [v for v in merged if v["receiving_endpoint"]["name"] != "Shipping"]
    assert remote and all("instance_id=" in v["body_url"] for v in remote)
    assert remote[0]["instance_id"] != local[0]["instance_id"]
    # §2.3: not an edited copy, so edited false and edit_of "".
    view = error.get("/api/errors").json()[0]
    assert (view["edited"], view["edit_of"]) == (False, "")
    # §2.8: no "monitored" on the known endpoints.
    assert all("monitored" not in k for k in error.get("/api/endpoints/known").json())
    # §2.2: a valid commercial licence.
    licence = error.get("/api/license").json()
    assert (licence["status"], licence["license_status"], licence["trial_license"]) == ("valid", "Valid", False)
    assert error.get("/api").json()["license_status"] == "valid"
