"""Endpoint simulator: fault/audit headers, retry handling, load mode and CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from pathlib import Path

import pytest

from lab import endpoint as ep
from lab.endpoint import EndpointIdentity, EndpointSimulator, FailureSpec, RetryPolicy, main
from lab.transports import LabMessage, open_lab_transport

WIRE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}:\d{6} Z$")
ORIGINAL_HEADERS = (
    "NServiceBus.MessageId",
    "NServiceBus.EnclosedMessageTypes",
    "NServiceBus.ContentType",
    "NServiceBus.MessageIntent",
    "NServiceBus.ConversationId",
    "NServiceBus.CorrelationId",
    "NServiceBus.OriginatingEndpoint",
    "NServiceBus.OriginatingMachine",
    "$.diagnostics.originating.hostid",
    "NServiceBus.ReplyToAddress",
    "NServiceBus.TimeSent",
    "NServiceBus.Version",
)
FAULT_HEADERS = (
    "NServiceBus.FailedQ",
    "NServiceBus.ExceptionInfo.ExceptionType",
    "NServiceBus.ExceptionInfo.InnerExceptionType",
    "NServiceBus.ExceptionInfo.HelpLink",
    "NServiceBus.ExceptionInfo.Message",
    "NServiceBus.ExceptionInfo.Source",
    "NServiceBus.ExceptionInfo.StackTrace",
    "NServiceBus.TimeOfFailure",
    "NServiceBus.ProcessingMachine",
    "NServiceBus.ProcessingEndpoint",
    "$.diagnostics.hostid",
    "$.diagnostics.hostdisplayname",
    "NServiceBus.Retries",
)
# What ServiceControl drops from a failed message before sending it for retry (HeaderFilter).
RETRY_FILTER = (
    "NServiceBus.Retries",
    "NServiceBus.FailedQ",
    "NServiceBus.TimeOfFailure",
    "NServiceBus.ExceptionInfo.",
    "ServiceControl.EditOf",
)


@pytest.fixture
def root(tmp_path):
    return str(tmp_path / "learning")


@pytest.fixture
def transport(root):
    with open_lab_transport("LearningTransport", root) as lab_transport:
        yield lab_transport


@pytest.fixture
def sales(transport):
    simulator = EndpointSimulator(transport, EndpointIdentity("Sales", machine="SALES01"), seed=7)
    simulator.setup()
    transport.create_queue("ClientUI")
    return simulator


def drain(transport, queue: str) -> list[LabMessage]:
    messages = []
    while (message := transport.receive(queue)) is not None:
        transport.complete(message)
        messages.append(message)
    return messages


def as_servicecontrol_retry(failed: LabMessage, ack_queue: str = "error") -> LabMessage:
    """The message ServiceControl dispatches to FailedQ when an operator retries ``failed``."""
    headers = {k: v for k, v in failed.headers.items() if not k.startswith(RETRY_FILTER)}
    headers["ServiceControl.Retry.UniqueMessageId"] = str(uuid.uuid4())
    headers["ServiceControl.Retry.Attempt.MessageId"] = str(uuid.uuid4())
    if ack_queue:
        headers["ServiceControl.Retry.AcknowledgementQueue"] = ack_queue
    return LabMessage(headers=headers, body=failed.body)


def test_failed_message_has_every_fault_header_in_native_files(sales, root):
    [sent] = sales.fail(1, "Sales.Messages.PlaceOrder")
    # Read what is on disk, not what the simulator returned.
    queue_dir = Path(root) / "error"
    [metadata] = list(queue_dir.glob("*.metadata.txt"))
    headers = json.loads(metadata.read_text(encoding="utf-8"))
    assert headers == sent.headers
    for key in ORIGINAL_HEADERS + FAULT_HEADERS:
        assert headers.get(key), key
    assert headers["NServiceBus.FailedQ"] == "Sales"
    assert headers["NServiceBus.ProcessingEndpoint"] == "Sales"
    assert headers["NServiceBus.ProcessingMachine"] == "SALES01"
    assert headers["$.diagnostics.hostdisplayname"] == "SALES01"
    assert re.fullmatch(r"[0-9a-f]{32}", headers["$.diagnostics.hostid"])
    assert re.fullmatch(r"[0-9a-f]{32}", headers["$.diagnostics.originating.hostid"])
    assert headers["$.diagnostics.hostid"] != headers["$.diagnostics.originating.hostid"]
    for key in ("NServiceBus.TimeOfFailure", "NServiceBus.TimeSent", "NServiceBus.Retries.Timestamp"):
        assert WIRE.match(headers[key]), (key, headers[key])
    sent_at = ep.parse_wire_timestamp(headers["NServiceBus.TimeSent"])
    failed_at = ep.parse_wire_timestamp(headers["NServiceBus.TimeOfFailure"])
    assert sent_at <= failed_at
    assert abs(failed_at - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=1)
    assert headers["NServiceBus.EnclosedMessageTypes"].startswith("Sales.Messages.PlaceOrder, Sales.Messages, ")
    assert headers["NServiceBus.MessageIntent"] == "Send"
    assert headers["NServiceBus.CorrelationId"] == headers["NServiceBus.MessageId"]
    assert headers["NServiceBus.OriginatingEndpoint"] == "ClientUI"
    assert headers["NServiceBus.ReplyToAddress"] == "ClientUI"
    assert headers["NServiceBus.ContentType"] == "application/json"
    assert headers["NServiceBus.Retries"] == "3"
    assert headers["NServiceBus.ExceptionInfo.ExceptionType"] == "System.InvalidOperationException"
    assert headers["NServiceBus.ExceptionInfo.InnerExceptionType"] == "System.TimeoutException"
    trace = headers["NServiceBus.ExceptionInfo.StackTrace"]
    assert trace.startswith("System.InvalidOperationException: " + headers["NServiceBus.ExceptionInfo.Message"])
    assert " ---> System.TimeoutException: " in trace
    assert "   at Sales.PlaceOrderHandler.Handle(PlaceOrder message" in trace
    body = json.loads((queue_dir / ".bodies" / (metadata.name.replace(".metadata.txt", ".body.txt"))).read_bytes())
    assert body["Sequence"] == 1


def test_endpoint_message_type_and_exception_are_choosable(transport):
    simulator = EndpointSimulator(transport, "Billing", error_queue="error")
    simulator.setup()
    failure = FailureSpec(
        exception_type="Billing.CardDeclinedException",
        message="Card declined for {message_id}",
        inner_exception_type=None,
        help_link=None,
        source="Billing.Domain",
        delayed_retries=0,
    )
    [sent] = simulator.fail(1, "Billing.Messages.ChargeCard", failure)
    [received] = drain(transport, "error")
    headers = received.headers
    assert headers == sent.headers
    assert headers["NServiceBus.FailedQ"] == "Billing"
    assert headers["NServiceBus.ProcessingEndpoint"] == "Billing"
    assert headers["NServiceBus.ExceptionInfo.ExceptionType"] == "Billing.CardDeclinedException"
    assert headers["NServiceBus.ExceptionInfo.Message"] == "Card declined for %s" % headers["NServiceBus.MessageId"]
    assert headers["NServiceBus.ExceptionInfo.Source"] == "Billing.Domain"
    assert ep.message_type_of(headers) == "Billing.Messages.ChargeCard"
    # Optional parts are left out exactly as NServiceBus leaves them out.
    for absent in (
        "NServiceBus.ExceptionInfo.InnerExceptionType",
        "NServiceBus.ExceptionInfo.HelpLink",
        "NServiceBus.Retries",
        "NServiceBus.Retries.Timestamp",
    ):
        assert absent not in headers
    assert " ---> " not in headers["NServiceBus.ExceptionInfo.StackTrace"]


def test_audit_message_headers(sales, transport):
    [sent] = sales.audit(1, "Sales.Messages.OrderAccepted")
    [received] = drain(transport, "audit")
    headers = received.headers
    assert headers == sent.headers
    for key in ORIGINAL_HEADERS:
        assert headers.get(key), key
    assert headers["NServiceBus.ProcessingEndpoint"] == "Sales"
    assert headers["NServiceBus.ProcessingMachine"] == "SALES01"
    assert headers["$.diagnostics.hostid"] == sales.endpoint.host_id
    started = ep.parse_wire_timestamp(headers["NServiceBus.ProcessingStarted"])
    ended = ep.parse_wire_timestamp(headers["NServiceBus.ProcessingEnded"])
    assert ep.parse_wire_timestamp(headers["NServiceBus.TimeSent"]) <= started <= ended
    assert not any(key.startswith("NServiceBus.ExceptionInfo.") for key in headers)
    assert "NServiceBus.FailedQ" not in headers


def test_successful_retry_sends_acknowledgement_and_audit_copy(sales, transport):
    [failed] = sales.fail(1)
    drain(transport, "error")
    retry = as_servicecontrol_retry(failed)
    transport.send("Sales", retry)

    stats = sales.handle_messages(RetryPolicy())
    assert (stats.processed, stats.succeeded, stats.failed, stats.acknowledgements_sent) == (1, 1, 0, 1)
    assert transport.depth("Sales") == 0

    [ack] = drain(transport, "error")
    assert set(ack.headers) == {
        "NServiceBus.MessageId",
        "ServiceControl.Retry.Successful",
        "ServiceControl.Retry.UniqueMessageId",
        "NServiceBus.ControlMessage",
    }
    assert ack.headers["ServiceControl.Retry.UniqueMessageId"] == retry.headers["ServiceControl.Retry.UniqueMessageId"]
    assert WIRE.match(ack.headers["ServiceControl.Retry.Successful"])
    assert ack.headers["NServiceBus.ControlMessage"] == "True"
    assert ack.body == b""

    [audited] = drain(transport, "audit")
    assert audited.headers["ServiceControl.Retry.AcknowledgementSent"] == "true"
    assert (
        audited.headers["ServiceControl.Retry.UniqueMessageId"] == retry.headers["ServiceControl.Retry.UniqueMessageId"]
    )
    assert audited.headers["NServiceBus.MessageId"] == failed.headers["NServiceBus.MessageId"]
    assert audited.headers["NServiceBus.ProcessingEndpoint"] == "Sales"
    assert WIRE.match(audited.headers["NServiceBus.ProcessingEnded"])
    assert audited.body == failed.body


def test_retry_without_acknowledgement_queue_is_only_audited(sales, transport):
    [failed] = sales.fail(1)
    drain(transport, "error")
    transport.send("Sales", as_servicecontrol_retry(failed, ack_queue=""))
    stats = sales.handle_messages()
    assert (stats.succeeded, stats.acknowledgements_sent) == (1, 0)
    assert transport.depth("error") == 0
    [audited] = drain(transport, "audit")
    assert "ServiceControl.Retry.AcknowledgementSent" not in audited.headers


def test_failed_retry_returns_to_error_queue_with_unique_id(sales, transport):
    [failed] = sales.fail(1, "Sales.Messages.PlaceOrder")
    drain(transport, "error")
    retry = as_servicecontrol_retry(failed)
    transport.send("Sales", retry)

    stats = sales.handle_messages(RetryPolicy(fail_types=frozenset({"PlaceOrder"})))
    assert (stats.processed, stats.succeeded, stats.failed) == (1, 0, 1)
    assert transport.depth("audit") == 0

    [again] = drain(transport, "error")
    headers = again.headers
    assert headers["ServiceControl.Retry.UniqueMessageId"] == retry.headers["ServiceControl.Retry.UniqueMessageId"]
    assert headers["NServiceBus.MessageId"] == failed.headers["NServiceBus.MessageId"]
    assert "ServiceControl.Retry.Successful" not in headers
    for key in FAULT_HEADERS:
        if key != "NServiceBus.Retries":  # a retried message fails without new delayed retries here
            assert headers.get(key), key
    assert ep.parse_wire_timestamp(headers["NServiceBus.TimeOfFailure"]) >= ep.parse_wire_timestamp(
        failed.headers["NServiceBus.TimeOfFailure"]
    )
    assert again.body == failed.body


def test_fail_n_times_then_succeed(sales, transport):
    [failed] = sales.fail(1)
    drain(transport, "error")
    retry = as_servicecontrol_retry(failed)
    policy = RetryPolicy(fail_times=2)
    outcomes = []
    for _ in range(3):
        transport.send("Sales", LabMessage(headers=dict(retry.headers), body=retry.body))
        stats = sales.handle_messages(policy)
        outcomes.append(stats.succeeded)
    assert outcomes == [0, 0, 1]
    error_messages = drain(transport, "error")
    assert [m.headers.get("ServiceControl.Retry.Successful") is not None for m in error_messages] == [
        False,
        False,
        True,
    ]


def test_rules_by_type_and_fraction():
    def headers(message_type: str, n: int) -> dict[str, str]:
        return {
            "NServiceBus.EnclosedMessageTypes": ep.enclosed_message_types(message_type),
            "NServiceBus.MessageId": str(n),
        }

    by_type = RetryPolicy(fail_types=frozenset({"Sales.Messages.PlaceOrder"}), succeed_types=frozenset({"CancelOrder"}))
    assert by_type.succeeds(headers("Sales.Messages.PlaceOrder", 1)) is False
    assert by_type.succeeds(headers("Sales.Messages.CancelOrder", 2)) is True
    assert RetryPolicy(default_success=False).succeeds(headers("X.Y", 3)) is False

    fraction = RetryPolicy(fail_fraction=0.3, seed=42)
    results = [fraction.succeeds(headers("X.Y", n)) for n in range(1000)]
    assert 230 < results.count(False) < 370
    again = RetryPolicy(fail_fraction=0.3, seed=42)
    assert [again.succeeds(headers("X.Y", n)) for n in range(1000)] == results
    with pytest.raises(ValueError, match="between 0 and 1"):
        RetryPolicy(fail_fraction=1.5)


def test_handle_messages_stops_at_max_messages(sales, transport):
    for failed in sales.fail(3):
        transport.send("Sales", as_servicecontrol_retry(failed))
    stats = sales.handle_messages(max_messages=2)
    assert stats.processed == 2
    assert transport.depth("Sales") == 1


def test_load_mode_sends_at_rate_and_stops(sales, transport):
    result = sales.run_load(
        40,
        0.5,
        message_types=["Sales.Messages.PlaceOrder", "Sales.Messages.CancelOrder"],
        failures=[FailureSpec(exception_type="A.Error"), FailureSpec(exception_type="B.Error")],
    )
    assert result.planned == 20
    assert result.sent == 20
    assert result.elapsed_seconds < 1.5
    messages = drain(transport, "error")
    assert len(messages) == result.sent
    types = {(ep.message_type_of(m.headers), m.headers["NServiceBus.ExceptionInfo.ExceptionType"]) for m in messages}
    assert types == {("Sales.Messages.PlaceOrder", "A.Error"), ("Sales.Messages.CancelOrder", "B.Error")}


def test_load_mode_is_bounded_when_the_transport_is_slow(sales):
    clock = {"now": 0.0}

    class SlowTransport:
        """Each send takes 0.1 s of (fake) time: far slower than the requested rate."""

        def send(self, queue, message):
            clock["now"] += 0.1

    sales.transport = SlowTransport()
    result = sales.run_load(
        1000,
        2.0,
        sleep=lambda seconds: clock.__setitem__("now", clock["now"] + seconds),
        monotonic=lambda: clock["now"],
    )
    assert result.planned == 2000
    assert result.sent == 20
    assert result.elapsed_seconds == pytest.approx(2.0, abs=0.11)


@pytest.mark.parametrize(("rate", "duration"), [(0, 1), (10, 0), (10, 3601), (10001, 1)])
def test_load_mode_refuses_unbounded_requests(sales, rate, duration):
    with pytest.raises(ValueError, match="must be > 0"):
        sales.run_load(rate, duration)


def test_wire_timestamp_format():
    moment = dt.datetime(2026, 8, 21, 10, 15, 30, 123456, tzinfo=dt.timezone.utc)
    assert ep.wire_timestamp(moment) == "2026-08-21 10:15:30:123456 Z"
    assert ep.parse_wire_timestamp("2026-08-21 10:15:30:123456 Z") == moment
    local = moment.astimezone(dt.timezone(dt.timedelta(hours=2)))
    assert ep.wire_timestamp(local) == "2026-08-21 10:15:30:123456 Z"


def test_cli_fail_audit_and_handle_retries(root, capsys, monkeypatch):
    monkeypatch.setenv("LAB_TRANSPORT_CONNECTION_STRING", root)
    args = ["--endpoint", "Shipping", "--setup", "--seed", "3"]
    assert main([*args, "fail", "--count", "4", "--exception-type", "A.Error", "--exception-type", "B.Error"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["command"], summary["sent"], len(summary["message_ids"])) == ("fail", 4, 4)

    assert main([*args, "audit", "--count", "2", "--message-type", "Shipping.Messages.ShipOrder"]) == 0
    assert json.loads(capsys.readouterr().out)["sent"] == 2

    with open_lab_transport("LearningTransport", root) as transport:
        failed = drain(transport, "error")
        assert [m.headers["NServiceBus.ExceptionInfo.ExceptionType"] for m in failed].count("A.Error") == 2
        assert {m.headers["NServiceBus.FailedQ"] for m in failed} == {"Shipping"}
        assert transport.depth("audit") == 2
        for message in failed:
            transport.send("Shipping", as_servicecontrol_retry(message))

    assert main([*args, "handle-retries", "--idle-timeout", "0", "--fail-fraction", "0.5"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["processed"] == 4
    assert stats["succeeded"] + stats["failed"] == 4
    assert stats["acknowledgements_sent"] == stats["succeeded"]

    assert main([*args, "load", "--rate", "20", "--duration", "0.25"]) == 0
    load = json.loads(capsys.readouterr().out)
    assert (load["planned"], load["sent"]) == (5, 5)


def test_cli_errors(root, capsys, monkeypatch):
    monkeypatch.delenv("LAB_TRANSPORT_CONNECTION_STRING", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["fail"])
    assert exit_info.value.code == 2
    assert "LAB_TRANSPORT_CONNECTION_STRING" in capsys.readouterr().err

    assert main(["--transport", "MSMQ", "--connection-string", root, "fail"]) == 2
    assert "does not emulate the transport 'MSMQ'" in capsys.readouterr().err

    # Without --setup the error queue does not exist: sending fails like NServiceBus would.
    assert main(["--connection-string", root, "fail"]) == 2
    assert "does not exist" in capsys.readouterr().err
