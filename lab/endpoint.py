"""Endpoint simulator: a stand-in for NServiceBus endpoints, on any lab transport.

It writes what a real endpoint writes (docs/reference/transports.md §9, docs/reference/servicecontrol.md §6):

- failed messages to the error queue, with the original message's headers plus every fault
  header NServiceBus recoverability adds (FailedQ, ExceptionInfo.*, TimeOfFailure, processing
  endpoint/machine, host ids, delayed-retry count);
- audit copies to the audit queue (original headers plus ProcessingStarted/Ended/Endpoint/Machine
  and host ids);
- for messages ServiceControl retries into the endpoint's input queue: on success the retry
  acknowledgement control message to ``ServiceControl.Retry.AcknowledgementQueue`` and an audit
  copy marked ``ServiceControl.Retry.AcknowledgementSent=true``; on failure the message goes back
  to the error queue with fresh fault headers and its ``ServiceControl.Retry.UniqueMessageId``.

It is independent of the lab's ServiceControl instances (it only talks to queues), so tests can
use it to check them. Use it from Python (:class:`EndpointSimulator`) or the command line
(``python -m lab.endpoint --help``; see :func:`main`).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import random
import socket
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Callable

from lab.transports import LabMessage, LabTransport, open_lab_transport, transport_address

UTC = dt.timezone.utc

# NServiceBus headers.
MESSAGE_ID = "NServiceBus.MessageId"
MESSAGE_INTENT = "NServiceBus.MessageIntent"
CONVERSATION_ID = "NServiceBus.ConversationId"
CORRELATION_ID = "NServiceBus.CorrelationId"
ENCLOSED_MESSAGE_TYPES = "NServiceBus.EnclosedMessageTypes"
CONTENT_TYPE = "NServiceBus.ContentType"
ORIGINATING_ENDPOINT = "NServiceBus.OriginatingEndpoint"
ORIGINATING_MACHINE = "NServiceBus.OriginatingMachine"
ORIGINATING_HOST_ID = "$.diagnostics.originating.hostid"
REPLY_TO_ADDRESS = "NServiceBus.ReplyToAddress"
TIME_SENT = "NServiceBus.TimeSent"
VERSION = "NServiceBus.Version"
CONTROL_MESSAGE = "NServiceBus.ControlMessage"
FAILED_Q = "NServiceBus.FailedQ"
TIME_OF_FAILURE = "NServiceBus.TimeOfFailure"
EXCEPTION_INFO = "NServiceBus.ExceptionInfo."
RETRIES = "NServiceBus.Retries"
RETRIES_TIMESTAMP = "NServiceBus.Retries.Timestamp"
PROCESSING_ENDPOINT = "NServiceBus.ProcessingEndpoint"
PROCESSING_MACHINE = "NServiceBus.ProcessingMachine"
PROCESSING_STARTED = "NServiceBus.ProcessingStarted"
PROCESSING_ENDED = "NServiceBus.ProcessingEnded"
HOST_ID = "$.diagnostics.hostid"
HOST_DISPLAY_NAME = "$.diagnostics.hostdisplayname"
# ServiceControl retry headers.
RETRY_UNIQUE_MESSAGE_ID = "ServiceControl.Retry.UniqueMessageId"
RETRY_ACKNOWLEDGEMENT_QUEUE = "ServiceControl.Retry.AcknowledgementQueue"
RETRY_SUCCESSFUL = "ServiceControl.Retry.Successful"
RETRY_ACKNOWLEDGEMENT_SENT = "ServiceControl.Retry.AcknowledgementSent"

#: Headers of the fault part of a failed message, refreshed on every failure.
FAULT_HEADER_PREFIXES = (EXCEPTION_INFO, FAILED_Q, TIME_OF_FAILURE, RETRIES)

DEFAULT_MESSAGE_TYPE = "Sales.Messages.PlaceOrder"
DEFAULT_EXCEPTION_TYPE = "System.InvalidOperationException"
DEFAULT_NSERVICEBUS_VERSION = "9.2.3"
#: Upper bounds for load mode, so a typo cannot flood a shared broker for hours.
MAX_LOAD_DURATION_SECONDS = 3600.0
MAX_LOAD_RATE_PER_SECOND = 10000.0
WIRE_FORMAT = "%Y-%m-%d %H:%M:%S:%f Z"


def wire_timestamp(moment: dt.datetime | None = None) -> str:
    """NServiceBus' wire format for times, ``yyyy-MM-dd HH:mm:ss:ffffff Z`` (UTC)."""
    moment = moment or dt.datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(WIRE_FORMAT)


