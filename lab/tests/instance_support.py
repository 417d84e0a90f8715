"""Helpers for the lab instance tests: run an instance in-process, build NServiceBus-shaped messages.

Failed and audit messages are built here by hand from docs/reference/transports.md §9 (not with the lab's own
code), so the tests check the instances against an independent description of the wire format.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx

from lab.instance import LabInstance
from lab.settings import load_settings
from lab.transports import open_lab_transport
from lab.transports.base import LabMessage, LabTransport

UTC = dt.timezone.utc


def wire(value: dt.datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S:%f Z")


def wait_until(
    predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> object:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("Timed out after %ss waiting for %s" % (timeout, what or predicate))
        time.sleep(interval)


STACK_TRACE = (
    "System.InvalidOperationException: Cannot place order {mid}\n"
    "   at Sales.PlaceOrderHandler.Handle(PlaceOrder message, IMessageHandlerContext context) in "
    "/src/Sales/PlaceOrderHandler.cs:line 23\n"
    "   at NServiceBus.InvokeHandlerTerminator.Terminate(IInvokeHandlerContext context)\n"
)


def failed_message(
    endpoint: str = "Sales",
    *,
    message_id: str | None = None,
    message_type: str = "Sales.Messages.PlaceOrder, Sales.Messages, Version=1.0.0.0",
    exception_type: str = "System.InvalidOperationException",
    host_id: str = "6f1c7a3e-57f4-4d2a-9a0e-1d3c6c0b1a11",
    time_of_failure: dt.datetime | None = None,
    body: bytes = b'{"OrderId": 42}',
    extra: dict[str, str] | None = None,
    without: tuple[str, ...] = (),
) -> LabMessage:
    """A message as NServiceBus recoverability puts it in the error queue (docs/reference/transports.md §9)."""
    mid = message_id or str(uuid.uuid4())
    now = time_of_failure or dt.datetime.now(UTC)
    headers = {
        "NServiceBus.MessageId": mid,
        "NServiceBus.MessageIntent": "Send",
        "NServiceBus.ConversationId": str(uuid.uuid4()),
        "NServiceBus.CorrelationId": mid,
        "NServiceBus.EnclosedMessageTypes": message_type,
        "NServiceBus.ContentType": "application/json",
        "NServiceBus.OriginatingEndpoint": "ClientUI",
        "NServiceBus.OriginatingMachine": "web01",
        "$.diagnostics.originating.hostid": "0b0e0f6d-8a0c-4c1b-9d55-0f3c2f7e9a01",
        "NServiceBus.ReplyToAddress": "ClientUI",
        "NServiceBus.TimeSent": wire(now - dt.timedelta(seconds=2)),
        "NServiceBus.Version": "9.2.3",
        "NServiceBus.FailedQ": endpoint,
        "NServiceBus.ExceptionInfo.ExceptionType": exception_type,
        "NServiceBus.ExceptionInfo.Message": "Cannot place order %s" % mid,
        "NServiceBus.ExceptionInfo.Source": "Sales",
        "NServiceBus.ExceptionInfo.StackTrace": STACK_TRACE.format(mid=mid).replace(
            "System.InvalidOperationException", exception_type, 1
        ),
        "NServiceBus.TimeOfFailure": wire(now),
        "NServiceBus.ProcessingMachine": "app01",
        "NServiceBus.ProcessingEndpoint": endpoint,
        "$.diagnostics.hostid": host_id,
        "$.diagnostics.hostdisplayname": "app01",
        "NServiceBus.Retries": "3",
        "NServiceBus.Retries.Timestamp": wire(now - dt.timedelta(seconds=30)),
    }
    headers.update(extra or {})
    for name in without:
        headers.pop(name, None)
    return LabMessage(headers=headers, body=body)


def audit_message(
    endpoint: str = "Shipping",
    *,
    message_id: str | None = None,
    message_type: str = "Shipping.Messages.ShipOrder",
    host_id: str = "2a4c1e9b-3f3d-4b0c-8c6a-9e5d7f1b2c33",
    extra: dict[str, str] | None = None,
) -> LabMessage:
    """An audit copy of a successfully processed message (docs/reference/transports.md §9)."""
    mid = message_id or str(uuid.uuid4())
    ended = dt.datetime.now(UTC)
    headers = {
        "NServiceBus.MessageId": mid,
        "NServiceBus.MessageIntent": "Send",
        "NServiceBus.ConversationId": str(uuid.uuid4()),
        "NServiceBus.EnclosedMessageTypes": message_type,
        "NServiceBus.ContentType": "application/json",
        "NServiceBus.OriginatingEndpoint": "Sales",
        "NServiceBus.OriginatingMachine": "app01",
        "$.diagnostics.originating.hostid": "6f1c7a3e-57f4-4d2a-9a0e-1d3c6c0b1a11",
        "NServiceBus.ReplyToAddress": "Sales",
        "NServiceBus.TimeSent": wire(ended - dt.timedelta(milliseconds=900)),
        "NServiceBus.ProcessingStarted": wire(ended - dt.timedelta(milliseconds=400)),
        "NServiceBus.ProcessingEnded": wire(ended),
        "NServiceBus.ProcessingEndpoint": endpoint,
        "NServiceBus.ProcessingMachine": "app02",
        "$.diagnostics.hostid": host_id,
        "$.diagnostics.hostdisplayname": "app02",
    }
    headers.update(extra or {})
    return LabMessage(headers=headers, body=b'{"OrderId": 7}')


@dataclass
class Broker:
    """Where a test's queues live: a transport type plus connection string, and a name suffix that
    keeps queue names unique on shared brokers."""

    transport_type: str
    connection_string: str
    suffix: str

    def name(self, base: str) -> str:
        return "%s.%s" % (base, self.suffix)

    def open(self) -> LabTransport:
        return open_lab_transport(self.transport_type, self.connection_string)


@dataclass
class Running:
    instance: LabInstance
    client: httpx.Client
    broker: Broker

    @property
    def engine(self):
        return self.instance.engine

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.client.get(path, **kwargs)


def base_environ(kind: str, broker: Broker, db_path: str, **settings: str) -> dict[str, str]:
    """Environment for an instance: transport, data directory, a free port and fast lab cadences."""
    env = {
        "TRANSPORTTYPE": broker.transport_type,
        "CONNECTIONSTRING": broker.connection_string,
        "LAB_PROCESS_RETRY_BATCHES_FREQUENCY": "0.1",
    }
    if kind == "error":
        env.update(
            {
                "SERVICECONTROL_FORWARDERRORMESSAGES": "false",
                "SERVICECONTROL_ERRORRETENTIONPERIOD": "15",
                "SERVICECONTROL_DBPATH": db_path,
                "SERVICECONTROL_PORT": "0",
                "SERVICECONTROL_INSTANCENAME": broker.name("Particular.ServiceControl"),
                "SERVICEBUS_ERRORQUEUE": broker.name("error"),
            }
        )
    elif kind == "monitoring":
        env.update(
            {
                "MONITORING_HTTPHOSTNAME": "localhost",
                "MONITORING_HTTPPORT": "0",
                "MONITORING_INSTANCENAME": broker.name("Particular.Monitoring"),
                "MONITORING_ERRORQUEUE": broker.name("error"),
                "MONITORING_SERVICECONTROLTHROUGHPUTDATAQUEUE": broker.name("ServiceControl.ThroughputData"),
            }
        )
    else:
        env.update(
            {
                "SERVICECONTROL_AUDIT_DBPATH": db_path,
                "SERVICECONTROL_AUDIT_PORT": "0",
                "SERVICECONTROL_AUDIT_INSTANCENAME": broker.name("Particular.ServiceControl.Audit"),
                "SERVICEBUS_AUDITQUEUE": broker.name("audit"),
            }
        )
    env.update(settings)
    return env


@contextlib.contextmanager
def running_instance(kind: str, environ: dict[str, str], broker: Broker, setup: bool = True) -> Iterator[Running]:
    """Start a lab instance in this process (setup first, like --setup-and-run); stop it afterwards."""
    settings = load_settings(kind, None, environ)
    instance = LabInstance(settings)
    if setup:
        instance.setup()
    instance.start()
    client = httpx.Client(base_url=instance.url.rsplit("/api", 1)[0], timeout=10)
    try:
        yield Running(instance, client, broker)
    finally:
        client.close()
        instance.stop()


def drain(transport: LabTransport, queue: str) -> list[LabMessage]:
    """Take every message out of a queue."""
    taken = []
    while True:
        message = transport.receive(queue)
        if message is None:
            return taken
        transport.complete(message)
        taken.append(message)
