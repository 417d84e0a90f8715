# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import base64
import json
import ssl
from urllib.parse import unquote

import certifi
import httpx
import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils import _transport_rabbitmq
from ansible_collections.servicecontrol.platform.plugins.module_utils._messages import Message
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    TransportConfigurationError,
    TransportDependencyError,
    TransportError,
    open_transport,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_rabbitmq import (
    RabbitMQConnection,
    dotnet_regex_escape,
)

SECRET = "Sup3r-S3cret"
CONNECTION_STRING = "host=rabbit.example.com;username=sc;password=%s" % SECRET
QUORUM_BODY = {"durable": True, "auto_delete": False, "arguments": {"x-queue-type": "quorum"}}
CLASSIC_BODY = {"durable": True, "auto_delete": False, "arguments": {}}
EXCHANGE_BODY = {"type": "fanout", "durable": True, "auto_delete": False, "internal": False, "arguments": {}}
BINDING_BODY = {"routing_key": "", "arguments": {}}


class FakeManagementApi:
    """An in-memory RabbitMQ management API answering like RabbitMQ (3.10 shapes; 4.x adds delivery_limit)."""

    def __init__(self, version="3.10.8", vhosts=("/",), default_queue_type="undefined"):
        self.version = version
        self.vhosts = {name: {"name": name, "default_queue_type": default_queue_type} for name in vhosts}
        self.queues = {}
        self.exchanges = {}
        self.bindings = []
        self.policies = {}
        self.published = []
        self.requests = []
        self.credentials = ("sc", SECRET)

    # -- state helpers for tests --
    def add_queue(self, name, vhost="/", queue_type="quorum", durable=True, arguments=None, **extra):
        if arguments is None:
            arguments = {"x-queue-type": "quorum"} if queue_type == "quorum" else {}
        queue = {
            "name": name,
            "vhost": vhost,
            "type": queue_type,
            "durable": durable,
            "auto_delete": False,
            "exclusive": False,
            "arguments": arguments,
            "node": "rabbit@localhost",
            "policy": None,
        }
        queue.update(extra)
        self.queues[(vhost, name)] = queue
        return queue

    def add_exchange(self, name, vhost="/", exchange_type="fanout", durable=True):
        self.exchanges[(vhost, name)] = {
            "name": name,
            "vhost": vhost,
            "type": exchange_type,
            "durable": durable,
            "auto_delete": False,
            "internal": False,
            "arguments": {},
            "user_who_performed_action": "guest",
        }

    def add_binding(self, name, vhost="/"):
        self.bindings.append((vhost, name, name, ""))

    @property
    def writes(self):
        return [(method, path, body) for method, path, body in self.requests if method != "GET"]

    # -- HTTP --
    def handler(self, request):  # noqa: PLR0911 - one answer per management API route
        path = request.url.raw_path.decode().split("?")[0]
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, path, body))
        auth = request.headers.get("authorization", "")
        user, _colon, password = (
            base64.b64decode(auth.split(" ", 1)[1]).decode().partition(":") if auth else ("", "", "")
        )
        if (user, password) != self.credentials:
            return httpx.Response(401, json={"error": "not_authorised", "reason": "Login failed"})
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if parts[:2] == ["api", "overview"]:
            return httpx.Response(200, json={"rabbitmq_version": self.version, "management_version": self.version})
        kind, vhost, rest = parts[1], parts[2] if len(parts) > 2 else None, parts[3:]
        if kind == "vhosts":
            if vhost in self.vhosts:
                return httpx.Response(200, json=self.vhosts[vhost])
            return self.not_found()
        if vhost not in self.vhosts:
            return self.not_found()
        method = request.method
        if kind == "queues":
            return self.queue(method, vhost, rest[0], body)
        if kind == "exchanges" and rest[1:] == ["publish"] and method == "POST":
            return self.publish(vhost, rest[0], body)
        if kind == "exchanges":
            return self.exchange(method, vhost, rest[0], body)
        if kind == "bindings":
            source, destination = rest[1], rest[3]
            if method == "GET":
                return httpx.Response(200, json=self.binding_list(vhost, source, destination))
            self.bindings.append((vhost, source, destination, body["routing_key"]))
            return httpx.Response(201, headers={"location": "%s/~" % destination})
        if kind == "policies":
            return self.policy(method, vhost, rest[0], body)
        return self.not_found()

    @staticmethod
    def not_found():
        return httpx.Response(404, json={"error": "Object Not Found", "reason": "Not Found"})

    def queue(self, method, vhost, name, body):  # noqa: PLR0911 - one answer per status
        key = (vhost, name)
        if method == "GET":
            return httpx.Response(200, json=self.queues[key]) if key in self.queues else self.not_found()
        if method == "PUT":
            queue_type = body["arguments"].get("x-queue-type", "classic")
            existing = self.queues.get(key)
            if existing is not None:
                if existing["type"] != queue_type:
                    reason = (
                        "inequivalent arg 'x-queue-type' for queue '%s' in vhost '%s': received '%s' but current "
                        "is '%s'" % (name, vhost, queue_type, existing["type"])
                    )
                    return httpx.Response(400, json={"error": "bad_request", "reason": reason})
                return httpx.Response(204)
            self.add_queue(name, vhost, queue_type=queue_type, durable=body["durable"], arguments=body["arguments"])
            return httpx.Response(201)
        if method == "DELETE":
            if self.queues.pop(key, None) is None:
                return self.not_found()
            self.bindings = [b for b in self.bindings if not (b[0] == vhost and b[2] == name)]
            return httpx.Response(204)
        return httpx.Response(405, json={"error": "Method Not Allowed", "reason": "Method Not Allowed"})

    def exchange(self, method, vhost, name, body):
        key = (vhost, name)
        if method == "GET":
            return httpx.Response(200, json=self.exchanges[key]) if key in self.exchanges else self.not_found()
        if method == "PUT":
            created = key not in self.exchanges
            self.add_exchange(name, vhost, exchange_type=body["type"], durable=body["durable"])
            return httpx.Response(201 if created else 204)
        if self.exchanges.pop(key, None) is None:
            return self.not_found()
        self.bindings = [b for b in self.bindings if not (b[0] == vhost and b[1] == name)]
        return httpx.Response(204)

    def publish(self, vhost, exchange, body):
        """The default exchange routes by queue name; the answer says whether a queue got it."""
        self.published.append((vhost, exchange, body))
        routed = exchange == "amq.default" and (vhost, body["routing_key"]) in self.queues
        return httpx.Response(200, json={"routed": routed})

    def binding_list(self, vhost, source, destination):
        return [
            {
                "source": s,
                "vhost": v,
                "destination": d,
                "destination_type": "queue",
                "routing_key": key,
                "arguments": {},
                "properties_key": key or "~",
            }
            for v, s, d, key in self.bindings
            if (v, s, d) == (vhost, source, destination)
        ]

    def policy(self, method, vhost, name, body):
        key = (vhost, name)
        if method == "GET":
            if key not in self.policies:
                return self.not_found()
            return httpx.Response(200, json=dict(self.policies[key], name=name, vhost=vhost))
        if method == "PUT":
            created = key not in self.policies
            self.policies[key] = body
            return httpx.Response(201 if created else 204)
        if self.policies.pop(key, None) is None:
            return self.not_found()
        return httpx.Response(204)


