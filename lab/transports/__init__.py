"""The lab's transports: pick one by ServiceControl TransportType name.

Only the transports the lab can run for real on Linux are emulated: the Learning transport
(filesystem), RabbitMQ and PostgreSQL. Driver libraries are imported only for the transport in use.
"""

from __future__ import annotations

import datetime as dt
import re

from lab.transports.base import LabMessage, LabTransport

__all__ = [
    "SUPPORTED_TRANSPORT_TYPES",
    "LabMessage",
    "LabTransport",
    "QueueNotFoundError",
    "canonical_transport_type",
    "open_lab_transport",
    "parse_key_value_connection_string",
    "parse_timespan",
    "transport_address",
]

#: ServiceControl TransportType names the lab emulates (5.x/6.x manifest names).
SUPPORTED_TRANSPORT_TYPES = (
    "LearningTransport",
    "RabbitMQ.QuorumConventionalRouting",
    "RabbitMQ.ClassicConventionalRouting",
    "RabbitMQ.QuorumDirectRouting",
    "RabbitMQ.ClassicDirectRouting",
    "PostgreSQL",
)

# ServiceControl 5+ migrates the legacy RabbitMQ names to the classic-queue variants.
_LEGACY_ALIASES = {
    "rabbitmq.conventionalrouting": "RabbitMQ.ClassicConventionalRouting",
    "rabbitmq.directrouting": "RabbitMQ.ClassicDirectRouting",
}


class QueueNotFoundError(LookupError):
    """Sending to, receiving from or measuring a queue that does not exist (every lab transport)."""


# .NET TimeSpan "[d.]hh:mm:ss[.fffffff]", as NServiceBus writes TimeToBeReceived.
_TIMESPAN = re.compile(r"^(?:(?P<days>\d+)\.)?(?P<h>\d+):(?P<m>\d+):(?P<s>\d+)(?:\.(?P<frac>\d+))?$")


def parse_timespan(value: str) -> dt.timedelta:
    """A .NET TimeSpan string ("00:00:30", "1.02:00:00", "00:00:01.5000000") as a timedelta."""
    match = _TIMESPAN.match((value or "").strip())
    if not match:
        raise ValueError("%r is not a .NET TimeSpan ([d.]hh:mm:ss[.fffffff])." % value)
    frac = match.group("frac") or "0"
    return dt.timedelta(
        days=int(match.group("days") or 0),
        hours=int(match.group("h")),
        minutes=int(match.group("m")),
        seconds=int(match.group("s")),
        microseconds=int((frac + "000000")[:6]),
    )


def parse_key_value_connection_string(connection_string: str) -> dict[str, str]:
    """Parse ``key=value;key2='v;2'`` as .NET's DbConnectionStringBuilder does: keys are
    case-insensitive (returned lower-case), values may be quoted with ' or " (a doubled quote
    inside stands for one), surrounding blanks are dropped, the last duplicate wins."""
    result: dict[str, str] = {}
    text = connection_string or ""
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t;":
            i += 1
        if i >= n:
            break
        eq = text.find("=", i)
        if eq < 0:
            raise ValueError("Malformed connection string: a 'key=value' pair is missing its '='.")
        key = text[i:eq].strip().lower()
        i = eq + 1
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] in "'\"":
            quote, i, chunks = text[i], i + 1, []
            while True:
                end = text.find(quote, i)
                if end < 0:
                    raise ValueError("Malformed connection string: an unterminated quoted value for %r." % key)
                chunks.append(text[i:end])
                if end + 1 < n and text[end + 1] == quote:
                    chunks.append(quote)
                    i = end + 2
                    continue
                i = end + 1
                break
            value = "".join(chunks)
            while i < n and text[i] != ";":
                i += 1
        else:
            end = text.find(";", i)
            end = n if end < 0 else end
            value, i = text[i:end].strip(), end
        if key:
            result[key] = value
    return result


def canonical_transport_type(transport_type: str) -> str:
    """The supported name matching ``transport_type`` (ServiceControl matches names case-insensitively)."""
    wanted = (transport_type or "").strip().lower()
    for name in SUPPORTED_TRANSPORT_TYPES:
        if name.lower() == wanted:
            return name
    if wanted in _LEGACY_ALIASES:
        return _LEGACY_ALIASES[wanted]
    raise ValueError(
        "The lab does not emulate the transport %r. It emulates only: %s. Use one of these for lab "
        "instances; other transports (SQLServer, AzureServiceBus, AmazonSQS, AzureStorageQueue, MSMQ, ...) "
        "need the real ServiceControl." % (transport_type, ", ".join(SUPPORTED_TRANSPORT_TYPES))
    )


def transport_address(transport: LabTransport, queue: str) -> str:
    """The native address of ``queue`` as endpoints and ServiceControl write it in headers
    (NServiceBus.FailedQ, ReplyToAddress, ServiceControl.Retry.AcknowledgementQueue).
    It is the queue name on every lab transport except PostgreSQL ("schema"."table")."""
    address = getattr(transport, "transport_address", None)
    return address(queue) if address is not None else queue


def open_lab_transport(transport_type: str, connection_string: str) -> LabTransport:
    """Open a connection to the transport ServiceControl would use for these settings.

    The returned object is not thread-safe: open one per thread. Close it (or use ``with``).
    """
    name = canonical_transport_type(transport_type)
    if name == "LearningTransport":
        from lab.transports.learning import LearningTransport  # noqa: PLC0415 - drivers load only when used

        return LearningTransport(connection_string)
    if name.startswith("RabbitMQ."):
        from lab.transports.rabbitmq import RabbitMQTransport  # noqa: PLC0415 - drivers load only when used

        return RabbitMQTransport(name, connection_string)
    from lab.transports.postgresql import PostgreSQLTransport  # noqa: PLC0415 - drivers load only when used

    return PostgreSQLTransport(connection_string)
