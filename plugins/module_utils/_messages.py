# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""The NServiceBus messages the collection sends, independent of the transport that carries them.

Three kinds, each marked as a probe by default so that later steps can find it again:

- ``failed``: what NServiceBus recoverability puts into the error queue: the headers of the original message plus
  every fault header (docs/reference/transports.md §9), so that ServiceControl ingests it as a failed message;
- ``audit``: what an endpoint sends to the audit queue after processing a message (the original headers plus the
  processing headers of §9);
- ``custom``: only the message id (and the probe marker); the caller adds what it wants.

Also the two ServiceControl rules a caller needs to find the message again: the unique message id ServiceControl
stores it under (docs/reference/servicecontrol.md §6) and what keeps ServiceControl from importing it (the headers it
requires, §6 and §1.5).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import socket
import uuid

KINDS = ("failed", "audit", "custom")

#: The probe marker: its value is the message id, so a probe can be told apart from real traffic and found again.
PROBE_HEADER = "ServiceControl.Platform.Probe"
#: The endpoint name probes claim to come from (and, unless told otherwise, to have been processed by).
DEFAULT_ENDPOINT = "ServiceControl.Platform.Probe"
#: The NServiceBus version the probes claim (the one ServiceControl 6.19.2 ships, docs/reference/transports.md).
NSERVICEBUS_VERSION = "10.2.7"
MESSAGE_TYPE = (
    "ServiceControl.Platform.ProbeMessage, ServiceControl.Platform, Version=1.0.0.0, Culture=neutral, "
    "PublicKeyToken=null"
)
EXCEPTION_TYPE = "ServiceControl.Platform.ProbeException"
INNER_EXCEPTION_TYPE = "System.InvalidOperationException"
HANDLER_TYPE = "ServiceControl.Platform.ProbeHandler"
EXCEPTION_SOURCE = "ServiceControl.Platform"
HELP_LINK = "https://github.com/servicecontrol-platform/servicecontrol.platform/tree/main/docs"
CONTENT_TYPE = "application/json"
#: NServiceBus cuts the exception message to this many characters (FaultMetadataExtractor).
EXCEPTION_MESSAGE_LIMIT = 16384

# Header names (NServiceBus core Headers.cs and FaultsHeaderKeys.cs at NSB@10.2.7).
MESSAGE_ID = "NServiceBus.MessageId"
MESSAGE_INTENT = "NServiceBus.MessageIntent"
CONVERSATION_ID = "NServiceBus.ConversationId"
CORRELATION_ID = "NServiceBus.CorrelationId"
REPLY_TO_ADDRESS = "NServiceBus.ReplyToAddress"
ORIGINATING_ENDPOINT = "NServiceBus.OriginatingEndpoint"
ORIGINATING_MACHINE = "NServiceBus.OriginatingMachine"
ORIGINATING_HOST_ID = "$.diagnostics.originating.hostid"
CONTENT_TYPE_HEADER = "NServiceBus.ContentType"
ENCLOSED_MESSAGE_TYPES = "NServiceBus.EnclosedMessageTypes"
VERSION = "NServiceBus.Version"
TIME_SENT = "NServiceBus.TimeSent"
FAILED_Q = "NServiceBus.FailedQ"
EXCEPTION_INFO = "NServiceBus.ExceptionInfo."
TIME_OF_FAILURE = "NServiceBus.TimeOfFailure"
PROCESSING_ENDPOINT = "NServiceBus.ProcessingEndpoint"
PROCESSING_MACHINE = "NServiceBus.ProcessingMachine"
PROCESSING_STARTED = "NServiceBus.ProcessingStarted"
PROCESSING_ENDED = "NServiceBus.ProcessingEnded"
HOST_ID = "$.diagnostics.hostid"
HOST_DISPLAY_NAME = "$.diagnostics.hostdisplayname"
RETRY_UNIQUE_MESSAGE_ID = "ServiceControl.Retry.UniqueMessageId"


class MessageError(ValueError):
    """The requested message cannot be built (an option contradicts another). Raised before anything is sent."""