def make(transport_type, api, connection_string=CONNECTION_STRING, **options):
    transport = open_transport(transport_type, connection_string, options)
    transport.http_transport = httpx.MockTransport(api.handler)
    return transport


def path(kind, *names, vhost="%2F"):
    return "/api/%s/%s/%s" % (kind, vhost, "/".join(names))


# -- connection strings ------------------------------------------------------------------------------


def test_key_value_defaults():
    connection = RabbitMQConnection.parse("host=rabbit.example.com", "RabbitMQ.QuorumConventionalRouting")
    assert (connection.host, connection.port, connection.virtual_host) == ("rabbit.example.com", 5672, "/")
    assert (connection.username, connection.password, connection.use_tls) == ("guest", "guest", False)
    assert connection.management_url == "http://rabbit.example.com:15672/"


def test_key_value_keys_are_case_insensitive_and_tls_changes_ports():
    connection = RabbitMQConnection.parse(
        "Host=rabbit;UserName=sc;Password=%s;VirtualHost=prod;UseTls=True" % SECRET, "RabbitMQ.ClassicDirectRouting"
    )
    assert (connection.username, connection.password, connection.virtual_host) == ("sc", SECRET, "prod")
    assert connection.port == 5671
    assert connection.management_url == "https://rabbit:15671/"