def parse_wire_timestamp(text: str) -> dt.datetime:
    """The UTC time in a wire-format header value."""
    return dt.datetime.strptime(text, WIRE_FORMAT).replace(tzinfo=UTC)


def _dotnet_guid(*parts: str) -> uuid.UUID:
    # Like NServiceBus' DeterministicGuid: the MD5 of the text read as a .NET Guid (mixed-endian).
    return uuid.UUID(bytes_le=hashlib.md5("".join(parts).encode("utf-8"), usedforsecurity=False).digest())


def enclosed_message_types(message_type: str) -> str:
    """``NServiceBus.EnclosedMessageTypes`` for a type name: assembly-qualified, as .NET writes it.

    ``Sales.Messages.PlaceOrder`` becomes ``Sales.Messages.PlaceOrder, Sales.Messages, Version=1.0.0.0,
    Culture=neutral, PublicKeyToken=null`` (assembly = the namespace). A value with a comma is kept.
    """
    message_type = message_type.strip()
    if not message_type:
        raise ValueError("A message type must not be empty.")
    if "," in message_type:
        return message_type
    assembly = message_type.rsplit(".", 1)[0] if "." in message_type else message_type
    return "%s, %s, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null" % (message_type, assembly)


def message_type_of(headers: dict[str, str]) -> str | None:
    """The full name of the first enclosed message type, without assembly details."""
    enclosed = headers.get(ENCLOSED_MESSAGE_TYPES)
    if not enclosed:
        return None
    return enclosed.split(";", 1)[0].split(",", 1)[0].strip()


@dataclasses.dataclass(frozen=True)
class EndpointIdentity:
    """Who processes (or sends) a message: endpoint name, machine and NServiceBus host identity."""

    name: str
    machine: str = dataclasses.field(default_factory=socket.gethostname)
    host_display_name: str = ""
    nservicebus_version: str = DEFAULT_NSERVICEBUS_VERSION

    @property
    def host_id(self) -> str:
        """``$.diagnostics.hostid``: a stable GUID in "N" format (NServiceBus derives it from the host)."""
        return _dotnet_guid(self.machine, self.name).hex

    @property
    def display_name(self) -> str:
        return self.host_display_name or self.machine


@dataclasses.dataclass(frozen=True)
class FailureSpec:
    """The exception a simulated handler throws."""

    exception_type: str = DEFAULT_EXCEPTION_TYPE
    message: str = "Simulated failure while handling {message_type} {message_id}."
    inner_exception_type: str | None = "System.TimeoutException"
    inner_message: str = "The operation has timed out."
    help_link: str | None = "https://docs.particular.net/nservicebus/recoverability/"
    source: str | None = None
    #: Delayed retries done before giving up (NServiceBus.Retries); 0 leaves the header out.
    delayed_retries: int = 3

    def exception_message(self, message_type: str, message_id: str) -> str:
        return self.message.format(message_type=message_type, message_id=message_id)

    def stack_trace(self, handler: str, message_type: str, message_id: str) -> str:
        """What .NET's ``Exception.ToString()`` prints, which NServiceBus stores as StackTrace."""
        short_type = message_type.rsplit(".", 1)[-1]
        frames = [
            "   at %s.Handle(%s message, IMessageHandlerContext context) in /src/%s.cs:line 42"
            % (handler, short_type, handler.replace(".", "/")),
            "   at NServiceBus.Pipeline.MessageHandler.Invoke(Object message, IMessageHandlerContext handlerContext)",
            "   at NServiceBus.InvokeHandlerTerminator.Terminate(IInvokeHandlerContext context)",
            "   at NServiceBus.LoadHandlersConnector.Invoke(IIncomingLogicalMessageContext context, Func`2 stage)",
            "   at NServiceBus.TransportReceiveToPhysicalMessageConnector.Invoke(ITransportReceiveContext context, "
            "Func`2 next)",
            "   at NServiceBus.RecoverabilityPipelineExecutor`1.Invoke(ErrorContext errorContext, "
            "CancellationToken cancellationToken)",
        ]
        head = "%s: %s" % (self.exception_type, self.exception_message(message_type, message_id))
        if self.inner_exception_type:
            inner = [
                " ---> %s: %s" % (self.inner_exception_type, self.inner_message),
                "   at %s.CallDatabase() in /src/%s.cs:line 87" % (handler, handler.replace(".", "/")),
                "   --- End of inner exception stack trace ---",
            ]
            return "\n".join([head, *inner, *frames])
        return "\n".join([head, *frames])


