# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The message builder: the headers of a failed, audit or custom message, and ServiceControl's rules for them."""

from __future__ import annotations

import datetime
import json
import re

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils import _messages as m

NOW = datetime.datetime(2026, 8, 21, 10, 15, 30, 123456, tzinfo=datetime.timezone.utc)
WIRE_NOW = "2026-08-21 10:15:30:123456 Z"
MESSAGE_ID = "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e"
WIRE_FORMAT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{6} Z$")

# What NServiceBus writes on every message it sends (docs/reference/transports.md §9).
ORIGINAL = {
    "NServiceBus.MessageId",
    "NServiceBus.MessageIntent",
    "NServiceBus.ConversationId",
    "NServiceBus.CorrelationId",
    "NServiceBus.ReplyToAddress",
    "NServiceBus.OriginatingEndpoint",
    "NServiceBus.OriginatingMachine",
    "$.diagnostics.originating.hostid",
    "NServiceBus.ContentType",
    "NServiceBus.EnclosedMessageTypes",
    "NServiceBus.Version",
    "NServiceBus.TimeSent",
}
HOST = {
    "NServiceBus.ProcessingEndpoint",
    "NServiceBus.ProcessingMachine",
    "$.diagnostics.hostid",
    "$.diagnostics.hostdisplayname",
}
# Every fault header recoverability adds for an exception with an inner exception, help link, source and data.
FAULT = {
    "NServiceBus.FailedQ",
    "NServiceBus.ExceptionInfo.ExceptionType",
    "NServiceBus.ExceptionInfo.InnerExceptionType",
    "NServiceBus.ExceptionInfo.HelpLink",
    "NServiceBus.ExceptionInfo.Message",
    "NServiceBus.ExceptionInfo.Source",
    "NServiceBus.ExceptionInfo.StackTrace",
    "NServiceBus.TimeOfFailure",
    "NServiceBus.ExceptionInfo.Data.Message type",
    "NServiceBus.ExceptionInfo.Data.Handler type",
    "NServiceBus.ExceptionInfo.Data.Handler start time",
    "NServiceBus.ExceptionInfo.Data.Handler failure time",
    "NServiceBus.ExceptionInfo.Data.Handler canceled",
    "NServiceBus.ExceptionInfo.Data.Message ID",
    "NServiceBus.ExceptionInfo.Data.Transport message ID",
    "NServiceBus.ExceptionInfo.Data.Pipeline canceled",
}
PROBE = {"ServiceControl.Platform.Probe"}


def failed(**options):
    return m.build_message("failed", message_id=MESSAGE_ID, now=NOW, machine="WEB01", **options)


# -- .NET conventions -------------------------------------------------------------------------------