def test_host_with_port_and_explicit_port():
    assert RabbitMQConnection.parse("host=rabbit:5673", "RabbitMQ.ClassicDirectRouting").port == 5673
    assert RabbitMQConnection.parse("host=rabbit;port=5674", "RabbitMQ.ClassicDirectRouting").port == 5674


def test_management_settings_from_connection_string():
    connection = RabbitMQConnection.parse(
        "host=rabbit;username=sc;password=%s;ManagementApiUrl=https://admin:pw@mgmt.example.com:8443/rabbitmq;"
        "ManagementApiUserName=monitor;ManagementApiPassword=other" % SECRET,
        "RabbitMQ.QuorumConventionalRouting",
    )
    assert connection.management_url == "https://mgmt.example.com:8443/rabbitmq/"
    assert (connection.management_username, connection.management_password) == ("monitor", "other")


def test_management_credentials_default_to_broker_credentials():
    connection = RabbitMQConnection.parse(
        "host=rabbit;username=sc;password=%s;ManagementApiUrl=http://mgmt:15672" % SECRET,
        "RabbitMQ.QuorumConventionalRouting",
    )
    assert (connection.management_username, connection.management_password) == ("sc", SECRET)


def test_amqp_uri_form():
    connection = RabbitMQConnection.parse(
        "amqps://sc:p%40ss%3Bword@rabbit.example.com/prod%2Feu", "RabbitMQ.QuorumConventionalRouting"
    )
    assert (connection.host, connection.port, connection.use_tls) == ("rabbit.example.com", 5671, True)
    assert (connection.username, connection.password) == ("sc", "p@ss;word")
    assert connection.virtual_host == "prod/eu"
    assert connection.management_url == "https://rabbit.example.com:15671/"


def test_amqp_uri_defaults():
    connection = RabbitMQConnection.parse("amqp://rabbit:5673", "RabbitMQ.QuorumConventionalRouting")
    assert (connection.port, connection.virtual_host, connection.username) == (5673, "/", "guest")


@pytest.mark.parametrize(
    ("connection_string", "expected"),
    [
        ("", "needs a connection string"),
        ("username=sc;password=%s" % SECRET, "has no 'host'"),
        ("host=a,b;password=%s" % SECRET, "several hosts"),
        ("host=rabbit;port=abc;password=%s" % SECRET, "'port' value that is not a TCP port"),
        ("host=rabbit;useTls=maybe;password=%s" % SECRET, "'useTls' that is not 'true' or 'false'"),
        ("host=rabbit;passwd=%s" % SECRET, "does not know: passwd"),
        ("host=rabbit;password=%s;ManagementApiUrl=ftp://x" % SECRET, "must be an http:// or https:// URL"),
        ("amqp://sc:%s@rabbit/a/b" % SECRET, "more than one path segment"),
        ("amqp://sc:%s@rabbit:99999/" % SECRET, "malformed"),
        ("host=rabbit;%s" % SECRET, "part 2 has no 'Key=Value' form"),
    ],
)
def test_bad_connection_strings_fail_clearly_without_the_secret(connection_string, expected):
    with pytest.raises(TransportConfigurationError) as error:
        RabbitMQConnection.parse(connection_string, "RabbitMQ.QuorumConventionalRouting")
    assert expected in str(error.value)
    assert SECRET not in str(error.value)


# -- names -----------------------------------------------------------------------------------------


def test_names_map_to_themselves_and_are_checked():
    transport = open_transport("RabbitMQ.QuorumConventionalRouting", CONNECTION_STRING)
    names = ["error", "error.log", "Particular.ServiceControl.staging", "é" * 127]
    assert transport.validate_names(names) == {name: name for name in names}
    with pytest.raises(InvalidQueueNameError) as error:
        transport.validate_names(["error", "amq.error", "x" * 256, "é" * 128])
    message = str(error.value)
    assert "'amq.error'" in message and "reserves" in message
    assert "256 bytes" in message and "256 bytes long in UTF-8; RabbitMQ allows at most 255" in message
    assert "'error'" not in message


@pytest.mark.parametrize(
    ("name", "escaped"),
    [
        ("error", "error"),
        ("error.log", "error\\.log"),
        ("a-b]c}d", "a-b]c}d"),
        ("x y#z", "x\\ y\\#z"),
        ("q*+?|{[()^$\\", "q\\*\\+\\?\\|\\{\\[\\(\\)\\^\\$\\\\"),
        ("t\tn\nr\rf\f", "t\\tn\\nr\\rf\\f"),
    ],
)
def test_dotnet_regex_escape(name, escaped):
    assert dotnet_regex_escape(name) == escaped


