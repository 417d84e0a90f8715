# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure Service Bus transport against a fake ServiceBusAdministrationClient.

No Service Bus emulator runs without Docker, so these tests pin the exact administration-client calls
(create_queue keyword arguments, update_queue, delete_queue) that the NServiceBus transport's
CreateQueueOptions translate to, and the connection-string handling ServiceControl applies.
"""

from __future__ import annotations

import datetime
import types

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.servicebus.management import QueueProperties

from ansible_collections.servicecontrol.platform.plugins.module_utils import (
    _transport_azureservicebus as asb,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._messages import Message
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    TransportConfigurationError,
    TransportDependencyError,
    TransportError,
    open_transport,
)

KEY = "Zm9vYmFyLXNoYXJlZC1hY2Nlc3Mta2V5LXNlY3JldA=="
NAMESPACE = (
    "Endpoint=sb://sc-test.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=%s"
)
CONNECTION_STRING = NAMESPACE % KEY
FIVE_MINUTES = datetime.timedelta(minutes=5)


def transport(connection_string=CONNECTION_STRING, **options):
    return open_transport("NetStandardAzureServiceBus", connection_string, options)


def queue_properties(name, **overrides):
    """A QueueProperties as the SDK returns it for a queue NServiceBus created (plus overrides)."""
    values = {
        "authorization_rules": None,
        "auto_delete_on_idle": datetime.timedelta(days=10675199),
        "dead_lettering_on_message_expiration": False,
        "default_message_time_to_live": datetime.timedelta(days=10675199),
        "duplicate_detection_history_time_window": datetime.timedelta(minutes=10),
        "availability_status": "Available",
        "enable_batched_operations": True,
        "enable_express": False,
        "enable_partitioning": False,
        "lock_duration": FIVE_MINUTES,
        "max_delivery_count": 2147483647,
        "max_size_in_megabytes": 5120,
        "requires_duplicate_detection": False,
        "requires_session": False,
        "status": "Active",
        "forward_to": None,
        "user_metadata": None,
        "forward_dead_lettered_messages_to": None,
        "max_message_size_in_kilobytes": None,
    }
    values.update(overrides)
    return QueueProperties(name, **values)


class FakeAdministrationClient:
    """Records every call; holds queues as QueueProperties plus runtime counts."""

    instances = []

    def __init__(self, fully_qualified_namespace=None, credential=None, **kwargs):
        self.fully_qualified_namespace = fully_qualified_namespace
        self.credential = credential
        self.connection_string = None
        self.kwargs = kwargs
        self.queues, self.counts, self.calls = {}, {}, []
        self.failures = []
        self.closed = False
        FakeAdministrationClient.instances.append(self)

    @classmethod
    def from_connection_string(cls, conn_str, **kwargs):
        client = cls(**kwargs)
        client.connection_string = conn_str
        return client

    def _lookup(self, name):
        if self.failures:
            raise self.failures[0]
        if name not in self.queues:
            raise ResourceNotFoundError("Queue '%s' does not exist" % name)
        return self.queues[name]

    def get_queue(self, queue_name):
        self.calls.append(("get_queue", queue_name))
        return self._lookup(queue_name)

    def get_queue_runtime_properties(self, queue_name):
        self.calls.append(("get_queue_runtime_properties", queue_name))
        self._lookup(queue_name)
        active, dead, scheduled = self.counts.get(queue_name, (0, 0, 0))
        return types.SimpleNamespace(
            active_message_count=active, dead_letter_message_count=dead, scheduled_message_count=scheduled
        )

    def create_queue(self, queue_name, **kwargs):
        self.calls.append(("create_queue", queue_name, kwargs))
        if queue_name in self.queues:
            raise ResourceExistsError("Entity already exists")
        self.queues[queue_name] = queue_properties(queue_name, **kwargs)

    def update_queue(self, queue):
        self.calls.append(("update_queue", queue.name, queue))
        self.queues[queue.name] = queue

    def delete_queue(self, queue_name):
        self.calls.append(("delete_queue", queue_name))
        self._lookup(queue_name)
        del self.queues[queue_name]

    def close(self):
        self.closed = True

    def writes(self):
        return [call for call in self.calls if call[0] in ("create_queue", "update_queue", "delete_queue")]


@pytest.fixture
def fake(monkeypatch):
    FakeAdministrationClient.instances = []
    monkeypatch.setattr(asb, "ServiceBusAdministrationClient", FakeAdministrationClient)
    return FakeAdministrationClient


def client(fake):
    assert len(fake.instances) == 1, "one administration client per transport use"
    return fake.instances[0]


# -- creation ------------------------------------------------------------------------------------------


def test_create_queue_gets_exactly_the_transport_options(fake):
    with transport() as bus:
        check = bus.ensure("error", check_mode=True)
        assert client(fake).writes() == []
        real = bus.ensure("error")
    assert check == real
    assert client(fake).writes() == [
        (
            "create_queue",
            "error",
            {
                "max_size_in_megabytes": 5120,
                "enable_partitioning": False,
                "lock_duration": FIVE_MINUTES,
                "max_delivery_count": 2147483647,
                "enable_batched_operations": True,
            },
        )
    ]
    assert real["action"] == "created" and real["changed"] is True
    assert real["commands"] == [
        "create_queue error max_size_in_megabytes=5120 enable_partitioning=false lock_duration=PT5M "
        "max_delivery_count=2147483647 enable_batched_operations=true"
    ]
    assert real["after"]["properties"]["lock_duration"] == "PT5M"


def test_second_run_changes_nothing_and_describes_the_same_state(fake):
    with transport() as bus:
        created = bus.ensure("audit")
        again = bus.ensure("audit")
        again_check = bus.ensure("audit", check_mode=True)
    assert len(client(fake).writes()) == 1
    for result in (again, again_check):
        assert result["action"] == "existed" and result["changed"] is False and result["commands"] == []
        assert result["before"] == result["after"] == created["after"]


def test_partitioning_comes_from_the_connection_string_and_option_overrides_it(fake):
    with transport(CONNECTION_STRING + ";EnablePartitioning=True") as bus:
        bus.ensure("error")
    with transport(CONNECTION_STRING + ";EnablePartitioning=true", azure_service_bus_enable_partitioning=False) as bus:
        bus.ensure("audit")
    assert fake.instances[0].writes()[0][2]["enable_partitioning"] is True
    assert fake.instances[1].writes()[0][2]["enable_partitioning"] is False


def test_size_and_delivery_count_options(fake):
    with transport(azure_service_bus_max_size_in_megabytes=2048, azure_service_bus_max_delivery_count=10) as bus:
        bus.ensure("error")
    kwargs = client(fake).writes()[0][2]
    assert kwargs["max_size_in_megabytes"] == 2048
    assert kwargs["max_delivery_count"] == 10


def test_emulator_connection_string_uses_delivery_count_10_like_the_transport(fake):
    with transport(CONNECTION_STRING + ";UseDevelopmentEmulator=true") as bus:
        bus.ensure("error")
    assert client(fake).writes()[0][2]["max_delivery_count"] == 10


def test_queue_created_concurrently_is_ignored_like_the_transport(fake):
    with transport() as bus:
        admin = client(fake)
        admin.queues["error"] = queue_properties("error")
        lookup = admin._lookup
        hidden = {"error"}

        def missing_at_first_read(name):
            if name in hidden:
                hidden.discard(name)  # our read misses it; another process creates it before our create
                raise ResourceNotFoundError("Queue '%s' does not exist" % name)
            return lookup(name)

        admin._lookup = missing_at_first_read
        result = bus.ensure("error")
    assert result["action"] == "created"
    assert [write[0] for write in admin.writes()] == ["create_queue"]


# -- existing queues: update or refuse ------------------------------------------------------------------


def test_mutable_differences_are_updated(fake):
    with transport() as bus:
        client(fake).queues["error"] = queue_properties(
            "error",
            lock_duration=datetime.timedelta(minutes=1),
            max_delivery_count=10,
            enable_batched_operations=False,
            max_size_in_megabytes=1024,
        )
        check = bus.ensure("error", check_mode=True)
        assert client(fake).writes() == []
        real = bus.ensure("error")
        again = bus.ensure("error")
    assert check == real
    assert real["action"] == "updated" and real["changed"] is True
    assert real["before"]["properties"]["lock_duration"] == "PT1M"
    assert real["after"]["properties"]["lock_duration"] == "PT5M"
    assert real["after"]["properties"]["max_delivery_count"] == 2147483647
    assert real["commands"] == [
        "update_queue error lock_duration=PT5M max_delivery_count=2147483647 enable_batched_operations=true "
        "max_size_in_megabytes=5120"
    ]
    writes = client(fake).writes()
    assert [w[0] for w in writes] == ["update_queue"]
    updated = writes[0][2]
    assert updated.lock_duration == FIVE_MINUTES
    assert updated.max_delivery_count == 2147483647
    assert updated.enable_batched_operations is True
    assert updated.max_size_in_megabytes == 5120
    # Everything the transport does not manage is sent back unchanged.
    assert updated.default_message_time_to_live == datetime.timedelta(days=10675199)
    assert again["action"] == "existed"


def test_only_the_differing_property_is_updated(fake):
    with transport() as bus:
        client(fake).queues["audit"] = queue_properties("audit", max_delivery_count=5)
        result = bus.ensure("audit")
    assert result["commands"] == ["update_queue audit max_delivery_count=2147483647"]


def test_partitioned_standard_queue_reports_16_times_the_size_and_is_not_changed(fake):
    with transport(CONNECTION_STRING + ";EnablePartitioning=true") as bus:
        client(fake).queues["error"] = queue_properties("error", enable_partitioning=True, max_size_in_megabytes=81920)
        result = bus.ensure("error")
    assert result["action"] == "existed"
    assert client(fake).writes() == []


@pytest.mark.parametrize(
    ("existing", "connection_string", "expected"),
    [
        (
            {"enable_partitioning": True},
            CONNECTION_STRING,
            "enable_partitioning=true, but .* needs enable_partitioning=false",
        ),
        (
            {"enable_partitioning": False},
            CONNECTION_STRING + ";EnablePartitioning=true",
            "enable_partitioning=false, but .* needs enable_partitioning=true",
        ),
        ({"requires_session": True}, CONNECTION_STRING, "requires_session=true"),
        ({"requires_duplicate_detection": True}, CONNECTION_STRING, "requires_duplicate_detection=true"),
    ],
)
def test_immutable_mismatch_is_a_clear_error_and_changes_nothing(fake, existing, connection_string, expected):
    with transport(connection_string) as bus:
        client(fake).queues["error"] = queue_properties("error", max_delivery_count=3, **existing)
        for check_mode in (True, False):
            with pytest.raises(TransportError, match=expected) as raised:
                bus.ensure("error", check_mode=check_mode)
            assert "cannot change" in str(raised.value) and "'error'" in str(raised.value)
    assert client(fake).writes() == []


# -- naming ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("connection_string", "name", "expected"),
    [
        (CONNECTION_STRING, "Particular.ServiceControl.Audit", "Particular.ServiceControl.Audit"),
        (CONNECTION_STRING, "error.log", "error.log"),
        (CONNECTION_STRING + ";HierarchyNamespace=team-a", "error", "team-a/error"),
        (CONNECTION_STRING + ";HierarchyNamespace=team-a/", "error", "team-a/error"),
        (CONNECTION_STRING + ";HierarchyNamespace=team-a", "team-a/error", "team-a/error"),
        (CONNECTION_STRING + ";HierarchyNamespace=org/team", "audit_backup", "org/team/audit_backup"),
    ],
)
def test_physical_names(connection_string, name, expected):
    assert transport(connection_string).physical_name(name) == expected


def test_hierarchy_namespace_is_used_for_every_call(fake):
    with transport(CONNECTION_STRING + ";HierarchyNamespace=team-a") as bus:
        bus.ensure("error")
        bus.depth("error")
        bus.delete("error")
    names = {call[1] for call in client(fake).calls}
    assert names == {"team-a/error"}


@pytest.mark.parametrize("name", ["-error", "error.", "has space", "a" * 261, "error?x", "", None])
def test_names_azure_rejects(name):
    with pytest.raises(InvalidQueueNameError):
        transport().physical_name(name)


def test_names_differing_only_in_case_collide():
    with pytest.raises(InvalidQueueNameError, match="both map"):
        transport().validate_names(["Error", "error"])


# -- connection string ------------------------------------------------------------------------------------


def test_servicecontrol_extras_are_stripped_before_the_sdk(fake):
    extras = (
        ";TopicName=bundle-1;EnablePartitioning=false;HierarchyNamespace=ns;TransportType=AmqpWebSockets;"
        "QueueLengthQueryDelayInterval=500"
    )
    with transport(CONNECTION_STRING + extras, timeout=9):
        pass
    assert client(fake).connection_string == CONNECTION_STRING
    assert client(fake).kwargs["retry_total"] == asb.RETRY_TOTAL
    assert client(fake).kwargs["connection_timeout"] == 9
    assert client(fake).kwargs["connection_verify"] is True
    assert client(fake).closed is True


def test_shared_access_signature_is_passed_on(fake):
    connection_string = (
        "Endpoint=sb://sc-test.servicebus.windows.net/;"
        "SharedAccessSignature=SharedAccessSignature sr=x&sig=abc&se=1&skn=k"
    )
    with transport(connection_string + ";TopicName=t"):
        pass
    assert client(fake).connection_string == connection_string


@pytest.mark.parametrize(
    ("connection_string", "expected"),
    [
        ("sb://sc-test.servicebus.windows.net", "'sb://' prefix is not allowed"),
        ("sc-test.servicebus.windows.net/", "trailing '/' is not allowed"),
        ("SharedAccessKeyName=k;SharedAccessKey=%s" % KEY, "no Endpoint"),
        (CONNECTION_STRING + ";EnablePartitioning=yes", "EnablePartitioning='yes'; use true or false"),
        (CONNECTION_STRING + ";QueueLengthQueryDelayInterval=soon", "QueueLengthQueryDelayInterval"),
        (CONNECTION_STRING + ";ClientId=abc", "ClientId"),
        (CONNECTION_STRING + ";Authentication=Password", "only knows Authentication=Managed Identity"),
        ("Endpoint=sb://sc-test.servicebus.windows.net/;SharedAccessKeyName=k", "needs either SharedAccessKeyName"),
        (CONNECTION_STRING + ";EntityPath=error", "unknown key"),
        (CONNECTION_STRING + ";Partitioning=true", "unknown key"),
        ("", "needs a connection string"),
    ],
)
def test_bad_connection_strings_fail_clearly_without_the_key(connection_string, expected):
    with pytest.raises(TransportConfigurationError, match=expected) as raised:
        transport(connection_string)
    assert KEY not in str(raised.value)


def test_unknown_key_message_lists_the_accepted_keys():
    with pytest.raises(TransportConfigurationError) as raised:
        transport(CONNECTION_STRING + ";Partitioning=true")
    for key in ("Endpoint", "SharedAccessKeyName", "TopicName", "EnablePartitioning", "HierarchyNamespace"):
        assert key in str(raised.value)


def test_token_credentials_need_azure_identity(fake, monkeypatch):
    monkeypatch.setattr(asb, "HAS_AZURE_IDENTITY", False)
    monkeypatch.setattr(asb, "AZURE_IDENTITY_IMPORT_ERROR", "ModuleNotFoundError: No module named 'azure.identity'")
    for connection_string in (
        "sc-test.servicebus.windows.net",
        "Endpoint=sb://sc-test.servicebus.windows.net/;Authentication=Managed Identity",
    ):
        with pytest.raises(TransportDependencyError) as raised:
            with transport(connection_string):
                pass
        assert raised.value.library == "azure-identity"
    assert fake.instances == []


def test_fully_qualified_namespace_uses_default_azure_credential(fake, monkeypatch):
    monkeypatch.setattr(asb, "HAS_AZURE_IDENTITY", True)
    monkeypatch.setattr(asb, "DefaultAzureCredential", lambda: "default-credential", raising=False)
    with transport("sc-test.servicebus.windows.net"):
        pass
    assert client(fake).fully_qualified_namespace == "sc-test.servicebus.windows.net"
    assert client(fake).credential == "default-credential"


def test_managed_identity_uses_the_client_id(fake, monkeypatch):
    monkeypatch.setattr(asb, "HAS_AZURE_IDENTITY", True)
    monkeypatch.setattr(asb, "ManagedIdentityCredential", lambda client_id: ("managed", client_id), raising=False)
    with transport("Endpoint=sb://sc-test.servicebus.windows.net/;Authentication=Managed Identity;ClientId=1234"):
        pass
    assert client(fake).fully_qualified_namespace == "sc-test.servicebus.windows.net"
    assert client(fake).credential == ("managed", "1234")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"azure_service_bus_max_size_in_megabytes": 5000}, "multiple of 1024"),
        ({"azure_service_bus_max_size_in_megabytes": 0}, "azure_service_bus_max_size_in_megabytes"),
        ({"azure_service_bus_max_delivery_count": 0}, "azure_service_bus_max_delivery_count"),
        ({"azure_service_bus_max_delivery_count": 2147483648}, "azure_service_bus_max_delivery_count"),
        ({"azure_service_bus_enable_partitioning": "yes"}, "true or false"),
        ({"sqs_endpoint_url": "http://x"}, "do not apply"),
    ],
)
def test_bad_options(options, expected):
    with pytest.raises(TransportConfigurationError, match=expected):
        transport(**options)


# -- describe, depth, delete, errors ----------------------------------------------------------------------


def test_describe_and_depth_use_runtime_counts(fake):
    with transport() as bus:
        assert bus.describe("error")["exists"] is False
        assert bus.depth("error") is None
        client(fake).queues["error"] = queue_properties("error")
        client(fake).counts["error"] = (7, 2, 1)
        described = bus.describe("error")
        depth = bus.depth("error")
    assert depth == 7
    assert described["depth"] == 7
    assert described["properties"] == {
        "max_size_in_megabytes": 5120,
        "enable_partitioning": False,
        "lock_duration": "PT5M",
        "max_delivery_count": 2147483647,
        "enable_batched_operations": True,
        "requires_session": False,
        "requires_duplicate_detection": False,
        "dead_letter_message_count": 2,
        "scheduled_message_count": 1,
    }


def test_delete_check_real_repeat(fake):
    with transport() as bus:
        client(fake).queues["error_backup"] = queue_properties("error_backup")
        check = bus.delete("error_backup", check_mode=True)
        assert client(fake).writes() == []
        real = bus.delete("error_backup")
        again = bus.delete("error_backup")
    assert check == real
    assert real["action"] == "deleted" and real["commands"] == ["delete_queue error_backup"]
    assert client(fake).writes() == [("delete_queue", "error_backup")]
    assert again["action"] == "absent" and again["changed"] is False


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (ClientAuthenticationError("Unauthorized: SharedAccessKey=%s" % KEY), "Manage"),
        (ServiceRequestError("Connection refused for key %s" % KEY), "ServiceRequestError"),
    ],
)
def test_sdk_errors_name_the_queue_and_never_the_key(fake, failure, expected):
    with transport() as bus:
        client(fake).failures.append(failure)
        with pytest.raises(TransportError, match=expected) as raised:
            bus.ensure("error")
    assert "'error'" in str(raised.value)
    assert KEY not in str(raised.value)


def test_missing_sdk_is_a_dependency_error_naming_the_library(monkeypatch):
    monkeypatch.setattr(asb, "HAS_AZURE_SERVICEBUS", False)
    monkeypatch.setattr(asb, "AZURE_SERVICEBUS_IMPORT_ERROR", "ModuleNotFoundError: No module named 'azure'")
    with pytest.raises(TransportDependencyError) as raised:
        with transport():
            pass
    assert raised.value.library == "azure-servicebus"


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (datetime.timedelta(minutes=5), "PT5M"),
        (datetime.timedelta(seconds=90), "PT1M30S"),
        (datetime.timedelta(days=1, hours=2), "P1DT2H"),
        (datetime.timedelta(0), "PT0S"),
    ],
)
def test_iso8601_duration(delta, expected):
    assert asb.iso8601_duration(delta) == expected


# -- quoted values (ServiceControl's connection-string rules) ------------------------------------------


def test_quoted_servicecontrol_value_with_a_semicolon_is_read_whole_and_stripped_before_the_sdk(fake):
    with transport(CONNECTION_STRING + ';TopicName="bundle;1"') as queues:
        assert queues.settings["topic_name"] == "bundle;1"
    assert client(fake).connection_string == CONNECTION_STRING


def test_quoted_shared_access_key_with_a_semicolon_is_refused_by_key_not_cut_apart(fake):
    connection_string = NAMESPACE % ('"x;%s"' % KEY)
    with pytest.raises(TransportConfigurationError) as raised:
        transport(connection_string)
    message = str(raised.value)
    assert "value of 'SharedAccessKey'" in message
    assert "contains ';'" in message
    assert KEY not in message
    assert fake.instances == []


def test_quoted_shared_access_key_without_a_semicolon_reaches_the_sdk_unquoted(fake):
    with transport(NAMESPACE % ("'%s'" % KEY)):
        pass
    assert client(fake).connection_string == CONNECTION_STRING


# -- send through the data-plane client ------------------------------------------------------------


class FakeServiceBusClient:
    """Records how it was made and what each queue sender sent (the real ServiceBusMessage objects)."""

    instances = []

    def __init__(self, fully_qualified_namespace=None, credential=None, **kwargs):
        self.fully_qualified_namespace, self.credential, self.kwargs = fully_qualified_namespace, credential, kwargs
        self.connection_string = None
        self.sent, self.closed, self.failure = [], False, None
        FakeServiceBusClient.instances.append(self)

    @classmethod
    def from_connection_string(cls, conn_str, **kwargs):
        made = cls(**kwargs)
        made.connection_string = conn_str
        return made

    def get_queue_sender(self, queue_name):
        client = self

        class Sender:
            def __enter__(self):
                return self

            def __exit__(self, *exc_info):
                return False

            def send_messages(self, message):
                if client.failure is not None:
                    raise client.failure
                client.sent.append((queue_name, message))

        return Sender()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.closed = True
        return False


@pytest.fixture
def sender(fake, monkeypatch):
    FakeServiceBusClient.instances = []
    monkeypatch.setattr(asb, "ServiceBusClient", FakeServiceBusClient)
    return FakeServiceBusClient


PROBE_HEADERS = {
    "NServiceBus.MessageId": "6f1c2d3e",
    "NServiceBus.CorrelationId": "corr-1",
    "NServiceBus.ContentType": "application/json",
    "NServiceBus.ReplyToAddress": "Sales",
    "NServiceBus.ExceptionInfo.StackTrace": "é" * 20000,
}


def test_send_builds_the_servicebus_message_nservicebus_sends(fake, sender):
    with transport() as bus:
        client(fake).queues["error"] = queue_properties("error")
        result = bus.send("error", Message("6f1c2d3e", PROBE_HEADERS, b'{"a":1}'))
    (made,) = sender.instances
    assert made.connection_string == CONNECTION_STRING and made.closed is True
    assert made.kwargs == {"retry_total": asb.RETRY_TOTAL, "retry_backoff_factor": 0.5}
    ((queue, message),) = made.sent
    assert queue == "error"
    assert b"".join(message.body) == b'{"a":1}'
    # A new GUID as MessageId, not the NServiceBus id.
    assert message.message_id == result["native_message_id"] != "6f1c2d3e"
    assert len(message.message_id) == 36
    assert (message.correlation_id, message.content_type, message.reply_to) == ("corr-1", "application/json", "Sales")
    # Every header as an application property; the stack trace cut to 30719 UTF-8 bytes on a character boundary.
    trace = message.application_properties["NServiceBus.ExceptionInfo.StackTrace"]
    assert trace == "é" * 15359 and len(trace.encode("utf-8")) == 30718
    assert (
        dict(message.application_properties, **{"NServiceBus.ExceptionInfo.StackTrace": "é" * 20000}) == PROBE_HEADERS
    )
    assert result["headers"]["NServiceBus.ExceptionInfo.StackTrace"] == trace
    assert result["commands"] == [
        "send_messages error MessageId=%s (5 application properties, 7 bytes)" % message.message_id
    ]


def test_send_in_check_mode_and_to_a_missing_queue_sends_nothing(fake, sender):
    with transport() as bus:
        with pytest.raises(TransportError, match="does not exist on NetStandardAzureServiceBus"):
            bus.send("error", Message("1", {}, b""))
        client(fake).queues["error"] = queue_properties("error")
        dry = bus.send("error", Message("1", {}, b""), check_mode=True)
    assert sender.instances == []
    assert dry["native_message_id"] is None and dry["commands"] == [
        "send_messages error MessageId=<new GUID> (0 application properties, 0 bytes)"
    ]


def test_send_over_websockets_and_hierarchy_namespace(fake, sender):
    with transport(CONNECTION_STRING + ";TransportType=AmqpWebSockets;HierarchyNamespace=prod") as bus:
        client(fake).queues["prod/error"] = queue_properties("prod/error")
        bus.send("error", Message("1", {}, b""))
    (made,) = sender.instances
    assert made.kwargs["transport_type"] == asb.TransportType.AmqpOverWebsocket
    assert made.sent[0][0] == "prod/error"


def test_a_failed_send_is_reported_without_the_key(fake, sender):
    def failing(*args, **kwargs):
        made = FakeServiceBusClient(*args, **kwargs)
        made.failure = ClientAuthenticationError("Unauthorized: SharedAccessKey=%s" % KEY)
        return made

    sender.from_connection_string = staticmethod(lambda conn_str, **kwargs: failing(**kwargs))
    with transport() as bus:
        client(fake).queues["error"] = queue_properties("error")
        with pytest.raises(TransportError) as error:
            bus.send("error", Message("1", {}, b""))
    assert "send_messages for queue 'error' failed" in str(error.value)
    assert KEY not in str(error.value)