def test_wire_time_is_nservicebus_format_in_utc():
    assert m.wire_time(NOW) == WIRE_NOW
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    assert m.wire_time(datetime.datetime(2026, 8, 21, 12, 15, 30, 5, tzinfo=plus_two)) == "2026-08-21 10:15:30:000005 Z"
    assert m.wire_time(datetime.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02 03:04:05:000000 Z"


def test_deterministic_guid_reads_the_md5_as_a_dotnet_guid():
    # MD5("") = d41d8cd98f00b204e9800998ecf8427e; .NET's Guid(byte[]) reverses the first three fields.
    assert m.deterministic_guid("") == "d98c1dd4-008f-04b2-e980-0998ecf8427e"
    assert m.deterministic_guid("a", "b") == m.deterministic_guid("ab")


# -- failed -----------------------------------------------------------------------------------------


def test_failed_message_has_every_fault_header_and_the_original_ones():
    message = failed()
    assert set(message.headers) == ORIGINAL | HOST | FAULT | PROBE
    headers = message.headers
    assert message.message_id == headers["NServiceBus.MessageId"] == MESSAGE_ID
    assert headers["NServiceBus.FailedQ"] == "ServiceControl.Platform.Probe"
    assert headers["NServiceBus.ProcessingEndpoint"] == headers["NServiceBus.OriginatingEndpoint"]
    assert headers["NServiceBus.ExceptionInfo.ExceptionType"] == "ServiceControl.Platform.ProbeException"
    assert headers["NServiceBus.ExceptionInfo.InnerExceptionType"] == "System.InvalidOperationException"
    assert headers["NServiceBus.ExceptionInfo.Message"].startswith("Probe failure sent by servicecontrol.platform")
    # The stack trace is Exception.ToString(): type, message, the inner exception, frames.
    assert headers["NServiceBus.ExceptionInfo.StackTrace"].startswith(
        "ServiceControl.Platform.ProbeException: Probe failure"
    )
    assert " ---> System.InvalidOperationException: " in headers["NServiceBus.ExceptionInfo.StackTrace"]
    assert headers["NServiceBus.TimeOfFailure"] == headers["NServiceBus.TimeSent"] == WIRE_NOW
    assert headers["NServiceBus.ExceptionInfo.Data.Handler canceled"] == "False"
    assert headers["NServiceBus.ExceptionInfo.Data.Message type"] == "ServiceControl.Platform.ProbeMessage"
    assert headers["NServiceBus.MessageIntent"] == "Send"
    assert headers["NServiceBus.ContentType"] == "application/json"
    assert headers["NServiceBus.ProcessingMachine"] == headers["NServiceBus.OriginatingMachine"] == "WEB01"
    assert headers["$.diagnostics.hostdisplayname"] == "WEB01"
    assert re.match(r"^[0-9a-f]{32}$", headers["$.diagnostics.hostid"])
    assert headers["$.diagnostics.hostid"] == headers["$.diagnostics.originating.hostid"]
    assert headers["ServiceControl.Platform.Probe"] == MESSAGE_ID
    assert json.loads(message.body) == {"Probe": MESSAGE_ID, "SentBy": "servicecontrol.platform"}
    assert m.import_problems("failed", headers) == []


def test_every_time_header_is_in_wire_format():
    message = m.build_message("failed")
    times = [key for key in message.headers if key.endswith(("Time", "TimeSent", "TimeOfFailure", " time"))]
    assert len(times) == 4
    assert all(WIRE_FORMAT.match(message.headers[key]) for key in times)


def test_endpoints_and_failed_queue_fill_their_headers():
    headers = failed(endpoint="Sales", processing_endpoint="Billing", failed_queue="Billing@WEB01").headers
    assert headers["NServiceBus.OriginatingEndpoint"] == headers["NServiceBus.ReplyToAddress"] == "Sales"
    assert headers["NServiceBus.ProcessingEndpoint"] == "Billing"
    assert headers["NServiceBus.FailedQ"] == "Billing@WEB01"


def test_exception_message_is_cut_like_nservicebus():
    assert len(failed().headers["NServiceBus.ExceptionInfo.Message"]) <= m.EXCEPTION_MESSAGE_LIMIT


# -- ServiceControl's unique id and import rules (docs/reference/servicecontrol.md §6) -------------


def test_unique_id_is_the_deterministic_guid_of_message_id_and_processing_endpoint():
    headers = failed(processing_endpoint="Billing").headers
    assert m.unique_message_id(headers) == m.deterministic_guid(MESSAGE_ID + "Billing")
    assert m.unique_message_id(dict(headers, **{"ServiceControl.Retry.UniqueMessageId": "kept"})) == "kept"


@pytest.mark.parametrize(
    ("headers", "endpoint"),
    [
        ({"NServiceBus.ProcessingEndpoint": "A", "NServiceBus.FailedQ": "B@m"}, "A"),
        ({"NServiceBus.FailedQ": "B@machine", "NServiceBus.ReplyToAddress": "C"}, "B"),
        ({"NServiceBus.FailedQ": '"public"."Sales"'}, '"public"."Sales"'),
        ({"NServiceBus.ReplyToAddress": "C@machine"}, "C"),
        ({}, None),
    ],
)
def test_processing_endpoint_follows_servicecontrol(headers, endpoint):
    assert m.processing_endpoint_name(headers) == endpoint


def test_without_failed_q_servicecontrol_stores_a_failed_import():
    headers = failed(headers={"NServiceBus.FailedQ": None}).headers
    assert "NServiceBus.FailedQ" not in headers
    (problem,) = m.import_problems("failed", headers)
    assert "no NServiceBus.FailedQ header" in problem and "failed import" in problem
    # ServiceControl still derives the id from the processing endpoint header.
    assert m.unique_message_id(headers) == m.deterministic_guid(MESSAGE_ID + "ServiceControl.Platform.Probe")


def test_without_message_id_servicecontrol_stores_a_failed_import():
    headers = failed(headers={"NServiceBus.MessageId": None}).headers
    (problem,) = m.import_problems("failed", headers)
    assert "no NServiceBus.MessageId header" in problem
    assert m.unique_message_id(headers) is None


def test_audit_without_any_endpoint_header_cannot_be_imported():
    headers = m.build_message(
        "audit",
        message_id=MESSAGE_ID,
        headers={
            "NServiceBus.ProcessingEndpoint": None,
            "NServiceBus.ReplyToAddress": None,
        },
    ).headers
    (problem,) = m.import_problems("audit", headers)
    assert "names the processing endpoint" in problem
    assert m.unique_message_id(headers) is None


# -- audit and custom --------------------------------------------------------------------------------


def test_audit_message_has_the_processing_headers_and_no_fault_headers():
    message = m.build_message("audit", message_id=MESSAGE_ID, now=NOW, machine="WEB01", endpoint="Sales")
    assert (
        set(message.headers)
        == ORIGINAL | HOST | {"NServiceBus.ProcessingStarted", "NServiceBus.ProcessingEnded"} | PROBE
    )
    assert (
        message.headers["NServiceBus.ProcessingStarted"] == message.headers["NServiceBus.ProcessingEnded"] == WIRE_NOW
    )
    assert message.headers["NServiceBus.ProcessingEndpoint"] == "Sales"
    assert m.import_problems("audit", message.headers) == []


def test_custom_message_carries_only_its_id_the_marker_and_the_given_headers():
    message = m.build_message("custom", message_id=MESSAGE_ID, headers={"X": 1, "Y": True}, body="héllo")
    assert message.headers == {
        "NServiceBus.MessageId": MESSAGE_ID,
        "ServiceControl.Platform.Probe": MESSAGE_ID,
        "X": "1",
        "Y": "True",
    }
    assert message.body == "héllo".encode()
    assert m.import_problems("custom", message.headers) == []


def test_probe_marker_can_be_left_out_and_ids_are_new_guids():
    first, second = m.build_message("failed", probe=False), m.build_message("failed", probe=False)
    assert "ServiceControl.Platform.Probe" not in first.headers
    assert first.message_id != second.message_id
    assert re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", first.message_id)


# -- refusals ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("audit", {"failed_queue": "Sales"}, "failed_queue do not apply to a message of kind 'audit'"),
        ("custom", {"endpoint": "Sales", "processing_endpoint": "B"}, "endpoint, processing_endpoint do not apply"),
        ("failed", {"endpoint": " "}, "endpoint is empty"),
        ("failed", {"message_id": " "}, "message_id is empty"),
        ("failed", {"headers": {"NServiceBus.MessageId": "other"}}, "give the id with message_id"),
        ("failed", {"headers": {" ": "x"}}, "header name in headers is empty"),
        ("poison", {}, "Unknown message kind 'poison'"),
    ],
)
def test_contradicting_options_are_refused(kind, options, message):
    with pytest.raises(m.MessageError, match=re.escape(message)):
        m.build_message(kind, **options)


def test_the_same_message_id_in_headers_is_accepted():
    message = failed(headers={"NServiceBus.MessageId": MESSAGE_ID, "NServiceBus.Retries": 2})
    assert message.headers["NServiceBus.Retries"] == "2"