@dataclasses.dataclass
class RetryPolicy:
    """Decides whether the simulated handler succeeds for one incoming message.

    Checked in order: ``fail_types`` (always fail), ``succeed_types`` (always succeed),
    ``fail_times`` (each message fails that many attempts, counted per
    ServiceControl.Retry.UniqueMessageId or message id, then succeeds), ``fail_fraction``
    (that share of attempts fails, seeded for repeatability), then ``default_success``.
    Types match the full name (``Sales.Messages.PlaceOrder``) or the short one (``PlaceOrder``).
    """

    fail_types: frozenset[str] = frozenset()
    succeed_types: frozenset[str] = frozenset()
    fail_times: int = 0
    fail_fraction: float = 0.0
    default_success: bool = True
    seed: int | None = None
    _attempts: dict[str, int] = dataclasses.field(default_factory=dict, repr=False)
    _random: random.Random = dataclasses.field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.fail_fraction <= 1.0:
            raise ValueError("fail_fraction must be between 0 and 1, got %r." % self.fail_fraction)
        if self.fail_times < 0:
            raise ValueError("fail_times must not be negative, got %r." % self.fail_times)
        self.fail_types = frozenset(self.fail_types)
        self.succeed_types = frozenset(self.succeed_types)
        self._random = random.Random(self.seed)  # noqa: S311 - test data, not security

    @staticmethod
    def _matches(types: frozenset[str], message_type: str | None) -> bool:
        if not message_type:
            return False
        return message_type in types or message_type.rsplit(".", 1)[-1] in types

    def succeeds(self, headers: dict[str, str]) -> bool:
        message_type = message_type_of(headers)
        if self._matches(self.fail_types, message_type):
            return False
        if self._matches(self.succeed_types, message_type):
            return True
        if self.fail_times:
            key = headers.get(RETRY_UNIQUE_MESSAGE_ID) or headers.get(MESSAGE_ID) or ""
            self._attempts[key] = self._attempts.get(key, 0) + 1
            return self._attempts[key] > self.fail_times
        if self.fail_fraction:
            return self._random.random() >= self.fail_fraction
        return self.default_success


@dataclasses.dataclass
class RetryStats:
    """What :meth:`EndpointSimulator.handle_messages` did."""

    processed: int = 0
    succeeded: int = 0
    failed: int = 0
    acknowledgements_sent: int = 0
    audited: int = 0
    succeeded_ids: list[str] = dataclasses.field(default_factory=list)
    failed_ids: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class LoadResult:
    """What :meth:`EndpointSimulator.run_load` did."""

    sent: int
    planned: int
    elapsed_seconds: float
    rate_per_second: float
    duration_seconds: float