class Message:
    """One outgoing message: the NServiceBus message id, the headers (str -> str) and the body bytes.

    Every transport's ``send()`` takes one and turns it into that transport's native format; the message id is the
    NServiceBus one (also the ``NServiceBus.MessageId`` header unless a caller removed it).
    """

    __slots__ = ("body", "headers", "message_id")

    def __init__(self, message_id, headers, body=b""):
        self.message_id = str(message_id)
        self.headers = {str(key): str(value) for key, value in dict(headers).items()}
        self.body = bytes(body)

    def __repr__(self):
        return "Message(%r, %d headers, %d bytes)" % (self.message_id, len(self.headers), len(self.body))


# -- .NET conventions ----------------------------------------------------------------------------------


def wire_time(moment):
    """NServiceBus's wire format for a time (DateTimeOffsetHelper): ``yyyy-MM-dd HH:mm:ss:ffffff Z``, in UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S:%f Z")


def deterministic_guid(*parts):
    """ServiceControl's DeterministicGuid.MakeId: MD5 of the joined text (UTF-8) read as a .NET Guid (D form)."""
    digest = hashlib.md5("".join(parts).encode("utf-8")).digest()  # noqa: S324 - an id, not a security measure
    return str(uuid.UUID(bytes_le=digest))


def machine_name():
    """What .NET's Environment.MachineName gives on the host that runs the module: the host name up to its first dot."""
    return socket.gethostname().split(".")[0] or "localhost"


def _queue_part(address):
    """ServiceControl's ExtractQueue: the part of an address before the first ``@``."""
    return address.split("@", 1)[0]


# -- what ServiceControl makes of a message -----------------------------------------------------------


def processing_endpoint_name(headers):
    """ServiceControl's HeaderExtensions.ProcessingEndpointName, or None where ServiceControl would throw.

    ``NServiceBus.ProcessingEndpoint``, else the queue part of ``NServiceBus.FailedQ``, else the queue part of
    ``NServiceBus.ReplyToAddress`` (docs/reference/servicecontrol.md §6).
    """
    if PROCESSING_ENDPOINT in headers:
        return headers[PROCESSING_ENDPOINT]
    for key in (FAILED_Q, REPLY_TO_ADDRESS):
        if headers.get(key) is not None:
            return _queue_part(headers[key])
    return None


def unique_message_id(headers):
    """The id ServiceControl keeps the message under (``/api/errors/{id}``, ``unique_message_id``), or None.

    ``ServiceControl.Retry.UniqueMessageId`` when present; otherwise the deterministic GUID of ``NServiceBus.MessageId``
    followed by the processing endpoint name (HeaderExtensions.UniqueId, docs/reference/servicecontrol.md §6). None when
    either is missing: ServiceControl then cannot import the message under an id of its own.
    """
    if RETRY_UNIQUE_MESSAGE_ID in headers:
        return headers[RETRY_UNIQUE_MESSAGE_ID]
    endpoint = processing_endpoint_name(headers)
    if headers.get(MESSAGE_ID) is None or endpoint is None:
        return None
    return deterministic_guid(headers[MESSAGE_ID], endpoint)


def import_problems(kind, headers):
    """Why ServiceControl would not import this message as the kind it was built as (empty when it would).

    A failed message needs ``NServiceBus.FailedQ`` (FailedMessageFactory.ParseFailureDetails), ``NServiceBus.MessageId``
    (CreateProcessingAttempt indexes it) and a processing endpoint; an audit message needs a processing endpoint
    (ProcessedMessage's UniqueId). Without them the import fails three times and the message is stored as a failed
    import (docs/reference/servicecontrol.md §1.5, §6).
    """
    problems = []
    if kind == "failed":
        if FAILED_Q not in headers:
            problems.append(
                "It has no %s header, so ServiceControl cannot import it as a failed message: after three attempts it "
                "is stored as a failed import (the 'Error Message Ingestion' custom check fails)." % FAILED_Q
            )
        elif MESSAGE_ID not in headers:
            problems.append(
                "It has no %s header, which ServiceControl's failed-message import reads directly: it becomes a failed "
                "import." % MESSAGE_ID
            )
    if kind in ("failed", "audit") and processing_endpoint_name(headers) is None and not problems:
        problems.append(
            "Neither %s, %s nor %s names the processing endpoint, so ServiceControl cannot import it: it becomes a "
            "failed import." % (PROCESSING_ENDPOINT, FAILED_Q, REPLY_TO_ADDRESS)
        )
    return problems


