"""Pieces both lab instance kinds share: ids, NServiceBus header parsing, ServiceControl's JSON shapes.

Everything here is written from the behaviour described in docs/reference/servicecontrol.md and checked
against ServiceControl's source; nothing is shared with the collection (design: "a separate house").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from typing import Any

UTC = dt.timezone.utc
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
#: The key under which a stored document keeps its expiry time (RavenDB: the ``@expires`` metadata), see
#: lab.instance.retention.
EXPIRES = "@expires"

# NServiceBus header names.
MESSAGE_ID = "NServiceBus.MessageId"
FAILED_Q = "NServiceBus.FailedQ"
TIME_OF_FAILURE = "NServiceBus.TimeOfFailure"
TIME_SENT = "NServiceBus.TimeSent"
PROCESSING_ENDPOINT = "NServiceBus.ProcessingEndpoint"
PROCESSING_MACHINE = "NServiceBus.ProcessingMachine"
PROCESSING_STARTED = "NServiceBus.ProcessingStarted"
PROCESSING_ENDED = "NServiceBus.ProcessingEnded"
REPLY_TO = "NServiceBus.ReplyToAddress"
ENCLOSED_TYPES = "NServiceBus.EnclosedMessageTypes"
MESSAGE_INTENT = "NServiceBus.MessageIntent"
CONTROL_MESSAGE = "NServiceBus.ControlMessage"
CONVERSATION_ID = "NServiceBus.ConversationId"
CONTENT_TYPE = "NServiceBus.ContentType"
TTBR = "NServiceBus.TimeToBeReceived"
HOST_ID = "$.diagnostics.hostid"
HOST_DISPLAY_NAME = "$.diagnostics.hostdisplayname"
ORIGINATING_ENDPOINT = "NServiceBus.OriginatingEndpoint"
ORIGINATING_MACHINE = "NServiceBus.OriginatingMachine"
ORIGINATING_HOST_ID = "$.diagnostics.originating.hostid"
ORIGINATING_ADDRESS = "NServiceBus.OriginatingAddress"
EXCEPTION_PREFIX = "NServiceBus.ExceptionInfo."

# ServiceControl retry headers (docs/reference/servicecontrol.md §6).
RETRY_UNIQUE_ID = "ServiceControl.Retry.UniqueMessageId"
RETRY_STAGING_ID = "ServiceControl.Retry.StagingId"
RETRY_ATTEMPT_MESSAGE_ID = "ServiceControl.Retry.Attempt.MessageId"
RETRY_ACK_QUEUE = "ServiceControl.Retry.AcknowledgementQueue"
RETRY_ACK_SENT = "ServiceControl.Retry.AcknowledgementSent"
RETRY_SUCCESSFUL = "ServiceControl.Retry.Successful"
RETRY_ID_LEGACY = "ServiceControl.RetryId"
TARGET_ENDPOINT = "ServiceControl.TargetEndpointAddress"
RETRY_TO = "ServiceControl.RetryTo"

#: Header prefixes dropped from a retried message (HeaderFilter).
RETRY_HEADER_FILTER = (
    "NServiceBus.Retries",
    "NServiceBus.FailedQ",
    "NServiceBus.TimeOfFailure",
    "NServiceBus.ExceptionInfo.",
    "ServiceControl.EditOf",
)


def deterministic_guid(*parts: str | None) -> str:
    """ServiceControl's DeterministicGuid: MD5 over the UTF-8 bytes of the concatenated parts, read as a
    .NET Guid (whose first three fields are little-endian), written in the lower-case "D" form."""
    data = "".join(part or "" for part in parts).encode("utf-8")
    return str(uuid.UUID(bytes_le=hashlib.md5(data).digest()))  # noqa: S324 - an id, not security


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def dotnet_ticks(value: dt.datetime) -> int:
    """DateTime.Ticks: 100-nanosecond intervals since 0001-01-01 (UTC)."""
    delta = value.astimezone(UTC) - dt.datetime(1, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def to_wire(value: dt.datetime) -> str:
    """NServiceBus wire format ``yyyy-MM-dd HH:mm:ss:ffffff Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S:%f Z")


_WIRE = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}):(\d{1,7}) Z$")


def parse_wire(text: str | None) -> dt.datetime | None:
    """Parse an NServiceBus timestamp (wire format, or ISO 8601 as a fallback)."""
    if not text:
        return None
    match = _WIRE.match(text.strip())
    if match:
        year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
        micro = int((match.group(7) + "000000")[:6])
        return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    return parse_iso(text)