# -- creating: exact requests per TransportType ---------------------------------------------------------


@pytest.mark.parametrize(
    ("transport_type", "queue_body", "conventional"),
    [
        ("RabbitMQ.QuorumConventionalRouting", QUORUM_BODY, True),
        ("RabbitMQ.ClassicConventionalRouting", CLASSIC_BODY, True),
        ("RabbitMQ.QuorumDirectRouting", QUORUM_BODY, False),
        ("RabbitMQ.ClassicDirectRouting", CLASSIC_BODY, False),
    ],
)
def test_create_sends_exactly_what_nservicebus_declares(transport_type, queue_body, conventional):
    api = FakeManagementApi()
    with make(transport_type, api) as transport:
        result = transport.ensure("error.log")

    expected = [("PUT", path("queues", "error.log"), queue_body)]
    if conventional:
        expected += [
            ("PUT", path("exchanges", "error.log"), EXCHANGE_BODY),
            ("POST", path("bindings", "e", "error.log", "q", "error.log"), BINDING_BODY),
        ]
    assert api.writes == expected
    assert result["action"] == "created" and result["changed"] is True
    assert result["commands"] == [
        "%s %s %s" % (method, p, json.dumps(body, sort_keys=True)) for method, p, body in expected
    ]
    assert result["before"]["exists"] is False
    assert result["after"]["properties"]["queue_type"] == queue_body["arguments"].get("x-queue-type", "classic")
    assert ("exchange" in result["after"]["properties"]) is conventional


@pytest.mark.parametrize(
    "transport_type",
    [
        "RabbitMQ.QuorumConventionalRouting",
        "RabbitMQ.ClassicConventionalRouting",
        "RabbitMQ.QuorumDirectRouting",
        "RabbitMQ.ClassicDirectRouting",
    ],
)
def test_second_run_reads_only_and_check_mode_writes_nothing(transport_type):
    api = FakeManagementApi()
    with make(transport_type, api) as transport:
        planned = transport.ensure("audit", check_mode=True)
        assert api.writes == []
        done = transport.ensure("audit")
        writes = len(api.writes)
        again = transport.ensure("audit")
    assert planned["commands"] == done["commands"]
    assert planned["after"] == done["after"]
    assert again["action"] == "existed" and again["changed"] is False and again["commands"] == []
    assert len(api.writes) == writes
    assert again["before"]["properties"] == done["after"]["properties"]


def test_one_client_for_the_whole_call_and_vhost_checked_once():
    api = FakeManagementApi()
    with make("RabbitMQ.QuorumConventionalRouting", api) as transport:
        client = transport.client
        for name in ("error", "audit", "error_backup"):
            transport.ensure(name)
            assert transport.client is client
    assert [r for r in api.requests if r[1].startswith("/api/vhosts/")] == [("GET", "/api/vhosts/%2F", None)]
    assert transport.client is None


def test_missing_exchange_and_binding_are_added_as_updated():
    api = FakeManagementApi()
    api.add_queue("error")
    with make("RabbitMQ.QuorumConventionalRouting", api) as transport:
        result = transport.ensure("error")
    assert result["action"] == "updated"
    assert api.writes == [
        ("PUT", path("exchanges", "error"), EXCHANGE_BODY),
        ("POST", path("bindings", "e", "error", "q", "error"), BINDING_BODY),
    ]
    assert result["before"]["properties"]["exchange"] is None
    assert result["after"]["properties"]["binding"] is True


def test_missing_binding_only():
    api = FakeManagementApi()
    api.add_queue("error")
    api.add_exchange("error")
    with make("RabbitMQ.QuorumConventionalRouting", api) as transport:
        result = transport.ensure("error")
    assert result["action"] == "updated"
    assert api.writes == [("POST", path("bindings", "e", "error", "q", "error"), BINDING_BODY)]


def test_vhost_and_names_are_url_encoded():
    api = FakeManagementApi(vhosts=("prod/eu",))
    connection_string = CONNECTION_STRING + ";virtualHost=prod/eu"
    with make("RabbitMQ.QuorumConventionalRouting", api, connection_string) as transport:
        transport.ensure("odd name#1?")
    assert api.writes[0][1] == "/api/queues/prod%2Feu/odd%20name%231%3F"
    assert api.writes[2][1] == "/api/bindings/prod%2Feu/e/odd%20name%231%3F/q/odd%20name%231%3F"
    assert ("prod/eu", "odd name#1?") in api.queues