# -- building ------------------------------------------------------------------------------------------


def new_message_id():
    return str(uuid.uuid4())


def default_body(message_id):
    """A small JSON body naming the probe (NServiceBus.ContentType application/json)."""
    return json.dumps({"Probe": message_id, "SentBy": "servicecontrol.platform"}, separators=(",", ":"))


def _original_headers(message_id, endpoint, machine, host_id, sent):
    """The headers an NServiceBus endpoint writes when it sends a message (docs/reference/transports.md §9)."""
    return {
        MESSAGE_ID: message_id,
        MESSAGE_INTENT: "Send",
        # A first message starts its own conversation; its correlation id is its own id (AttachCorrelationIdBehavior).
        CONVERSATION_ID: message_id,
        CORRELATION_ID: message_id,
        REPLY_TO_ADDRESS: endpoint,
        ORIGINATING_ENDPOINT: endpoint,
        ORIGINATING_MACHINE: machine,
        ORIGINATING_HOST_ID: host_id,
        CONTENT_TYPE_HEADER: CONTENT_TYPE,
        ENCLOSED_MESSAGE_TYPES: MESSAGE_TYPE,
        VERSION: NSERVICEBUS_VERSION,
        TIME_SENT: sent,
    }


def _host_headers(processing_endpoint, machine, host_id):
    """The static metadata NServiceBus adds to failed and audited messages (RecoverabilityComponent, AuditHostInfo)."""
    return {
        PROCESSING_ENDPOINT: processing_endpoint,
        PROCESSING_MACHINE: machine,
        HOST_ID: host_id,
        HOST_DISPLAY_NAME: machine,
    }


def _fault_headers(message_id, failed_queue, failed_at):
    """What FaultMetadataExtractor adds for an exception with an inner exception, help link, source and data."""
    message = (
        "Probe failure sent by servicecontrol.platform (probe %s). It is not a real failure: do not retry it; archive "
        "it once it has served its purpose." % message_id
    )[:EXCEPTION_MESSAGE_LIMIT]
    inner = "The probe handler always fails."
    stack_trace = (
        "%s: %s\r\n ---> %s: %s\r\n   at %s.Handle(ProbeMessage message, IMessageHandlerContext context)\r\n"
        "   --- End of inner exception stack trace ---\r\n"
        "   at %s.Handle(ProbeMessage message, IMessageHandlerContext context)"
    ) % (EXCEPTION_TYPE, message, INNER_EXCEPTION_TYPE, inner, HANDLER_TYPE, HANDLER_TYPE)
    headers = {
        FAILED_Q: failed_queue,
        EXCEPTION_INFO + "ExceptionType": EXCEPTION_TYPE,
        EXCEPTION_INFO + "InnerExceptionType": INNER_EXCEPTION_TYPE,
        EXCEPTION_INFO + "HelpLink": HELP_LINK,
        EXCEPTION_INFO + "Message": message,
        EXCEPTION_INFO + "Source": EXCEPTION_SOURCE,
        EXCEPTION_INFO + "StackTrace": stack_trace,
        TIME_OF_FAILURE: failed_at,
    }
    # Exception.Data as NServiceBus's pipeline fills it (InvokeHandlerTerminator, MainPipelineExecutor).
    data = {
        "Message type": MESSAGE_TYPE.split(",", 1)[0],
        "Handler type": HANDLER_TYPE,
        "Handler start time": failed_at,
        "Handler failure time": failed_at,
        "Handler canceled": "False",
        "Message ID": message_id,
        "Transport message ID": message_id,
        "Pipeline canceled": "False",
    }
    headers.update((EXCEPTION_INFO + "Data." + key, value) for key, value in data.items())
    return headers


