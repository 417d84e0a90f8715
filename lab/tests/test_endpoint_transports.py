"""The endpoint simulator's fail -> retry -> acknowledge cycle on the real brokers."""

from __future__ import annotations

import uuid

import pytest

from lab.endpoint import EndpointSimulator, RetryPolicy
from lab.transports import LabMessage, open_lab_transport, transport_address


def _drain(transport, queue: str) -> list[LabMessage]:
    messages = []
    while (message := transport.receive(queue)) is not None:
        transport.complete(message)
        messages.append(message)
    return messages


def _retry_cycle(transport) -> None:
    suffix = uuid.uuid4().hex[:8]
    simulator = EndpointSimulator(
        transport,
        "lab-test-Sales-" + suffix,
        error_queue="lab-test-error-" + suffix,
        audit_queue="lab-test-audit-" + suffix,
    )
    simulator.setup()
    transport.create_queue(simulator.sender.name)
    try:
        [failed] = simulator.fail(1)
        [in_error] = _drain(transport, simulator.error_queue)
        assert in_error.headers == failed.headers
        # The address is what the transport itself writes ("schema"."table" on PostgreSQL).
        assert in_error.headers["NServiceBus.FailedQ"] == transport_address(transport, simulator.input_queue)

        # ServiceControl sends the retry to FailedQ with the error queue's address as the ack queue.
        headers = {
            k: v
            for k, v in failed.headers.items()
            if not k.startswith(("NServiceBus.ExceptionInfo.", "NServiceBus.FailedQ"))
        }
        headers["ServiceControl.Retry.UniqueMessageId"] = str(uuid.uuid4())
        headers["ServiceControl.Retry.AcknowledgementQueue"] = transport_address(transport, simulator.error_queue)
        transport.send(in_error.headers["NServiceBus.FailedQ"], LabMessage(headers=headers, body=failed.body))

        stats = simulator.handle_messages(RetryPolicy(fail_times=1))
        assert (stats.processed, stats.failed) == (1, 1)
        [refailed] = _drain(transport, simulator.error_queue)
        assert (
            refailed.headers["ServiceControl.Retry.UniqueMessageId"] == headers["ServiceControl.Retry.UniqueMessageId"]
        )

        transport.send(simulator.input_queue, LabMessage(headers=headers, body=failed.body))
        stats = simulator.handle_messages(RetryPolicy())
        assert (stats.succeeded, stats.acknowledgements_sent) == (1, 1)
        [ack] = _drain(transport, simulator.error_queue)
        assert ack.headers["ServiceControl.Retry.UniqueMessageId"] == headers["ServiceControl.Retry.UniqueMessageId"]
        [audited] = _drain(transport, simulator.audit_queue)
        assert audited.headers["ServiceControl.Retry.AcknowledgementSent"] == "true"
        assert audited.body == failed.body
        assert transport.depth(simulator.input_queue) == 0
    finally:
        _drop(transport, [simulator.input_queue, simulator.error_queue, simulator.audit_queue, simulator.sender.name])


def _drop(transport, queues: list[str]) -> None:
    if transport.transport_type.startswith("RabbitMQ."):
        channel = transport._connection.channel()
        for queue in queues:
            channel.queue_delete(queue)
            channel.exchange_delete(queue)
        channel.close()
    elif transport.transport_type == "PostgreSQL":
        from psycopg import sql

        for queue in queues:
            transport._connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(transport.table(queue)))


@pytest.mark.rabbitmq
@pytest.mark.parametrize("transport_type", ["RabbitMQ.QuorumConventionalRouting", "RabbitMQ.ClassicDirectRouting"])
def test_retry_cycle_on_rabbitmq(transport_type, rabbitmq_connection_string):
    with open_lab_transport(transport_type, rabbitmq_connection_string) as transport:
        _retry_cycle(transport)


@pytest.mark.postgresql
def test_retry_cycle_on_postgresql(postgresql_connection_string):
    with open_lab_transport("PostgreSQL", postgresql_connection_string) as transport:
        _retry_cycle(transport)
