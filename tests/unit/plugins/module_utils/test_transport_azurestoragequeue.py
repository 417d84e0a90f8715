# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure Storage Queues transport: ServiceControl's name sanitizer, connection string, and the queue
operations against a fake QueueServiceClient (the live Azurite run is in tests/functional)."""

from __future__ import annotations

import base64
import hashlib
import json
import types

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
)

from ansible_collections.servicecontrol.platform.plugins.module_utils import (
    _transport_azurestoragequeue as asq,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._messages import Message
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    TransportConfigurationError,
    TransportDependencyError,
    TransportError,
    open_transport,
)

ACCOUNT_KEY = "c2VjcmV0LWFjY291bnQta2V5LXRoYXQtbXVzdC1ub3QtbGVhaw=="
STORAGE = "DefaultEndpointsProtocol=https;AccountName=scaccount;AccountKey=%s;EndpointSuffix=core.windows.net" % (
    ACCOUNT_KEY
)


def transport(connection_string=STORAGE, **options):
    return open_transport("AzureStorageQueue", connection_string, options)


def dotnet_guid(digest):
    """System.Guid(byte[]).ToString(): Data1 (4 bytes), Data2 and Data3 (2 bytes each) little-endian, then 8 bytes."""
    data1 = int.from_bytes(digest[0:4], "little")
    data2 = int.from_bytes(digest[4:6], "little")
    data3 = int.from_bytes(digest[6:8], "little")
    return "%08x-%04x-%04x-%s-%s" % (data1, data2, data3, digest[8:10].hex(), digest[10:16].hex())


# -- BackwardsCompatibleQueueNameSanitizer --------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("error", "error"),
        ("audit", "audit"),
        ("error_backup", "error-backup"),
        ("audit_backup", "audit-backup"),
        ("error.log", "error-log"),
        ("Particular.ServiceControl", "particular-servicecontrol"),
        ("Particular.ServiceControl.Audit", "particular-servicecontrol-audit"),
        ("Particular.ServiceControl.Audit.Errors", "particular-servicecontrol-audit-errors"),
        ("Particular.ServiceControl.staging", "particular-servicecontrol-staging"),
        ("a..b__c", "a-b-c"),
        ("UPPER-Case", "upper-case"),
        ("q" * 63, "q" * 63),
    ],
)
def test_sanitizer_table(address, expected):
    assert asq.sanitize_queue_name(address) == expected


def test_long_name_gets_the_md5_guid_exactly_as_servicecontrol():
    # Sanitised it is 78 characters, so it is shortened: the first 26 characters ("particular-servicecontrol-")
    # lose the trailing '-', then '-' and the MD5 of the lower-cased original as a .NET GUID string.
    # md5("particular.servicecontrol.monitoring.someverylongendpointnamethatgoeson.errors")
    #   = 39c21cc93035f22713036450917a2066 -> Guid c91cc239-3530-27f2-1303-6450917a2066 (computed with md5sum).
    address = "Particular.ServiceControl.Monitoring.SomeVeryLongEndpointNameThatGoesOn.Errors"
    assert asq.sanitize_queue_name(address) == "particular-servicecontrol-c91cc239-3530-27f2-1303-6450917a2066"


@pytest.mark.parametrize(
    "address",
    ["a" * 64, "Endpoint.With.A.Name.Long.Enough.To.Need.Hashing.By.ServiceControl", "x-" * 40],
)
def test_long_names_follow_the_rule(address):
    lowered = address.lower()
    sanitized = asq.sanitize_queue_name(address)
    digest = hashlib.md5(lowered.encode("utf-8")).digest()  # noqa: S324
    short = lowered.replace(".", "-")[:26].strip("-")
    assert sanitized == "%s-%s" % (short, dotnet_guid(digest))
    assert len(sanitized) <= 63
    assert asq.azure_queue_name_problem(sanitized) is None


def test_exactly_63_sanitised_characters_are_not_hashed():
    assert asq.sanitize_queue_name("A." * 31 + "b") == "a-" * 31 + "b"


def test_physical_name_accepts_the_servicecontrol_queues():
    names = ["error", "audit", "error_backup", "audit_backup", "error.log", "Particular.ServiceControl.Audit"]
    assert transport().validate_names(names) == {
        "error": "error",
        "audit": "audit",
        "error_backup": "error-backup",
        "audit_backup": "audit-backup",
        "error.log": "error-log",
        "Particular.ServiceControl.Audit": "particular-servicecontrol-audit",
    }


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("ab", "3 to 63 characters"),
        ("q", "3 to 63 characters"),
        (".error", "start and end"),
        ("error.", "start and end"),
        ("_x_", "start and end"),
        ("...", "3 to 63 characters"),
    ],
)
def test_physical_name_rejects_results_azure_refuses(address, why):
    with pytest.raises(InvalidQueueNameError, match=why) as raised:
        transport().physical_name(address)
    assert "'%s'" % address in str(raised.value)


@pytest.mark.parametrize("address", ["", "  ", None])
def test_physical_name_rejects_empty(address):
    with pytest.raises(InvalidQueueNameError, match="must not be empty"):
        transport().physical_name(address)


def test_account_alias_form_is_rejected():
    with pytest.raises(InvalidQueueNameError, match="account alias"):
        transport().physical_name("error@other")


def test_names_that_sanitise_to_the_same_queue_collide():
    with pytest.raises(InvalidQueueNameError, match=r"'error\.log' and 'Error_Log' both map"):
        transport().validate_names(["error.log", "Error_Log"])


# -- connection string --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "connection_string",
    [
        STORAGE + ";Subscriptions Table=subs",
        "Subscriptions Table=subs;" + STORAGE,
        STORAGE + "; subscriptions table = subs ;",
    ],
)
def test_subscriptions_table_is_stripped_before_the_sdk(connection_string):
    storage, table = asq.split_connection_string(connection_string)
    assert storage == STORAGE
    assert table == "subs"


def test_connection_string_without_storage_settings_is_rejected():
    with pytest.raises(TransportConfigurationError, match="no storage account settings"):
        transport("Subscriptions Table=subs")


@pytest.mark.parametrize("connection_string", ["", None, "AccountName=x;NotAKeyValue"])
def test_malformed_connection_strings_fail_clearly(connection_string):
    with pytest.raises(TransportConfigurationError) as raised:
        transport(connection_string)
    assert "AzureStorageQueue" in str(raised.value)


def test_no_transport_specific_options():
    with pytest.raises(TransportConfigurationError, match="sqs_message_retention_period"):
        transport(sqs_message_retention_period=120)


# -- operations against a fake QueueServiceClient ------------------------------------------------------


class FakeProperties:
    def __init__(self, count, metadata):
        self.approximate_message_count = count
        self.metadata = metadata


class FakeQueueClient:
    def __init__(self, service, name):
        self.service, self.name = service, name

    def get_queue_properties(self):
        self.service.calls.append(("get_queue_properties", self.name))
        if self.service.failure:
            raise self.service.failure
        if self.name not in self.service.queues:
            raise ResourceNotFoundError("The specified queue does not exist.")
        count, metadata = self.service.queues[self.name]
        return FakeProperties(count, metadata)

    def create_queue(self, **kwargs):
        self.service.calls.append(("create_queue", self.name, kwargs))
        if self.service.create_error:
            raise self.service.create_error
        self.service.queues.setdefault(self.name, (0, {}))

    def delete_queue(self):
        self.service.calls.append(("delete_queue", self.name))
        self.service.queues.pop(self.name)

    def send_message(self, content, **kwargs):
        self.service.calls.append(("send_message", self.name, content, kwargs))
        return types.SimpleNamespace(id="native-%d" % len(self.service.calls))


class FakeService:
    instances = []

    def __init__(self, connection_string, kwargs):
        self.connection_string, self.kwargs = connection_string, kwargs
        self.queues, self.calls = {}, []
        self.failure = self.create_error = None
        self.closed = False

    @classmethod
    def from_connection_string(cls, connection_string, **kwargs):
        service = cls(connection_string, kwargs)
        cls.instances.append(service)
        return service

    def get_queue_client(self, name):
        return FakeQueueClient(self, name)

    def close(self):
        self.closed = True


@pytest.fixture
def fake(monkeypatch):
    FakeService.instances = []
    monkeypatch.setattr(asq, "QueueServiceClient", FakeService)
    return FakeService


def test_one_client_with_short_retries_and_the_timeout(fake):
    with transport(STORAGE + ";Subscriptions Table=subs", timeout=7, validate_certs=False) as queues:
        queues.describe("error")
        queues.describe("audit")
    assert len(fake.instances) == 1
    service = fake.instances[0]
    assert service.connection_string == STORAGE
    assert service.kwargs["connection_timeout"] == 7
    assert service.kwargs["read_timeout"] == 7
    assert service.kwargs["connection_verify"] is False
    assert service.kwargs["retry_policy"].total_retries == asq.RETRY_TOTAL
    assert service.closed is True


def test_ca_path_is_used_for_verification(fake, tmp_path):
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    with transport(ca_path=str(ca_file)):
        pass
    assert fake.instances[0].kwargs["connection_verify"] == str(ca_file)


def test_ensure_creates_without_metadata_then_is_idempotent(fake):
    with transport() as queues:
        service = fake.instances[0]
        check = queues.ensure("error.log", check_mode=True)
        assert not any(call[0] == "create_queue" for call in service.calls)
        real = queues.ensure("error.log")
        again = queues.ensure("error.log")
    assert check == real
    assert real["action"] == "created" and real["changed"] is True
    assert real["commands"] == ["Create Queue error-log"]
    assert real["after"] == {
        "name": "error.log",
        "physical_name": "error-log",
        "exists": True,
        "depth": 0,
        "properties": {"metadata": {}},
    }
    assert [call for call in service.calls if call[0] == "create_queue"] == [("create_queue", "error-log", {})]
    assert again["action"] == "existed" and again["changed"] is False
    assert again["before"] == again["after"] == real["after"]


def test_existing_queue_with_metadata_is_left_alone(fake):
    with transport() as queues:
        fake.instances[0].queues["audit"] = (4, {"owner": "ops"})
        result = queues.ensure("audit")
    assert result["action"] == "existed" and result["changed"] is False
    assert result["before"]["depth"] == 4
    assert result["before"]["properties"] == {"metadata": {"owner": "ops"}}


def test_queue_being_deleted_gives_a_clear_error(fake):
    with transport() as queues:
        error = ResourceExistsError("The specified queue is being deleted.")
        error.error_code = "QueueBeingDeleted"
        fake.instances[0].create_error = error
        with pytest.raises(TransportError, match="still being deleted"):
            queues.ensure("error")


def test_queue_created_concurrently_is_accepted(fake):
    with transport() as queues:
        error = ResourceExistsError("The specified queue already exists.")
        error.error_code = "QueueAlreadyExists"
        fake.instances[0].create_error = error
        assert queues.ensure("error")["action"] == "created"


def test_delete_and_depth(fake):
    with transport() as queues:
        service = fake.instances[0]
        service.queues["particular-servicecontrol-audit"] = (3, {})
        assert queues.depth("Particular.ServiceControl.Audit") == 3
        assert queues.depth("missing") is None
        check = queues.delete("Particular.ServiceControl.Audit", check_mode=True)
        assert "particular-servicecontrol-audit" in service.queues
        real = queues.delete("Particular.ServiceControl.Audit")
        again = queues.delete("Particular.ServiceControl.Audit")
    assert check == real
    assert real["action"] == "deleted" and real["commands"] == ["Delete Queue particular-servicecontrol-audit"]
    assert "particular-servicecontrol-audit" not in service.queues
    assert again["action"] == "absent" and again["changed"] is False


def test_errors_name_the_queue_and_hide_the_key(fake):
    with transport() as queues:
        fake.instances[0].failure = ServiceRequestError(
            "Connection to https://scaccount.queue.core.windows.net/error?sig=abc123 failed with key %s" % ACCOUNT_KEY
        )
        with pytest.raises(TransportError) as raised:
            queues.describe("error")
    message = str(raised.value)
    assert "'error'" in message and "ServiceRequestError" in message
    assert ACCOUNT_KEY not in message and "abc123" not in message


def test_authentication_failure_says_what_to_check(fake):
    with transport() as queues:
        fake.instances[0].failure = ClientAuthenticationError("Server failed to authenticate the request.")
        with pytest.raises(TransportError, match="check AccountName and AccountKey"):
            queues.describe("error")


def test_missing_sdk_is_a_dependency_error_naming_the_library(monkeypatch):
    monkeypatch.setattr(asq, "HAS_AZURE_STORAGE_QUEUE", False)
    monkeypatch.setattr(asq, "AZURE_STORAGE_QUEUE_IMPORT_ERROR", "ModuleNotFoundError: No module named 'azure'")
    with pytest.raises(TransportDependencyError) as raised:
        with transport():
            pass
    assert raised.value.library == "azure-storage-queue"
    assert raised.value.import_error == "ModuleNotFoundError: No module named 'azure'"


# -- quoted values (ServiceControl's connection-string rules) ------------------------------------------


def test_quoted_subscriptions_table_with_a_semicolon_is_kept_whole_and_never_reaches_the_sdk(fake):
    with transport(STORAGE + ';Subscriptions Table="subs;archive"') as queues:
        assert queues.subscriptions_table == "subs;archive"
    # The storage SDK gets exactly the storage settings: nothing of the table value, nothing cut apart.
    assert fake.instances[0].connection_string == STORAGE


def test_quoted_account_key_with_a_semicolon_is_refused_by_key_not_cut_apart(fake):
    key = "abc;" + ACCOUNT_KEY
    with pytest.raises(TransportConfigurationError) as raised:
        transport('DefaultEndpointsProtocol=https;AccountName=scaccount;AccountKey="%s"' % key)
    message = str(raised.value)
    assert "value of 'AccountKey'" in message
    assert "contains ';'" in message
    assert ACCOUNT_KEY not in message and "abc;" not in message
    assert fake.instances == []  # refused before any client exists


def test_quoted_value_without_a_semicolon_reaches_the_sdk_unquoted(fake):
    with transport("DefaultEndpointsProtocol=https;AccountName='scaccount';AccountKey=%s" % ACCOUNT_KEY):
        pass
    assert fake.instances[0].connection_string == (
        "DefaultEndpointsProtocol=https;AccountName=scaccount;AccountKey=%s" % ACCOUNT_KEY
    )


# -- send ---------------------------------------------------------------------------------------------

PROBE_HEADERS = {
    "NServiceBus.MessageId": "6f1c2d3e",
    "NServiceBus.MessageIntent": "Send",
    "NServiceBus.CorrelationId": "corr-1",
    "NServiceBus.ReplyToAddress": "sales",
}


def test_the_message_wrapper_is_what_the_dispatcher_builds():
    text = asq.message_text(Message("6f1c2d3e", PROBE_HEADERS, b'{"a":1}'))
    # Base64 of the System.Text.Json wrapper, fields in declaration order, MessageIntent as a number.
    assert base64.b64decode(text).decode("utf-8") == (
        '{"IdForCorrelation":null,"Id":"6f1c2d3e","MessageIntent":1,"ReplyToAddress":"sales",'
        '"TimeToBeReceived":"00:00:00","Headers":{"NServiceBus.MessageId":"6f1c2d3e","NServiceBus.MessageIntent":"Send",'
        '"NServiceBus.CorrelationId":"corr-1","NServiceBus.ReplyToAddress":"sales"},"Body":"eyJhIjoxfQ==",'
        '"CorrelationId":"corr-1","Recoverable":false}'
    )


@pytest.mark.parametrize(
    ("intent", "number"),
    [
        ("Send", 1),
        ("publish", 2),
        ("Subscribe", 3),
        ("UNSUBSCRIBE", 4),
        ("Reply", 5),
        ("5", 5),
        ("Nonsense", 0),
        (None, 0),
    ],
)
def test_message_intent_is_parsed_like_enum_try_parse(intent, number):
    headers = {} if intent is None else {"NServiceBus.MessageIntent": intent}
    assert asq.message_intent(headers) == number


def test_send_puts_the_wrapper_with_thirty_days_to_live(fake):
    with transport() as queues:
        fake.instances[0].queues["error"] = (0, {})
        dry = queues.send("error", Message("6f1c2d3e", PROBE_HEADERS, b"{}"), check_mode=True)
        result = queues.send("error", Message("6f1c2d3e", PROBE_HEADERS, b"{}"))
    sends = [call for call in fake.instances[0].calls if call[0] == "send_message"]
    ((_send, name, content, kwargs),) = sends
    assert (name, kwargs) == ("error", {"time_to_live": 2592000})
    assert json.loads(base64.b64decode(content))["Headers"] == PROBE_HEADERS
    assert result["native_message_id"] == "native-%d" % len(fake.instances[0].calls)
    assert dry["native_message_id"] is None and dry["commands"] == result["commands"]
    assert result["commands"] == [
        "Put Message error time-to-live=2592000s (MessageWrapper Id=6f1c2d3e, %d characters of base64)" % len(content)
    ]


def test_send_to_a_missing_queue_or_too_big_a_message_sends_nothing(fake):
    with transport() as queues:
        with pytest.raises(TransportError, match="does not exist on AzureStorageQueue"):
            queues.send("error", Message("1", {}, b""))
        fake.instances[0].queues["error"] = (0, {})
        with pytest.raises(TransportError, match="the limit is 65536"):
            queues.send("error", Message("1", {}, b"x" * 49152))
    assert not [call for call in fake.instances[0].calls if call[0] == "send_message"]