def parse_iso(text: str) -> dt.datetime:
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    # Python < 3.11 accepts only 0, 3 or 6 fractional digits; .NET writes up to 7.
    value = re.sub(r"\.(\d+)", lambda m: "." + (m.group(1) + "000000")[:6], value, count=1)
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def json_date(value: dt.datetime | None) -> str | None:
    """A UTC DateTime as System.Text.Json writes it: ISO 8601, trailing fraction zeros trimmed, ``Z``."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += "." + ("%06d" % value.microsecond).rstrip("0")
    return text + "Z"


def compact(**fields: Any) -> dict[str, Any]:
    """An object's JSON: ServiceControl omits null properties (not null dictionary entries)."""
    return {key: value for key, value in fields.items() if value is not None}


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def camel(name: str) -> str:
    """An enum member as ServiceControl's JsonStringEnumConverter(camelCase) writes it."""
    return name[:1].lower() + name[1:]


def build_messages_view(
    unique_id: str, metadata: dict, headers: dict[str, str], processed_at: str | None, status: str
) -> dict:
    """A MessagesView (an ``/api/messages`` item) from a stored message's metadata; the timings the metadata
    lacks (an Error instance records none) are ``00:00:00``."""
    return compact(
        id=unique_id,
        message_id=metadata.get("MessageId"),
        message_type=metadata.get("MessageType"),
        sending_endpoint=metadata.get("SendingEndpoint"),
        receiving_endpoint=metadata.get("ReceivingEndpoint"),
        time_sent=metadata.get("TimeSent"),
        processed_at=processed_at,
        critical_time=metadata.get("CriticalTime", "00:00:00"),
        processing_time=metadata.get("ProcessingTime", "00:00:00"),
        delivery_time=metadata.get("DeliveryTime", "00:00:00"),
        is_system_message=bool(metadata.get("IsSystemMessage", False)),
        conversation_id=metadata.get("ConversationId"),
        headers=[{"key": k, "value": v} for k, v in headers.items()],
        status=status,
        message_intent=metadata.get("MessageIntent", "send"),
        body_url=metadata.get("BodyUrl"),
        body_size=metadata.get("ContentLength", 0),
    )


# ---------------------------------------------------------------- header helpers


def extract_queue(address: str | None) -> str | None:
    if address is None:
        return None
    return address.split("@", 1)[0]


def processing_endpoint_name(headers: dict[str, str]) -> str:
    """ProcessingEndpoint, else the queue part of FailedQ, else of ReplyToAddress (HeaderExtensions)."""
    if PROCESSING_ENDPOINT in headers:
        return headers[PROCESSING_ENDPOINT]
    if FAILED_Q in headers:
        return extract_queue(headers[FAILED_Q])
    if headers.get(REPLY_TO) is not None:
        return extract_queue(headers[REPLY_TO])
    if ENCLOSED_TYPES in headers:
        raise ValueError(
            "No processing endpoint could be determined for message (%s) with EnclosedMessageTypes (%s)"
            % (headers.get(MESSAGE_ID, ""), headers[ENCLOSED_TYPES])
        )
    raise ValueError("No processing endpoint could be determined for message (%s)" % headers.get(MESSAGE_ID, ""))


def unique_message_id(headers: dict[str, str]) -> str:
    """ServiceControl's failed-message id: the retry header, else DeterministicGuid(MessageId + endpoint)."""
    if RETRY_UNIQUE_ID in headers:
        return headers[RETRY_UNIQUE_ID]
    return deterministic_guid(headers.get(MESSAGE_ID), processing_endpoint_name(headers))


def message_intent(headers: dict[str, str]) -> str:
    """MessageIntent enum (Send=1 is the default when absent or unknown), camelCase."""
    names = {
        "send": "send",
        "publish": "publish",
        "subscribe": "subscribe",
        "unsubscribe": "unsubscribe",
        "reply": "reply",
    }
    return names.get(headers.get(MESSAGE_INTENT, "").strip().lower(), "send")


def message_type(headers: dict[str, str]) -> tuple[str | None, bool]:
    """(MessageType, IsSystemMessage) the way MessageTypeEnricher derives them."""
    is_system = CONTROL_MESSAGE in headers
    mtype = None
    if ENCLOSED_TYPES in headers:
        enclosed = headers[ENCLOSED_TYPES]
        mtype = enclosed.split(",")[0] if "," in enclosed else enclosed
        is_system = "NServiceBus.Scheduling.Messages.ScheduledTask" in mtype
    return mtype, is_system


def _queue_and_machine(address: str) -> tuple[str, str | None]:
    queue, at, machine = address.partition("@")
    return (queue, machine) if at else (address, None)


def _guid_or_empty(value: str | None) -> str:
    if not value:
        return EMPTY_GUID
    return str(uuid.UUID(value.strip()))


def sending_endpoint(headers: dict[str, str]) -> dict | None:
    """EndpointDetailsParser.SendingEndpoint."""
    name = headers.get(ORIGINATING_ENDPOINT)
    host = headers.get(ORIGINATING_MACHINE)
    host_id = _guid_or_empty(headers.get(ORIGINATING_HOST_ID))
    if name and host:
        return {"name": name, "host_id": host_id, "host": host}
    if ORIGINATING_ADDRESS in headers:
        queue, machine = _queue_and_machine(headers[ORIGINATING_ADDRESS])
        return compact(name=queue, host_id=host_id, host=machine)
    return None