def _kind_headers(kind, message_id, options, moment, machine):
    """The headers of a message of ``kind`` (a checked kind) before the probe marker and the caller's headers."""
    if kind == "custom":
        return {MESSAGE_ID: message_id}
    endpoint = options["endpoint"] or DEFAULT_ENDPOINT
    processing_endpoint = options["processing_endpoint"] or endpoint
    # NServiceBus's host id: a deterministic GUID ("N" form) of where the endpoint runs.
    host_id = uuid.UUID(deterministic_guid("servicecontrol.platform", machine)).hex
    headers = _original_headers(message_id, endpoint, machine, host_id, moment)
    headers.update(_host_headers(processing_endpoint, machine, host_id))
    if kind == "failed":
        headers.update(_fault_headers(message_id, options["failed_queue"] or processing_endpoint, moment))
    else:
        headers[PROCESSING_STARTED] = moment
        headers[PROCESSING_ENDED] = moment
    return headers


#: The options each kind takes, and why a kind refuses the others.
KIND_OPTIONS = {
    "failed": ("endpoint", "processing_endpoint", "failed_queue"),
    "audit": ("endpoint", "processing_endpoint"),
    "custom": (),
}
KIND_REASONS = {
    "audit": "an audit message has no NServiceBus.FailedQ",
    "custom": "a custom message carries only its id, the probe marker and the headers given",
}


def _check_options(kind, options):
    if kind not in KINDS:
        raise MessageError("Unknown message kind '%s'; use one of %s." % (kind, ", ".join(KINDS)))
    wrong = sorted(name for name, value in options.items() if value is not None and name not in KIND_OPTIONS[kind])
    if wrong:
        raise MessageError(
            "Option(s) %s do not apply to a message of kind '%s' (%s). Remove them, or set the headers you want with "
            "headers." % (", ".join(wrong), kind, KIND_REASONS[kind])
        )
    for name, value in sorted(options.items()):
        if value is not None and not str(value).strip():
            raise MessageError("%s is empty; give a name or leave it out for the default." % name)


def apply_overrides(headers, overrides, message_id):
    """The headers with the caller's ones applied: a value sets (as a string), None removes.

    The message id is given once, as the message id: a different ``NServiceBus.MessageId`` here is refused.
    """
    result = dict(headers)
    for name, value in (overrides or {}).items():
        key = str(name)
        if not key.strip():
            raise MessageError("A header name in headers is empty.")
        if value is None:
            result.pop(key, None)
            continue
        if key == MESSAGE_ID and str(value) != message_id:
            raise MessageError(
                "headers sets %s to '%s' but the message id is '%s'; give the id with message_id instead (a null "
                "value removes the header)." % (MESSAGE_ID, value, message_id)
            )
        result[key] = str(value)
    return result


def build_message(
    kind,
    *,
    message_id=None,
    headers=None,
    body=None,
    endpoint=None,
    processing_endpoint=None,
    failed_queue=None,
    probe=True,
    now=None,
    machine=None,
):
    """A Message of ``kind`` with the caller's overrides; raises MessageError for contradicting options.

    ``body`` is text (sent as UTF-8); None gives the small JSON probe body. ``message_id`` None gives a new GUID.
    """
    options = {"endpoint": endpoint, "processing_endpoint": processing_endpoint, "failed_queue": failed_queue}
    _check_options(kind, options)
    message_id = str(message_id).strip() if message_id is not None else new_message_id()
    if not message_id:
        raise MessageError("message_id is empty; leave it out to get a new GUID.")
    moment = wire_time(now or datetime.datetime.now(datetime.timezone.utc))
    base = _kind_headers(kind, message_id, options, moment, machine or machine_name())
    if probe:
        base[PROBE_HEADER] = message_id
    text = default_body(message_id) if body is None else str(body)
    return Message(message_id, apply_overrides(base, headers, message_id), text.encode("utf-8"))