class EndpointSimulator:
    """One simulated NServiceBus endpoint on an open lab transport.

    ``endpoint`` names the endpoint; its input queue (the address in NServiceBus.FailedQ, where
    ServiceControl sends retries) has the same name. ``sender`` is the endpoint that sent the
    original messages (default ``ClientUI`` on the same machine).
    """

    def __init__(
        self,
        transport: LabTransport,
        endpoint: EndpointIdentity | str = "Sales",
        *,
        error_queue: str = "error",
        audit_queue: str | None = "audit",
        sender: EndpointIdentity | str | None = None,
        seed: int | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.transport = transport
        self.endpoint = EndpointIdentity(endpoint) if isinstance(endpoint, str) else endpoint
        if isinstance(sender, str):
            sender = EndpointIdentity(sender, machine=self.endpoint.machine)
        self.sender = sender or EndpointIdentity("ClientUI", machine=self.endpoint.machine)
        self.error_queue = error_queue
        self.audit_queue = audit_queue
        self._random = random.Random(seed)  # noqa: S311 - test data, not security
        self._clock = clock or (lambda: dt.datetime.now(UTC))
        self._sequence = 0

    # -- building messages --------------------------------------------------------------------
    @property
    def input_queue(self) -> str:
        return self.endpoint.name

    def address(self, queue: str) -> str:
        return transport_address(self.transport, queue)

    def setup(self) -> None:
        """Create the endpoint's input queue and the error/audit queues, as endpoint installers do."""
        for queue in (self.input_queue, self.error_queue, self.audit_queue):
            if queue:
                self.transport.create_queue(queue)

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def original_message(self, message_type: str = DEFAULT_MESSAGE_TYPE, body: object = None) -> LabMessage:
        """A message as ``sender`` sent it to this endpoint: its headers and a JSON body."""
        self._sequence += 1
        message_id = self._new_id()
        sent = self._clock() - dt.timedelta(milliseconds=self._random.randint(5, 500))
        headers = {
            MESSAGE_ID: message_id,
            MESSAGE_INTENT: "Send",
            CONVERSATION_ID: self._new_id(),
            CORRELATION_ID: message_id,
            ENCLOSED_MESSAGE_TYPES: enclosed_message_types(message_type),
            CONTENT_TYPE: "application/json",
            ORIGINATING_ENDPOINT: self.sender.name,
            ORIGINATING_MACHINE: self.sender.machine,
            ORIGINATING_HOST_ID: self.sender.host_id,
            REPLY_TO_ADDRESS: self.address(self.sender.name),
            TIME_SENT: wire_timestamp(sent),
            VERSION: self.sender.nservicebus_version,
        }
        if body is None:
            body = {
                "Id": self._new_id(),
                "Sequence": self._sequence,
                "Amount": round(self._random.uniform(1, 500), 2),
                "CreatedAt": sent.isoformat(),
            }
        raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        return LabMessage(headers=headers, body=raw)

    def fault_headers(self, headers: dict[str, str], failure: FailureSpec) -> dict[str, str]:
        """``headers`` plus the fault headers NServiceBus adds when this endpoint gives up on it."""
        result = {key: value for key, value in headers.items() if not key.startswith(FAULT_HEADER_PREFIXES)}
        message_type = message_type_of(headers) or "UnknownMessage"
        message_id = headers.get(MESSAGE_ID, "")
        handler = "%s.%sHandler" % (self.endpoint.name, message_type.rsplit(".", 1)[-1])
        now = self._clock()
        result.update(
            {
                FAILED_Q: self.address(self.input_queue),
                EXCEPTION_INFO + "ExceptionType": failure.exception_type,
                EXCEPTION_INFO + "Message": failure.exception_message(message_type, message_id)[:16384],
                EXCEPTION_INFO + "Source": failure.source or self.endpoint.name,
                EXCEPTION_INFO + "StackTrace": failure.stack_trace(handler, message_type, message_id),
                EXCEPTION_INFO + "Data.Message type": message_type,
                EXCEPTION_INFO + "Data.Handler type": handler,
                EXCEPTION_INFO + "Data.Message ID": message_id,
                TIME_OF_FAILURE: wire_timestamp(now),
                PROCESSING_MACHINE: self.endpoint.machine,
                PROCESSING_ENDPOINT: self.endpoint.name,
                HOST_ID: self.endpoint.host_id,
                HOST_DISPLAY_NAME: self.endpoint.display_name,
            }
        )
        if failure.inner_exception_type:
            result[EXCEPTION_INFO + "InnerExceptionType"] = failure.inner_exception_type
        if failure.help_link:
            result[EXCEPTION_INFO + "HelpLink"] = failure.help_link
        if failure.delayed_retries > 0:
            result[RETRIES] = str(failure.delayed_retries)
            result[RETRIES_TIMESTAMP] = wire_timestamp(now - dt.timedelta(seconds=10 * failure.delayed_retries))
        return result

    def audit_headers(self, headers: dict[str, str], started: dt.datetime, ended: dt.datetime) -> dict[str, str]:
        """``headers`` plus what NServiceBus adds to the copy it sends to the audit queue."""
        result = dict(headers)
        result.update(
            {
                PROCESSING_STARTED: wire_timestamp(started),
                PROCESSING_ENDED: wire_timestamp(ended),
                PROCESSING_ENDPOINT: self.endpoint.name,
                PROCESSING_MACHINE: self.endpoint.machine,
                HOST_ID: self.endpoint.host_id,
                HOST_DISPLAY_NAME: self.endpoint.display_name,
            }
        )
        return result

    # -- producing ----------------------------------------------------------------------------
    def fail(
        self,
        count: int = 1,
        message_type: str = DEFAULT_MESSAGE_TYPE,
        failure: FailureSpec | None = None,
        body: object = None,
    ) -> list[LabMessage]:
        """Send ``count`` failed messages to the error queue; returns them (headers as sent)."""
        failure = failure or FailureSpec()
        sent = []
        for _ in range(count):
            original = self.original_message(message_type, body)
            failed = LabMessage(headers=self.fault_headers(original.headers, failure), body=original.body)
            self.transport.send(self.error_queue, failed)
            sent.append(failed)
        return sent

    def audit(self, count: int = 1, message_type: str = DEFAULT_MESSAGE_TYPE, body: object = None) -> list[LabMessage]:
        """Send ``count`` audit copies of successfully processed messages to the audit queue."""
        if not self.audit_queue:
            raise ValueError("This simulator has no audit queue configured.")
        sent = []
        for _ in range(count):
            original = self.original_message(message_type, body)
            started = self._clock()
            ended = started + dt.timedelta(milliseconds=self._random.randint(1, 250))
            audited = LabMessage(headers=self.audit_headers(original.headers, started, ended), body=original.body)
            self.transport.send(self.audit_queue, audited)
            sent.append(audited)
        return sent

    def run_load(
        self,
        rate: float,
        duration: float,
        *,
        message_types: Sequence[str] = (DEFAULT_MESSAGE_TYPE,),
        failures: Sequence[FailureSpec] = (FailureSpec(),),
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> LoadResult:
        """Send about ``rate`` failed messages per second for ``duration`` seconds, then stop.

        Message types and failures are used in turn, so ServiceControl sees several groups.
        Stops at the deadline even if the transport cannot keep up (``sent`` < ``planned``).
        """
        if not 0 < rate <= MAX_LOAD_RATE_PER_SECOND:
            raise ValueError("rate must be > 0 and <= %g messages per second." % MAX_LOAD_RATE_PER_SECOND)
        if not 0 < duration <= MAX_LOAD_DURATION_SECONDS:
            raise ValueError("duration must be > 0 and <= %g seconds." % MAX_LOAD_DURATION_SECONDS)
        if not message_types or not failures:
            raise ValueError("run_load needs at least one message type and one failure.")
        planned = max(1, int(rate * duration))
        start = monotonic()
        deadline = start + duration
        sent = 0
        while sent < planned:
            due = start + sent / rate
            now = monotonic()
            if now >= deadline:
                break
            if due > now:
                sleep(min(due, deadline) - now)
                continue
            self.fail(1, message_types[sent % len(message_types)], failures[sent % len(failures)])
            sent += 1
        return LoadResult(sent, planned, monotonic() - start, rate, duration)

    # -- consuming ----------------------------------------------------------------------------
    def _acknowledge(self, headers: dict[str, str]) -> bool:
        unique_id = headers.get(RETRY_UNIQUE_MESSAGE_ID)
        ack_queue = headers.get(RETRY_ACKNOWLEDGEMENT_QUEUE)
        if not unique_id or not ack_queue:
            return False  # not a ServiceControl 4.20+ retry: the audit instance detects success instead
        ack = LabMessage(
            headers={
                MESSAGE_ID: self._new_id(),
                RETRY_SUCCESSFUL: wire_timestamp(self._clock()),
                RETRY_UNIQUE_MESSAGE_ID: unique_id,
                CONTROL_MESSAGE: "True",
            },
            body=b"",
        )
        self.transport.send(ack_queue, ack)
        return True

    def process(self, message: LabMessage, policy: RetryPolicy, failure: FailureSpec | None = None) -> bool:
        """Handle one received message by ``policy`` and settle it; True when it succeeded."""
        started = self._clock()
        try:
            if policy.succeeds(message.headers):
                acknowledged = self._acknowledge(message.headers)
                if self.audit_queue:
                    headers = self.audit_headers(message.headers, started, self._clock())
                    if acknowledged:
                        headers[RETRY_ACKNOWLEDGEMENT_SENT] = "true"
                    self.transport.send(self.audit_queue, LabMessage(headers=headers, body=message.body))
                succeeded = True
            else:
                headers = self.fault_headers(message.headers, failure or FailureSpec(delayed_retries=0))
                self.transport.send(self.error_queue, LabMessage(headers=headers, body=message.body))
                succeeded = False
        except BaseException:
            self.transport.abandon(message)
            raise
        self.transport.complete(message)
        return succeeded

    def handle_messages(
        self,
        policy: RetryPolicy | None = None,
        *,
        max_messages: int | None = None,
        idle_timeout: float = 0.0,
        poll_interval: float = 0.05,
        failure: FailureSpec | None = None,
    ) -> RetryStats:
        """Consume the input queue (retried messages) until it stays empty for ``idle_timeout``
        seconds or ``max_messages`` were handled."""
        policy = policy or RetryPolicy()
        stats = RetryStats()
        idle_since = time.monotonic()
        while max_messages is None or stats.processed < max_messages:
            message = self.transport.receive(self.input_queue)
            if message is None:
                if time.monotonic() - idle_since >= idle_timeout:
                    break
                time.sleep(poll_interval)
                continue
            had_ack = bool(
                message.headers.get(RETRY_UNIQUE_MESSAGE_ID) and message.headers.get(RETRY_ACKNOWLEDGEMENT_QUEUE)
            )
            message_id = message.message_id or ""
            stats.processed += 1
            if self.process(message, policy, failure):
                stats.succeeded += 1
                stats.succeeded_ids.append(message_id)
                stats.acknowledgements_sent += int(had_ack)
                stats.audited += int(bool(self.audit_queue))
            else:
                stats.failed += 1
                stats.failed_ids.append(message_id)
            idle_since = time.monotonic()
        return stats


# -- command line ---------------------------------------------------------------------------------
CONNECTION_STRING_ENV = "LAB_TRANSPORT_CONNECTION_STRING"


def _failures(args: argparse.Namespace) -> list[FailureSpec]:
    types = args.exception_type or [DEFAULT_EXCEPTION_TYPE]
    inner = None if args.inner_exception_type in ("", "none") else args.inner_exception_type
    return [
        FailureSpec(
            exception_type=exception_type,
            message=args.exception_message or FailureSpec.message,
            inner_exception_type=inner,
            delayed_retries=args.delayed_retries,
        )
        for exception_type in types
    ]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lab endpoint",
        description="Simulate an NServiceBus endpoint: failed and audited messages, retry handling, load.",
    )
    parser.add_argument("--transport", default="LearningTransport", help="ServiceControl TransportType name.")
    parser.add_argument(
        "--connection-string",
        default=None,
        help="Transport connection string (default: env %s, so it stays off the command line)." % CONNECTION_STRING_ENV,
    )
    parser.add_argument("--endpoint", default="Sales", help="Endpoint name = its input queue = NServiceBus.FailedQ.")
    parser.add_argument("--machine", default=None, help="Processing machine name (default: this host).")
    parser.add_argument("--error-queue", default="error")
    parser.add_argument("--audit-queue", default="audit", help="Audit queue; '' for none.")
    parser.add_argument("--sender", default="ClientUI", help="Endpoint that sent the original messages.")
    parser.add_argument("--seed", type=int, default=None, help="Seed for repeatable ids and decisions.")
    parser.add_argument("--setup", action="store_true", help="Create the input, error and audit queues first.")
    commands = parser.add_subparsers(dest="command", required=True)

    def failure_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--message-type", action="append", help="Message type full name (repeatable; used in turn).")
        sub.add_argument("--exception-type", action="append", help="Exception type (repeatable; used in turn).")
        sub.add_argument("--exception-message", default=None, help="Exception message ({message_type}, {message_id}).")
        sub.add_argument("--inner-exception-type", default="System.TimeoutException", help="'none' to leave it out.")
        sub.add_argument("--delayed-retries", type=int, default=3, help="NServiceBus.Retries value (0: no header).")

    fail = commands.add_parser("fail", help="Send failed messages to the error queue.")
    fail.add_argument("--count", type=int, default=1)
    failure_options(fail)

    audit = commands.add_parser("audit", help="Send audit copies of processed messages to the audit queue.")
    audit.add_argument("--count", type=int, default=1)
    audit.add_argument("--message-type", action="append")

    handle = commands.add_parser("handle-retries", help="Consume the input queue (retried messages) by rules.")
    handle.add_argument("--max-messages", type=int, default=None)
    handle.add_argument("--idle-timeout", type=float, default=5.0, help="Stop after this many idle seconds.")
    handle.add_argument("--fail-type", action="append", default=[], help="Message type that always fails.")
    handle.add_argument("--succeed-type", action="append", default=[], help="Message type that always succeeds.")
    handle.add_argument("--fail-times", type=int, default=0, help="Fail each message this many times first.")
    handle.add_argument("--fail-fraction", type=float, default=0.0, help="Share of attempts that fail (0..1).")
    handle.add_argument("--default", choices=("succeed", "fail"), default="succeed")
    failure_options(handle)

    load = commands.add_parser("load", help="Send failures at a rate for a bounded time.")
    load.add_argument("--rate", type=float, required=True, help="Failed messages per second.")
    load.add_argument("--duration", type=float, required=True, help="Seconds (at most %g)." % MAX_LOAD_DURATION_SECONDS)
    failure_options(load)
    return parser


def _run(args: argparse.Namespace, transport: LabTransport) -> dict:
    identity = EndpointIdentity(args.endpoint, machine=args.machine or socket.gethostname())
    simulator = EndpointSimulator(
        transport,
        identity,
        error_queue=args.error_queue,
        audit_queue=args.audit_queue or None,
        sender=args.sender,
        seed=args.seed,
    )
    if args.setup:
        simulator.setup()
    types = getattr(args, "message_type", None) or [DEFAULT_MESSAGE_TYPE]
    if args.command == "fail":
        failures = _failures(args)
        sent = [simulator.fail(1, types[n % len(types)], failures[n % len(failures)])[0] for n in range(args.count)]
        return {"command": "fail", "queue": args.error_queue, "sent": len(sent), "message_ids": _ids(sent)}
    if args.command == "audit":
        sent = [simulator.audit(1, types[n % len(types)])[0] for n in range(args.count)]
        return {"command": "audit", "queue": args.audit_queue, "sent": len(sent), "message_ids": _ids(sent)}
    if args.command == "handle-retries":
        policy = RetryPolicy(
            fail_types=frozenset(args.fail_type),
            succeed_types=frozenset(args.succeed_type),
            fail_times=args.fail_times,
            fail_fraction=args.fail_fraction,
            default_success=args.default == "succeed",
            seed=args.seed,
        )
        failure = dataclasses.replace(_failures(args)[0], delayed_retries=0)
        stats = simulator.handle_messages(
            policy, max_messages=args.max_messages, idle_timeout=args.idle_timeout, failure=failure
        )
        return {"command": "handle-retries", "queue": simulator.input_queue, **dataclasses.asdict(stats)}
    result = simulator.run_load(args.rate, args.duration, message_types=types, failures=_failures(args))
    return {"command": "load", "queue": args.error_queue, **dataclasses.asdict(result)}


def _ids(messages: Iterable[LabMessage]) -> list[str]:
    return [message.message_id or "" for message in messages]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints one JSON object with what was done. Returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    connection_string = args.connection_string or os.environ.get(CONNECTION_STRING_ENV)
    if not connection_string:
        parser.error("give --connection-string or set %s." % CONNECTION_STRING_ENV)
    for name in ("count", "max_messages", "delayed_retries", "fail_times"):
        value = getattr(args, name, None)
        if value is not None and value < 0:
            parser.error("--%s must not be negative." % name.replace("_", "-"))
    try:
        with open_lab_transport(args.transport, connection_string) as transport:
            summary = _run(args, transport)
    except (ValueError, LookupError, ConnectionError) as error:
        print("endpoint simulator: %s" % error, file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