def receiving_endpoint(headers: dict[str, str], for_errors: bool = True) -> dict | None:
    """EndpointDetailsParser.ReceivingEndpoint. The Error instance's variant fills a missing host with
    "unknown" and derives a host id from name + host; the audit variant does neither."""
    host_id = _guid_or_empty(headers.get(HOST_ID))
    host = headers.get(HOST_DISPLAY_NAME) if HOST_DISPLAY_NAME in headers else headers.get(PROCESSING_MACHINE)
    name = headers.get(PROCESSING_ENDPOINT)
    if name and host:
        return {"name": name, "host_id": host_id, "host": host}
    if FAILED_Q in headers:
        queue, machine = _queue_and_machine(headers[FAILED_Q])
        name = name or queue
        if for_errors:
            host = host or machine or "unknown"
            if name:
                if host_id == EMPTY_GUID:
                    host_id = deterministic_guid(name, host)
                return {"name": name, "host_id": host_id, "host": host}
        else:
            host = host or machine
            if name and host:
                return {"name": name, "host_id": host_id, "host": host}
    return None


# ---------------------------------------------------------------- failure classification

# A .NET (or Mono) stack-trace frame: "   at Type.Method(Params) [in File:line N]".
_FRAME = re.compile(
    r"^[ \t]*\w+[ \t]+"
    r"(?P<type>[^ \t]+)\.(?P<method>[^ \t]+?)[ \t]*"
    r"(?P<params>\(([ \t]*\)|.+?[ \t]+.+?(,[ \t]*.+?[ \t]+.+?)*\)))"
    r"([ \t]+(\w+[ \t]+(([a-z]:|/).+?):\w+[ \t]+[0-9]+[^\w\s]?"
    r"|\[0x[0-9a-f]+\][ \t]+\w+[ \t]+<[^>]+>:[0-9]+))?"
    r"\s*$",
    re.IGNORECASE | re.MULTILINE,
)

CLASSIFIERS = (
    "Exception Type and Stack Trace",
    "Message Type",
    "Endpoint Address",
    "Endpoint Instance",
    "Endpoint Name",
)


def classify_exception(exception: dict | None) -> str | None:
    """ "Exception Type and Stack Trace": ``<type>: <first frame's Type.Method(params)>``."""
    if exception is None:
        return None
    exc_type = exception.get("exception_type")
    stack = exception.get("stack_trace")
    if not stack or not stack.strip():
        return "%s: No stacktrace" % (exc_type or "")
    message = exception.get("message")
    if message:
        # The header holds Exception.ToString(), message included; drop it before parsing.
        stack = stack.replace(message, "")
    match = _FRAME.search(stack)
    if match:
        return "%s: %s.%s%s" % (exc_type or "", match.group("type"), match.group("method"), match.group("params"))
    return "%s: No stacktrace" % (exc_type or "")


def failure_groups(mtype: str | None, failure: dict, headers: dict[str, str]) -> list[dict]:
    """The five classifiers in ServiceControl's registration order; group id = DeterministicGuid(classifier + title)."""
    instance_id = headers.get("NServiceBus.Metric.InstanceId")
    if instance_id is None:
        endpoint = receiving_endpoint(headers)
        instance_id = endpoint["host_id"].replace("-", "") if endpoint else None
    endpoint = receiving_endpoint(headers)
    titles = (
        classify_exception(failure.get("exception")),
        mtype,
        failure.get("address_of_failing_endpoint"),
        instance_id,
        endpoint["name"] if endpoint else None,
    )
    return [
        {"id": deterministic_guid(classifier, title), "title": title, "type": classifier}
        for classifier, title in zip(CLASSIFIERS, titles)
        if title is not None
    ]


def parse_failure(headers: dict[str, str]) -> dict:
    """FailedMessageFactory.ParseFailureDetails; raises like ServiceControl when FailedQ is missing."""
    exception = compact(
        exception_type=headers.get(EXCEPTION_PREFIX + "ExceptionType"),
        message=headers.get(EXCEPTION_PREFIX + "Message"),
        source=headers.get(EXCEPTION_PREFIX + "Source"),
        stack_trace=headers.get(EXCEPTION_PREFIX + "StackTrace"),
    )
    time_of_failure = parse_wire(headers.get(TIME_OF_FAILURE)) or utcnow()
    if FAILED_Q not in headers:
        raise ValueError(
            "Missing '%s' header. Message is poison message or incorrectly send to (error) queue." % FAILED_Q
        )
    return {
        "address_of_failing_endpoint": headers[FAILED_Q],
        "time_of_failure": json_date(time_of_failure),
        "exception": exception,
    }


def is_binary(headers: dict[str, str]) -> bool:
    content_type = headers.get(CONTENT_TYPE)
    if content_type is None:
        return True
    text = content_type.startswith("text/") or "xml" in content_type or "json" in content_type
    text = text and "binary" not in content_type
    return not text or "Content-Encoding" in headers
