"""Behaviour of the lab Audit instance, in-process, on the Learning transport and on RabbitMQ."""

from __future__ import annotations

import json
from pathlib import Path

from lab.tests.instance_support import (
    Broker,
    audit_message,
    base_environ,
    drain,
    running_instance,
    wait_until,
)


def total(run, path="/api/messages", **params) -> int:
    response = run.get(path, params={"include_system_messages": "true", "per_page": "1", **params})
    assert response.status_code == 200
    return int(response.headers["Total-Count"])


REGISTER_NEW_ENDPOINT = "ServiceControl.Contracts.EndpointControl.RegisterNewEndpoint"
CHECK_RESULT = "ServiceControl.Plugin.CustomChecks.Messages.ReportCustomCheckResult, ServiceControl"


def test_ingests_forwards_and_registers_new_endpoints(lab_broker: Broker, tmp_path: Path):
    error_input = lab_broker.name("Particular.ServiceControl")
    log_queue = lab_broker.name("audit_backup")
    env = base_environ(
        "audit",
        lab_broker,
        str(tmp_path / "db"),
        SERVICECONTROL_AUDIT_FORWARDAUDITMESSAGES="true",
        SERVICEBUS_AUDITLOGQUEUE=log_queue,
        SERVICECONTROLQUEUEADDRESS=error_input,
    )
    with lab_broker.open() as transport:
        transport.create_queue(error_input)
    with running_instance("audit", env, lab_broker) as run, lab_broker.open() as transport:
        sent = audit_message(lab_broker.name("Shipping"))
        transport.send(lab_broker.name("audit"), sent)
        wait_until(lambda: total(run) == 1, what="the processed message")
        view = run.get("/api/messages").json()[0]
        assert view["message_id"] == sent.headers["NServiceBus.MessageId"]
        assert view["status"] == "successful"
        assert view["receiving_endpoint"]["name"] == lab_broker.name("Shipping")
        assert view["processing_time"] == "00:00:00.4000000"
        assert total(run, "/api/endpoints/%s/messages" % lab_broker.name("Shipping")) == 1
        assert total(run, "/api/endpoints/Nobody/messages") == 0
        assert total(run, "/api/messages/search/%s" % sent.headers["NServiceBus.MessageId"]) == 1

        probe, copy = wait_until(lambda: transport.depth(log_queue) >= 2 and drain(transport, log_queue))
        assert probe.body == b""
        assert copy.headers["NServiceBus.MessageId"] == sent.headers["NServiceBus.MessageId"]

        # The queue also gets the audit instance's custom-check results (it reports them there, too).
        received = []

        def registrations() -> list:
            received.extend(drain(transport, error_input))
            return [m for m in received if m.headers["NServiceBus.EnclosedMessageTypes"] == REGISTER_NEW_ENDPOINT]

        registered = wait_until(lambda: len(registrations()) >= 2 and registrations(), what="two registrations")
        assert {m.headers["NServiceBus.EnclosedMessageTypes"] for m in received} <= {
            REGISTER_NEW_ENDPOINT,
            CHECK_RESULT,
        }
        names = sorted(json.loads(m.body)["Endpoint"]["Name"] for m in registered)
        assert names == sorted(["Sales", lab_broker.name("Shipping")])
        checks = {json.loads(m.body)["CustomCheckId"] for m in received if m not in registered}
        assert checks <= {"Audit Message Ingestion Process", "Audit Message Ingestion"}

        # The same endpoint instances again: nothing new to register.
        received.clear()
        transport.send(lab_broker.name("audit"), audit_message(lab_broker.name("Shipping")))
        wait_until(lambda: total(run) == 2, what="the second message")
        assert registrations() == []


def test_acknowledges_retries_the_endpoint_did_not_acknowledge(lab_broker: Broker, tmp_path: Path):
    ack_queue = lab_broker.name("error")
    env = base_environ("audit", lab_broker, str(tmp_path / "db"), SERVICECONTROLQUEUEADDRESS=ack_queue)
    with lab_broker.open() as transport:
        transport.create_queue(ack_queue)
    with running_instance("audit", env, lab_broker) as run, lab_broker.open() as transport:
        retry = {"ServiceControl.Retry.UniqueMessageId": "u-1", "ServiceControl.Retry.AcknowledgementQueue": ack_queue}
        transport.send(lab_broker.name("audit"), audit_message("Shipping", extra=retry))
        acknowledged = {
            **retry,
            "ServiceControl.Retry.UniqueMessageId": "u-2",
            "ServiceControl.Retry.AcknowledgementSent": "true",
        }
        transport.send(lab_broker.name("audit"), audit_message("Shipping", extra=acknowledged))
        wait_until(lambda: total(run) == 2, what="both retried messages")
        messages = [m for m in drain(transport, ack_queue) if "ServiceControl.Retry.Successful" in m.headers]
        assert [m.headers["ServiceControl.Retry.UniqueMessageId"] for m in messages] == ["u-1"]
        assert {v["status"] for v in run.get("/api/messages").json()} == {"resolvedSuccessfully"}


def test_without_servicecontrol_queue_address_the_first_message_of_a_new_endpoint_fails_once(
    lab_broker: Broker, tmp_path: Path
):
    broker = lab_broker
    env = base_environ("audit", broker, str(tmp_path / "db"))
    with running_instance("audit", env, broker) as run, broker.open() as transport:
        transport.send(broker.name("audit"), audit_message("Shipping"))
        wait_until(lambda: total(run) == 1, what="ingestion on the immediate retry")
        assert run.engine.ingestion_errors == [
            "No destination specified for message: ServiceControl.Contracts.EndpointControl.RegisterNewEndpoint"
        ]


def test_ingestion_disabled_keeps_messages_and_setup_creates_nothing(lab_broker: Broker, tmp_path: Path):
    broker = lab_broker
    env = base_environ("audit", broker, str(tmp_path / "db"), SERVICECONTROL_AUDIT_INGESTAUDITMESSAGES="false")
    with running_instance("audit", env, broker) as run, broker.open() as transport:
        assert run.instance.setup() == []
        assert not transport.queue_exists(broker.name("Particular.ServiceControl.Audit"))
        transport.create_queue(broker.name("audit"))
        transport.send(broker.name("audit"), audit_message("Shipping"))
        assert run.get("/api/configuration").json()["transport"]["audit_queue"] == broker.name("audit")
        assert total(run) == 0
        assert transport.depth(broker.name("audit")) == 1


def test_audit_counts_and_restart_keep_data(lab_broker: Broker, tmp_path: Path):
    broker = lab_broker
    control_queue = broker.name("Particular.ServiceControl")
    env = base_environ("audit", broker, str(tmp_path / "db"), SERVICECONTROLQUEUEADDRESS=control_queue)
    with broker.open() as transport:
        transport.create_queue(control_queue)
    with running_instance("audit", env, broker) as run, broker.open() as transport:
        for _ in range(3):
            transport.send(broker.name("audit"), audit_message("Shipping"))
        wait_until(lambda: total(run) == 3, what="three messages")
        counts = run.get("/api/endpoints/Shipping/audit-count").json()
        assert [c["count"] for c in counts] == [3]
    with running_instance("audit", env, broker, setup=False) as run:
        assert total(run) == 3