# -- existing queues that do not match -----------------------------------------------------------------


def test_classic_queue_where_quorum_is_needed_fails_with_migration_advice():
    api = FakeManagementApi()
    api.add_queue("error", queue_type="classic")
    with make("RabbitMQ.QuorumConventionalRouting", api) as transport, pytest.raises(TransportError) as error:
        transport.ensure("error")
    message = str(error.value)
    assert "Queue 'error'" in message
    assert 'queue_type is "classic", wanted "quorum"' in message
    assert "rabbitmq-transport queue migrate-to-quorum error" in message
    assert api.writes == []


def test_quorum_queue_where_classic_is_needed_fails():
    api = FakeManagementApi()
    api.add_queue("audit", queue_type="quorum")
    with make("RabbitMQ.ClassicDirectRouting", api) as transport, pytest.raises(TransportError) as error:
        transport.ensure("audit")
    assert 'queue_type is "quorum", wanted "classic"' in str(error.value)
    assert "migrate-to-quorum" not in str(error.value)
    assert api.writes == []


def test_extra_arguments_and_non_durable_queues_fail():
    api = FakeManagementApi()
    api.add_queue("error", queue_type="classic", arguments={"x-queue-mode": "lazy"})
    api.add_queue("audit", queue_type="classic", durable=False)
    with make("RabbitMQ.ClassicDirectRouting", api) as transport:
        with pytest.raises(TransportError) as error:
            transport.ensure("error")
        assert 'arguments is {"x-queue-mode": "lazy"}, wanted {}' in str(error.value)
        with pytest.raises(TransportError) as error:
            transport.ensure("audit")
        assert "durable is false, wanted true" in str(error.value)
    assert api.writes == []


def test_explicit_classic_queue_type_argument_is_accepted():
    api = FakeManagementApi()
    api.add_queue("error", queue_type="classic", arguments={"x-queue-type": "classic"})
    with make("RabbitMQ.ClassicDirectRouting", api) as transport:
        assert transport.ensure("error")["action"] == "existed"


def test_exchange_of_another_type_fails_before_any_change():
    api = FakeManagementApi()
    api.add_exchange("error", exchange_type="topic")
    with make("RabbitMQ.QuorumConventionalRouting", api) as transport, pytest.raises(TransportError) as error:
        transport.ensure("error")
    assert "Exchange 'error'" in str(error.value)
    assert 'type is "topic", wanted "fanout"' in str(error.value)
    assert api.writes == []


def test_classic_queue_on_vhost_with_quorum_default_fails_before_creating():
    api = FakeManagementApi(default_queue_type="quorum")
    with make("RabbitMQ.ClassicConventionalRouting", api) as transport, pytest.raises(TransportError) as error:
        transport.ensure("error")
    assert "default queue type is 'quorum'" in str(error.value)
    assert api.writes == []


# -- delivery-limit policy ------------------------------------------------------------------------------


def test_policy_on_rabbitmq_4_is_created_like_nservicebus_and_is_idempotent():
    api = FakeManagementApi(version="4.1.2")
    with make("RabbitMQ.QuorumConventionalRouting", api, rabbitmq_delivery_limit_policy=True) as transport:
        result = transport.ensure("error.log")
        assert api.writes[-1] == (
            "PUT",
            path("policies", "nsb.error.log.delivery-limit"),
            {
                "pattern": "^error\\.log$",
                "apply-to": "quorum_queues",
                "priority": 0,
                "definition": {"delivery-limit": 100000},
            },
        )
        assert result["after"]["properties"]["policy"] == "nsb.error.log.delivery-limit"
        writes = len(api.writes)
        # The broker applies the policy; the queue now reports it.
        api.queues[("/", "error.log")].update(policy="nsb.error.log.delivery-limit", delivery_limit=100000)
        again = transport.ensure("error.log")
    assert again["changed"] is False
    assert len(api.writes) == writes


def test_policy_is_added_to_an_existing_queue_as_updated():
    api = FakeManagementApi(version="4.0.5")
    api.add_queue("error", delivery_limit=20)
    with make("RabbitMQ.QuorumDirectRouting", api, rabbitmq_delivery_limit_policy=True) as transport:
        result = transport.ensure("error")
    assert result["action"] == "updated"
    assert [w[1] for w in api.writes] == [path("policies", "nsb.error.delivery-limit")]


