"""The lab's transports: pick one by ServiceControl TransportType name.

Only the transports the lab can run for real on Linux are emulated: the Learning transport
(filesystem), RabbitMQ and PostgreSQL. Driver libraries are imported only for the transport in use.
"""

from __future__ import annotations

from lab.transports.base import LabMessage, LabTransport

__all__ = ["SUPPORTED_TRANSPORT_TYPES", "LabMessage", "LabTransport", "canonical_transport_type", "open_lab_transport"]

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
