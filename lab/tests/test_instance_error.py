"""Behaviour of the lab Error instance, in-process, on the Learning transport and on RabbitMQ."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path

import pytest

from lab.tests.instance_support import (
    Broker,
    base_environ,
    drain,
    failed_message,
    running_instance,
    wait_until,
)


def dotnet_guid_of_md5(text: str) -> str:
    """System.Guid(byte[16]) over MD5(UTF-8 text): the first 4, 2 and 2 bytes are little-endian."""
    d = hashlib.md5(text.encode("utf-8")).digest()  # noqa: S324 - the id scheme under test
    return "%s-%s-%s-%s-%s" % (d[3::-1].hex(), d[5:3:-1].hex(), d[7:5:-1].hex(), d[8:10].hex(), d[10:].hex())


def errors(run, **params):
    response = run.get("/api/errors", params=params)
    assert response.status_code == 200
    return response.json()


def test_deterministic_guid_matches_a_hand_derived_dotnet_value():
    from lab.instance.common import deterministic_guid

    # MD5("abc") = 90 01 50 98 3c d2 4f b0 d6 96 3f 7d 28 e1 7f 72; .NET prints the first three
    # fields byte-swapped.
    assert deterministic_guid("a", "bc") == "98500190-d23c-b04f-d696-3f7d28e17f72"
    assert dotnet_guid_of_md5("abc") == "98500190-d23c-b04f-d696-3f7d28e17f72"


def test_ingests_failed_messages_under_servicecontrols_unique_id(lab_broker: Broker, tmp_path: Path):
    endpoint = lab_broker.name("Sales")
    env = base_environ("error", lab_broker, str(tmp_path / "db"))
    with running_instance("error", env, lab_broker) as run, lab_broker.open() as transport:
        transport.create_queue(endpoint)
        message = failed_message(endpoint)
        transport.send(lab_broker.name("error"), message)
        mid = message.headers["NServiceBus.MessageId"]
        expected_id = dotnet_guid_of_md5(mid + endpoint)

        items = wait_until(lambda: errors(run), what="the failed message")
        assert [i["id"] for i in items] == [expected_id]
        view = items[0]
        assert view["message_id"] == mid
        assert view["status"] == "unresolved"
        assert view["queue_address"] == endpoint
        assert view["number_of_processing_attempts"] == 1
        assert view["receiving_endpoint"]["name"] == endpoint
        assert view["exception"]["exception_type"] == "System.InvalidOperationException"
        assert transport.depth(lab_broker.name("error")) == 0

        doc = run.get("/api/errors/%s" % expected_id).json()
        assert doc["id"] == "FailedMessages/" + expected_id
        assert doc["unique_message_id"] == expected_id
        assert doc["processing_attempts"][0]["headers"]["NServiceBus.FailedQ"] == endpoint
        assert run.get("/api/errors/last/%s" % expected_id).json()["id"] == expected_id


def test_groups_by_the_five_classifiers_with_servicecontrols_group_ids(lab_broker: Broker, tmp_path: Path):
    broker = lab_broker
    env = base_environ("error", broker, str(tmp_path / "db"))
    with running_instance("error", env, broker) as run, broker.open() as transport:
        message = failed_message("Sales", extra={"NServiceBus.Metric.InstanceId": "sales-1"})
        transport.send(broker.name("error"), message)
        wait_until(lambda: errors(run), what="ingestion")
        unique_id = errors(run)[0]["id"]
        groups = run.get("/api/errors/%s" % unique_id).json()["failure_groups"]
        expected_titles = {
            "Exception Type and Stack Trace": "System.InvalidOperationException: "
            "Sales.PlaceOrderHandler.Handle(PlaceOrder message, IMessageHandlerContext context)",
            "Message Type": "Sales.Messages.PlaceOrder",
            "Endpoint Address": "Sales",
            "Endpoint Instance": "sales-1",
            "Endpoint Name": "Sales",
        }
        assert [g["type"] for g in groups] == list(expected_titles)
        for group in groups:
            assert group["title"] == expected_titles[group["type"]]
            assert group["id"] == dotnet_guid_of_md5(group["type"] + group["title"])

        classifiers = run.get("/api/recoverability/classifiers")
        assert classifiers.json()[0] == "Exception Type and Stack Trace"
        assert classifiers.headers["Total-Count"] == "5"
        by_type = run.get("/api/recoverability/groups/Message%20Type").json()
        assert [(g["title"], g["count"], g["operation_status"]) for g in by_type] == [
            ("Sales.Messages.PlaceOrder", 1, "None")
        ]


def test_message_without_failedq_becomes_a_failed_import_and_fails_the_custom_check(lab_broker: Broker, tmp_path: Path):
    broker = lab_broker
    env = base_environ("error", broker, str(tmp_path / "db"))
    with running_instance("error", env, broker) as run, broker.open() as transport:
        transport.send(broker.name("error"), failed_message(without=("NServiceBus.FailedQ",)))

        def import_check():
            checks = run.get("/api/customchecks", params={"status": "fail"}).json()
            return [c for c in checks if c["custom_check_id"] == "Error Message Ingestion"]

        failing = wait_until(import_check, what="the failed-import custom check")
        assert "failed to import" in failing[0]["failure_reason"]
        assert errors(run) == []
        assert transport.depth(broker.name("error")) == 0
        assert run.engine.failed_imports()[0]["exception_info"].endswith(
            "Missing 'NServiceBus.FailedQ' header. Message is poison message or incorrectly send to (error) queue."
        )


def test_forwards_to_the_error_log_queue_after_the_startup_probe(lab_broker: Broker, tmp_path: Path):
    log_queue = lab_broker.name("error_backup")
    env = base_environ(
        "error",
        lab_broker,
        str(tmp_path / "db"),
        SERVICECONTROL_FORWARDERRORMESSAGES="true",
        SERVICEBUS_ERRORLOGQUEUE=log_queue,
    )
    with running_instance("error", env, lab_broker) as run, lab_broker.open() as transport:
        assert transport.queue_exists(log_queue), "setup creates the log queue when forwarding"
        endpoint = lab_broker.name("Sales")
        sent = failed_message(endpoint)
        transport.send(lab_broker.name("error"), sent)
        wait_until(lambda: errors(run), what="ingestion")
        forwarded = wait_until(lambda: transport.depth(log_queue) >= 2 and drain(transport, log_queue))
        probe, copy = forwarded
        assert probe.body == b""
        assert not {k for k in probe.headers if not k.startswith("NServiceBus.Transport")} - {"NServiceBus.MessageId"}
        assert copy.headers["NServiceBus.MessageId"] == sent.headers["NServiceBus.MessageId"]
        assert copy.headers["NServiceBus.FailedQ"] == endpoint
        assert copy.body == sent.body


def test_missing_log_queue_stops_the_instance_at_startup(lab_broker: Broker, tmp_path: Path):
    broker = lab_broker
    env = base_environ("error", broker, str(tmp_path / "db"), SERVICECONTROL_FORWARDERRORMESSAGES="true")
    # No --setup: the log queue error.nolog.log does not exist.
    with broker.open() as transport:
        transport.create_queue(broker.name("error"))
        transport.create_queue(broker.name("Particular.ServiceControl"))
    with running_instance("error", env, broker, setup=False) as run:
        wait_until(run.instance.stopped.is_set, what="the instance to stop itself")
        assert run.instance.fatal_reason == "Unable to write to forwarding queue %s.log" % broker.name("error")


def test_forwarding_failure_while_running_fails_the_ingestion_check_and_restarts(tmp_path: Path):
    # Removes the log queue's directory while the instance runs: a Learning-transport manipulation.
    broker = Broker("LearningTransport", str(tmp_path / "lt"), "fwd")
    log_queue = broker.name("error") + ".log"
    env = base_environ(
        "error",
        broker,
        str(tmp_path / "db"),
        SERVICECONTROL_FORWARDERRORMESSAGES="true",
        SERVICECONTROL_VALIDATECONFIG="false",
        SERVICECONTROL_TIMETORESTARTERRORINGESTIONAFTERFAILURE="00:00:01",
    )
    with running_instance("error", env, broker) as run, broker.open() as transport:
        wait_until(run.engine.ingestion_running.is_set, what="ingestion start")
        shutil.rmtree(Path(broker.connection_string) / log_queue)
        for _ in range(60):
            transport.send(broker.name("error"), failed_message("Sales"))

        def process_check():
            checks = run.get("/api/customchecks").json()
            return next(c for c in checks if c["custom_check_id"] == "Error Message Ingestion Process")

        failing = wait_until(
            lambda: process_check().get("failure_reason") == "Unable to write to forwarding queue %s" % log_queue,
            timeout=20,
            what="the restart attempt to fail on the missing log queue",
        )
        assert failing
        assert process_check()["status"] == "fail"
        transport.create_queue(log_queue)
        wait_until(lambda: process_check()["status"] == "pass", timeout=10, what="ingestion to restart")


def test_retry_round_trip_headers_acknowledgement_and_refailure(lab_broker: Broker, tmp_path: Path):
    endpoint = lab_broker.name("Sales")
    error_queue = lab_broker.name("error")
    env = base_environ("error", lab_broker, str(tmp_path / "db"))
    with running_instance("error", env, lab_broker) as run, lab_broker.open() as transport:
        transport.create_queue(endpoint)
        original = failed_message(endpoint)
        transport.send(error_queue, original)
        unique_id = wait_until(lambda: errors(run), what="ingestion")[0]["id"]

        response = run.client.post("/api/errors/%s/retry" % unique_id)
        assert response.status_code == 202
        retried = wait_until(lambda: transport.receive(endpoint), what="the retried message")
        transport.complete(retried)
        headers = retried.headers
        assert retried.body == original.body
        assert headers["NServiceBus.MessageId"] == original.headers["NServiceBus.MessageId"]
        assert headers["ServiceControl.Retry.UniqueMessageId"] == unique_id
        assert headers["ServiceControl.Retry.AcknowledgementQueue"] == error_queue
        for removed in (
            "NServiceBus.FailedQ",
            "NServiceBus.TimeOfFailure",
            "NServiceBus.ExceptionInfo.StackTrace",
            "NServiceBus.Retries",
            "NServiceBus.Retries.Timestamp",
            "ServiceControl.Retry.StagingId",
            "ServiceControl.Retry.Attempt.MessageId",
            "ServiceControl.TargetEndpointAddress",
        ):
            assert removed not in headers, removed
        assert headers["NServiceBus.EnclosedMessageTypes"] == original.headers["NServiceBus.EnclosedMessageTypes"]
        assert transport.depth(lab_broker.name("Particular.ServiceControl") + ".staging") == 0
        wait_until(lambda: errors(run)[0]["status"] == "retryIssued", what="RetryIssued")

        # The endpoint fails again: the failure carries the unique id and becomes a second attempt.
        again = failed_message(endpoint, message_id=headers["NServiceBus.MessageId"])
        again.headers["ServiceControl.Retry.UniqueMessageId"] = unique_id
        transport.send(error_queue, again)
        refailed = wait_until(
            lambda: [e for e in errors(run) if e["status"] == "unresolved" and e["number_of_processing_attempts"] == 2],
            what="the repeated failure",
        )
        assert [e["id"] for e in refailed] == [unique_id]

        # Retry once more, then the endpoint acknowledges success into the error queue.
        assert run.client.post("/api/errors/retry", json=[unique_id]).status_code == 202
        second = wait_until(lambda: transport.receive(endpoint), what="the second retry")
        transport.complete(second)
        ack = {
            "NServiceBus.MessageId": str(uuid.uuid4()),
            "ServiceControl.Retry.Successful": "2026-01-01 10:00:00:000000 Z",
            "ServiceControl.Retry.UniqueMessageId": unique_id,
            "NServiceBus.ControlMessage": "True",
        }
        from lab.transports.base import LabMessage

        transport.send(second.headers["ServiceControl.Retry.AcknowledgementQueue"], LabMessage(headers=ack))
        wait_until(lambda: errors(run)[0]["status"] == "resolved", what="Resolved")
        assert errors(run, status="unresolved") == []

        history = run.get("/api/recoverability/history").json()
        assert [h["retry_type"] for h in history["historic_operations"]] == ["multipleMessages", "singleMessage"]
        assert history["unacknowledged_operations"] == []


def test_retry_all_group_retry_history_and_acknowledgement(lab_broker: Broker, tmp_path: Path):
    broker = lab_broker
    env = base_environ("error", broker, str(tmp_path / "db"), SERVICECONTROL_RETRYHISTORYDEPTH="2")
    endpoint = broker.name("Sales")
    with running_instance("error", env, broker) as run, broker.open() as transport:
        transport.create_queue(endpoint)
        for _ in range(3):
            transport.send(broker.name("error"), failed_message(endpoint))
        wait_until(lambda: len(errors(run)) == 3, what="three failures")
        group = run.get("/api/recoverability/groups").json()[0]
        assert group["count"] == 3

        assert run.client.post("/api/recoverability/groups/%s/errors/retry" % group["id"]).status_code == 202
        wait_until(lambda: transport.depth(endpoint) == 3, what="three retried messages")
        wait_until(lambda: len(errors(run, status="retryissued")) == 3, what="RetryIssued")
        history = wait_until(lambda: run.get("/api/recoverability/history").json()["unacknowledged_operations"])
        assert history[0]["request_id"] == group["id"]
        assert history[0]["retry_type"] == "failureGroup"
        assert history[0]["classifier"] == "Exception Type and Stack Trace"
        assert history[0]["number_of_messages_processed"] == 3
        closed = run.get("/api/recoverability/groups").json()
        assert [(g["id"], g["operation_status"], g["need_user_acknowledgement"]) for g in closed] == [
            (group["id"], "Completed", True)
        ]
        assert run.client.delete("/api/recoverability/unacknowledgedgroups/%s" % group["id"]).status_code == 200
        assert run.client.delete("/api/recoverability/unacknowledgedgroups/%s" % group["id"]).status_code == 404
        assert run.get("/api/recoverability/groups").json() == []

        for _ in range(2):
            transport.send(broker.name("error"), failed_message(endpoint))
        wait_until(lambda: len(errors(run, status="unresolved")) == 2, what="two new failures")
        assert run.client.post("/api/errors/retry/all").status_code == 202
        wait_until(lambda: not errors(run, status="unresolved"), what="retry all")
        # The retry-all operation is recorded when its batch completes: wait for it, not just for any history.
        operations = wait_until(
            lambda: (
                (ops := run.get("/api/recoverability/history").json()["historic_operations"]) and len(ops) >= 2 and ops
            ),
            what="the retry-all operation in the history",
        )
        assert len(operations) == 2, "RetryHistoryDepth=2 keeps two operations"
        assert (operations[0]["request_id"], operations[0]["retry_type"]) == ("All", "all")


def test_archive_and_unarchive(lab_broker: Broker, tmp_path: Path):
    broker = lab_broker
    env = base_environ("error", broker, str(tmp_path / "db"))
    with running_instance("error", env, broker) as run, broker.open() as transport:
        for _ in range(2):
            transport.send(broker.name("error"), failed_message("Sales"))
        ids = [e["id"] for e in wait_until(lambda: len(errors(run)) == 2 and errors(run))]

        assert run.client.post("/api/errors/archive", json=[ids[0]]).status_code == 202
        wait_until(lambda: [e["id"] for e in errors(run, status="archived")] == [ids[0]], what="archived")
        assert [e["id"] for e in errors(run, status="-archived")] == [ids[1]]
        head = run.client.head("/api/errors", params={"status": "unresolved"})
        assert head.headers["Total-Count"] == "1"
        archived_groups = run.get("/api/errors/groups").json()
        assert archived_groups[0]["count"] == 1

        assert run.client.patch("/api/errors/unarchive", json=[ids[0]]).status_code == 202
        wait_until(lambda: len(errors(run, status="unresolved")) == 2, what="unarchived")

        group_id = run.get("/api/recoverability/groups").json()[0]["id"]
        assert run.client.post("/api/recoverability/groups/%s/errors/archive" % group_id).status_code == 202
        wait_until(lambda: len(errors(run, status="archived")) == 2, what="group archived")
        closed = wait_until(lambda: run.get("/api/recoverability/groups").json())
        assert closed[0]["operation_status"] == "ArchiveCompleted"
        assert closed[0]["need_user_acknowledgement"] is True
        assert closed[0]["operation_messages_completed_count"] == 2
        assert run.client.delete("/api/recoverability/unacknowledgedgroups/%s" % group_id).status_code == 200
        assert run.get("/api/recoverability/groups").json() == []


def test_restart_keeps_the_data(lab_broker: Broker, tmp_path: Path):
    broker = lab_broker
    env = base_environ("error", broker, str(tmp_path / "db"))
    with running_instance("error", env, broker) as run, broker.open() as transport:
        transport.send(broker.name("error"), failed_message("Sales"))
        before = wait_until(lambda: errors(run), what="ingestion")
        run.client.post("/api/recoverability/groups/%s/comment" % before[0]["id"], params={"comment": "x"})
    with running_instance("error", env, broker, setup=False) as run:
        assert errors(run) == before


def test_ingestion_disabled_leaves_messages_in_the_error_queue(lab_broker: Broker, tmp_path: Path):
    broker = lab_broker
    env = base_environ("error", broker, str(tmp_path / "db"), INGESTERRORMESSAGES="false")
    with broker.open() as transport:
        transport.create_queue(broker.name("error"))
    with running_instance("error", env, broker) as run, broker.open() as transport:
        assert broker.name("error") not in run.instance.setup(), "setup skips the error queue"
        transport.send(broker.name("error"), failed_message("Sales"))
        assert run.get("/api/configuration").status_code == 200
        wait_until(lambda: run.engine._stop.wait(0.5) or True)  # give a would-be ingester time
        assert transport.depth(broker.name("error")) == 1
        assert errors(run) == []
        checks = [c["custom_check_id"] for c in run.get("/api/customchecks").json()]
        assert "Error Message Ingestion Process" not in checks


def test_ingest_error_messages_is_ignored_before_4_33(lab_broker: Broker, tmp_path: Path):
    broker = lab_broker
    # 4.x reads only "ServiceControl/Name" and "ServiceControl_Name" variables (no bare or upper-case names).
    env = {
        "ServiceControl/TransportType": broker.transport_type,
        "ServiceControl_ConnectionString": broker.connection_string,
        "ServiceControl/ForwardErrorMessages": "false",
        "ServiceControl/ErrorRetentionPeriod": "10.00:00:00",
        "ServiceControl/DbPath": str(tmp_path / "db"),
        "ServiceControl/Port": "0",
        "ServiceControl/InternalQueueName": broker.name("Particular.ServiceControl"),
        "ServiceBus/ErrorQueue": broker.name("error"),
        "ServiceControl/IngestErrorMessages": "false",
        "LAB_SERVICECONTROL_VERSION": "4.32.0",
    }
    with running_instance("error", env, broker) as run, broker.open() as transport:
        assert run.get("/api").headers["X-Particular-Version"] == "4.32.0"
        transport.send(broker.name("error"), failed_message("Sales"))
        wait_until(lambda: errors(run), what="ingestion despite IngestErrorMessages=false")


@pytest.mark.parametrize("version", ["5.11.0", "6.19.2"])
def test_version_header_follows_the_simulated_version(tmp_path: Path, version: str):
    broker = Broker("LearningTransport", str(tmp_path / "lt"), "v")
    env = base_environ("error", broker, str(tmp_path / "db"), LAB_SERVICECONTROL_VERSION=version)
    with running_instance("error", env, broker) as run:
        for path in ("/api", "/api/configuration", "/api/errors", "/api/errors/nope"):
            assert run.get(path).headers["X-Particular-Version"] == version


def test_remotes_status_version_and_message_scatter_gather(lab_broker: Broker, tmp_path: Path):
    broker = lab_broker
    audit_env = base_environ("audit", broker, str(tmp_path / "adb"), LAB_SERVICECONTROL_VERSION="6.18.0")
    audit_env["SERVICECONTROL_AUDIT_SERVICECONTROLQUEUEADDRESS"] = broker.name("Particular.ServiceControl")
    with running_instance("audit", audit_env, broker) as audit, broker.open() as transport:
        audit_url = audit.instance.url
        closed_port = "http://127.0.0.1:9/api"
        remotes = '[{"api_uri":"%s"},{"api_uri":"%s"}]' % (audit_url, closed_port)
        env = base_environ("error", broker, str(tmp_path / "db"), REMOTEINSTANCES=remotes)
        with running_instance("error", env, broker) as run:
            result = run.get("/api/configuration/remotes").json()
            assert [(r["api_uri"], r["status"], r["version"]) for r in result] == [
                (audit_url.replace("/api", ""), "online", "6.18.0"),
                ("http://127.0.0.1:9", "unavailable", "Unknown"),
            ]
            assert result[0]["configuration"]["transport"]["audit_queue"] == broker.name("audit")
            assert "configuration" not in result[1]

            def remotes_check():
                checks = run.get("/api/customchecks", params={"status": "fail"}).json()
                return [c for c in checks if c["custom_check_id"] == "ServiceControl Remotes"]

            failing = wait_until(remotes_check, what="the remotes custom check")
            assert (
                "The remote instance at 'http://127.0.0.1:9' doesn't seem to be available"
                in failing[0]["failure_reason"]
            )
            assert failing[0]["category"] == "Health"

            transport.send(broker.name("audit"), audit_message_for("Shipping"))
            transport.send(broker.name("error"), failed_message("Sales"))
            wait_until(lambda: errors(run), what="error ingestion")
            messages = wait_until(
                lambda: len(run.get("/api/messages").json()) == 2 and run.get("/api/messages"),
                what="audit + failed messages",
            )
            assert messages.headers["Total-Count"] == "2"
            statuses = sorted(m["status"] for m in messages.json())
            assert statuses == ["failed", "successful"]


def audit_message_for(endpoint: str):
    from lab.tests.instance_support import audit_message

    return audit_message(endpoint)