def test_policy_is_not_needed_on_rabbitmq_3():
    api = FakeManagementApi(version="3.13.7")
    with make("RabbitMQ.QuorumConventionalRouting", api, rabbitmq_delivery_limit_policy=True) as transport:
        result = transport.ensure("error")
    assert not any("/api/policies/" in w[1] for w in api.writes)
    assert result["notes"] == [
        "RabbitMQ 3.13.7 has no default delivery limit on quorum queues; no delivery-limit policy is needed."
    ]


def test_policy_is_not_touched_without_the_option():
    api = FakeManagementApi(version="4.1.2")
    with make("RabbitMQ.QuorumConventionalRouting", api) as transport:
        transport.ensure("error")
    assert not any("/api/policies/" in r[1] or r[1] == "/api/overview" for r in api.requests)


def test_policy_conflicts_with_another_policy():
    api = FakeManagementApi(version="4.1.2")
    api.add_queue("error", policy="ha-all", delivery_limit=20)
    with (
        make("RabbitMQ.QuorumDirectRouting", api, rabbitmq_delivery_limit_policy=True) as transport,
        pytest.raises(TransportError) as error,
    ):
        transport.ensure("error")
    assert "already has the policy 'ha-all' applied" in str(error.value)
    assert api.writes == []


def test_policy_conflicts_with_explicit_delivery_limit_argument():
    api = FakeManagementApi(version="4.1.2")
    api.add_queue("error", arguments={"x-queue-type": "quorum", "x-delivery-limit": 5}, delivery_limit=5)
    with (
        make("RabbitMQ.QuorumDirectRouting", api, rabbitmq_delivery_limit_policy=True) as transport,
        pytest.raises(TransportError),
    ):
        transport.ensure("error")
    assert api.writes == []


# -- deleting -------------------------------------------------------------------------------------------


def test_delete_removes_queue_and_exchange_then_reports_absent():
    api = FakeManagementApi()
    with make("RabbitMQ.ClassicConventionalRouting", api) as transport:
        transport.ensure("error_backup")
        planned = transport.delete("error_backup", check_mode=True)
        assert ("/", "error_backup") in api.queues
        result = transport.delete("error_backup")
        again = transport.delete("error_backup")
    assert (
        planned["commands"]
        == result["commands"]
        == [
            "DELETE %s" % path("queues", "error_backup"),
            "DELETE %s" % path("exchanges", "error_backup"),
        ]
    )
    assert result["action"] == "deleted" and result["after"]["exists"] is False
    assert again["action"] == "absent" and again["changed"] is False
    assert api.queues == {} and api.exchanges == {}


def test_delete_direct_topology_leaves_exchanges_alone():
    api = FakeManagementApi()
    api.add_queue("audit")
    api.add_exchange("audit")
    with make("RabbitMQ.QuorumDirectRouting", api) as transport:
        transport.delete("audit")
    assert api.writes == [("DELETE", path("queues", "audit"), None)]


def test_delete_removes_left_over_exchange():
    api = FakeManagementApi()
    api.add_exchange("audit")
    with make("RabbitMQ.QuorumConventionalRouting", api) as transport:
        result = transport.delete("audit")
    assert result["action"] == "deleted"
    assert api.writes == [("DELETE", path("exchanges", "audit"), None)]


def test_delete_removes_the_transport_policy_on_rabbitmq_4():
    api = FakeManagementApi(version="4.1.2")
    with make("RabbitMQ.QuorumDirectRouting", api, rabbitmq_delivery_limit_policy=True) as transport:
        transport.ensure("error")
        transport.delete("error")
    assert api.policies == {}
    assert api.writes[-1] == ("DELETE", path("policies", "nsb.error.delivery-limit"), None)


# -- reading ----------------------------------------------------------------------------------------------


def test_describe_reports_depth_when_the_counters_are_there():
    api = FakeManagementApi()
    api.add_queue("error", messages=42, messages_ready=40)
    api.add_queue("audit")  # fresh queue: the management API has no counters yet
    with make("RabbitMQ.QuorumDirectRouting", api) as transport:
        assert transport.depth("error") == 42
        assert transport.depth("audit") is None
        missing = transport.describe("nope")
    assert missing == {"name": "nope", "physical_name": "nope", "exists": False, "depth": None, "properties": {}}


def test_describe_conventional_properties():
    api = FakeManagementApi()
    api.add_queue("error", messages=0)
    api.add_exchange("error")
    api.add_binding("error")
    with make("RabbitMQ.QuorumConventionalRouting", api) as transport:
        state = transport.describe("error")
    assert state["properties"] == {
        "vhost": "/",
        "queue_type": "quorum",
        "durable": True,
        "auto_delete": False,
        "exclusive": False,
        "arguments": {"x-queue-type": "quorum"},
        "routing_topology": "conventional",
        "policy": None,
        "exchange": {"type": "fanout", "durable": True, "auto_delete": False},
        "binding": True,
    }
    assert state["depth"] == 0


# -- failures talking to the broker --------------------------------------------------------------------------


def test_rejected_credentials_name_the_user_not_the_password():
    api = FakeManagementApi()
    api.credentials = ("sc", "another")
    with pytest.raises(TransportError) as error, make("RabbitMQ.QuorumConventionalRouting", api):
        pass
    assert "rejected the credentials of user 'sc'" in str(error.value)
    assert SECRET not in str(error.value)


def test_missing_vhost_is_a_configuration_error():
    api = FakeManagementApi()
    with (
        pytest.raises(TransportConfigurationError) as error,
        make("RabbitMQ.QuorumConventionalRouting", api, CONNECTION_STRING + ";virtualHost=nope"),
    ):
        pass
    assert "virtual host 'nope' does not exist" in str(error.value)


def test_unreachable_broker_message_has_url_but_no_secret():
    def refuse(request):
        raise httpx.ConnectError("connection refused to %s" % request.url, request=request)

    transport = open_transport("RabbitMQ.QuorumConventionalRouting", CONNECTION_STRING + ";ManagementApiUrl=http://m:1")
    transport.http_transport = httpx.MockTransport(refuse)
    with pytest.raises(TransportError) as error:
        with transport:
            pass
    assert "Cannot reach the RabbitMQ management API at http://m:1" in str(error.value)
    assert SECRET not in str(error.value)


def test_server_errors_carry_the_reason():
    api = FakeManagementApi()

    def handler(request):
        if request.method == "PUT":
            return httpx.Response(403, json={"error": "not_authorised", "reason": "Access refused."})
        return api.handler(request)

    transport = open_transport("RabbitMQ.QuorumDirectRouting", CONNECTION_STRING)
    transport.http_transport = httpx.MockTransport(handler)
    with transport, pytest.raises(TransportError) as error:
        transport.ensure("error")
    assert "answered 403 to PUT /api/queues/%2F/error: Access refused." in str(error.value)
    assert "needs the 'management' tag" in str(error.value)


def test_missing_httpx_is_reported_as_a_dependency(monkeypatch):
    monkeypatch.setattr(_transport_rabbitmq, "HAS_HTTPX", False)
    transport = open_transport("RabbitMQ.QuorumDirectRouting", CONNECTION_STRING)
    with pytest.raises(TransportDependencyError) as error:
        with transport:
            pass
    assert error.value.library == "httpx"


def test_tls_verification_settings(monkeypatch):
    seen = []

    class RecordingClient(httpx.Client):
        def __init__(self, **kwargs):
            seen.append(kwargs["verify"])
            super().__init__(**kwargs)

    monkeypatch.setattr(_transport_rabbitmq.httpx, "Client", RecordingClient)
    api = FakeManagementApi()
    for options, connection_string in (
        ({}, CONNECTION_STRING),
        ({"validate_certs": False}, CONNECTION_STRING),
        ({"validate_certs": True}, CONNECTION_STRING + ";DisableRemoteCertificateValidation=true"),
    ):
        with make("RabbitMQ.QuorumDirectRouting", api, connection_string, **options):
            pass
    assert seen == [True, False, False]


def test_ca_path_is_loaded_into_an_ssl_context(monkeypatch, tmp_path):
    seen = []

    class RecordingClient(httpx.Client):
        def __init__(self, **kwargs):
            seen.append(kwargs["verify"])
            super().__init__(**kwargs)

    monkeypatch.setattr(_transport_rabbitmq.httpx, "Client", RecordingClient)
    with pytest.raises(TransportConfigurationError) as error:
        with make("RabbitMQ.QuorumDirectRouting", FakeManagementApi(), ca_path=str(tmp_path / "missing.pem")):
            pass
    assert "cannot load the TLS files: ca_path" in str(error.value)
    with make("RabbitMQ.QuorumDirectRouting", FakeManagementApi(), ca_path=certifi.where()):
        pass
    assert isinstance(seen[-1], ssl.SSLContext)


def test_options_of_other_transports_are_rejected():
    with pytest.raises(TransportConfigurationError) as error:
        open_transport("RabbitMQ.QuorumDirectRouting", CONNECTION_STRING, {"sqs_endpoint_url": "http://x"})
    assert "sqs_endpoint_url" in str(error.value)


# -- send ---------------------------------------------------------------------------------------------

PROBE_ID = "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e"


def probe_message(**headers):
    base = {
        "NServiceBus.MessageId": PROBE_ID,
        "NServiceBus.CorrelationId": "corr-1",
        "NServiceBus.ReplyToAddress": "Sales",
        "NServiceBus.ContentType": "application/json",
        "NServiceBus.EnclosedMessageTypes": "Sales.Probe, Sales, Version=1.0.0.0;Sales.IProbe, Sales",
    }
    return Message(PROBE_ID, dict(base, **headers), b'{"a":1}')


@pytest.mark.parametrize("transport_type", ["RabbitMQ.QuorumConventionalRouting", "RabbitMQ.ClassicDirectRouting"])
def test_send_publishes_to_the_default_exchange_with_nservicebus_properties(transport_type):
    api = FakeManagementApi()
    api.add_queue("error")
    with make(transport_type, api) as transport:
        result = transport.send("error", probe_message())
    ((vhost, exchange, body),) = api.published
    assert (vhost, exchange) == ("/", "amq.default")
    assert body == {
        "routing_key": "error",
        "payload": base64.b64encode(b'{"a":1}').decode(),
        "payload_encoding": "base64",
        "properties": {
            "message_id": PROBE_ID,
            "delivery_mode": 2,
            "headers": probe_message().headers,
            "correlation_id": "corr-1",
            "type": "Sales.Probe",
            "content_type": "application/json",
            "reply_to": "Sales",
        },
    }
    assert ("POST", path("exchanges", "amq.default", "publish"), body) in api.writes
    assert result["native_message_id"] == PROBE_ID
    assert result["commands"] == [
        "POST /api/exchanges/%%2F/amq.default/publish routing_key=error message_id=%s delivery_mode=2 (5 headers, "
        "7 bytes)" % PROBE_ID
    ]


def test_send_without_content_type_and_with_the_non_persistent_header():
    api = FakeManagementApi()
    api.add_queue("error")
    message = Message(PROBE_ID, {"NServiceBus.Transport.RabbitMQ.UseNonPersistentDelivery": "", "X": "1"}, b"")
    with make("RabbitMQ.QuorumConventionalRouting", api) as transport:
        transport.send("error", message)
    properties = api.published[0][2]["properties"]
    # The header is removed and the message sent non-persistent; no content type means octet-stream.
    assert properties == {
        "message_id": PROBE_ID,
        "delivery_mode": 1,
        "headers": {"X": "1"},
        "content_type": "application/octet-stream",
    }
    assert api.published[0][2]["payload"] == ""


def test_send_in_check_mode_reads_but_publishes_nothing():
    api = FakeManagementApi()
    api.add_queue("error")
    with make("RabbitMQ.QuorumConventionalRouting", api) as transport:
        result = transport.send("error", probe_message(), check_mode=True)
    assert api.published == [] and api.writes == []
    assert (result["changed"], result["native_message_id"]) == (True, PROBE_ID)


def test_send_to_a_missing_queue_publishes_nothing():
    api = FakeManagementApi()
    with make("RabbitMQ.QuorumConventionalRouting", api) as transport, pytest.raises(TransportError) as error:
        transport.send("error", probe_message())
    assert "Queue 'error' (error) does not exist on RabbitMQ.QuorumConventionalRouting" in str(error.value)
    assert api.published == []


def test_an_unrouted_publish_is_an_error():
    api = FakeManagementApi()
    api.add_queue("error")
    original = api.publish

    def vanished(vhost, exchange, body):
        api.queues.clear()
        return original(vhost, exchange, body)

    api.publish = vanished
    with make("RabbitMQ.QuorumConventionalRouting", api) as transport, pytest.raises(TransportError, match="routed"):
        transport.send("error", probe_message())
