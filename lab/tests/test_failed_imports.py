"""Failed imports: kept, counted by the ingestion custom checks, and re-imported by the command-line modes.

Held against docs/reference/servicecontrol.md §1.14 (failed imports, ``--import-failed-errors`` and
``--import-failed-audits``) and §2.8 (the "Error Message Ingestion" and "Audit Message Ingestion" checks).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from lab.instance.reimport import reimport
from lab.settings import load_settings
from lab.tests.instance_support import (
    Broker,
    audit_message,
    base_environ,
    failed_message,
    running_instance,
    wait_until,
)
from lab.tests.test_instance_process import lab_command
from lab.transports.base import LabMessage

FAILED_IMPORT_TEXT = "One or more error messages have failed to import properly into ServiceControl"
AUDIT_IMPORT_TEXT = "One or more audit messages have failed to import properly into ServiceControl.Audit"


def drop_queue(broker: Broker, transport, queue: str) -> None:
    """Take a queue away under a running instance (the broker's own tools, not the lab's transport API)."""
    if broker.transport_type == "LearningTransport":
        shutil.rmtree(Path(broker.connection_string) / queue)
        return
    channel = transport._connection.channel()
    channel.queue_delete(queue)
    channel.exchange_delete(queue)
    channel.close()


def check(run, check_id: str) -> dict | None:
    return next((c for c in run.get("/api/customchecks").json() if c["custom_check_id"] == check_id), None)


def probe() -> LabMessage:
    """What a forwarding primary sends to its log queue at start: no headers, no body (§4.3)."""
    return LabMessage(headers={}, body=b"")


def test_error_failed_imports_are_counted_and_reimported(lab_broker: Broker, tmp_path):
    log_queue = lab_broker.name("error") + ".log"
    env = base_environ("error", lab_broker, str(tmp_path / "db"), SERVICECONTROL_FORWARDERRORMESSAGES="true")
    with running_instance("error", env, lab_broker) as run, lab_broker.open() as transport:
        wait_until(run.engine.ingestion_running.is_set, what="ingestion")
        assert check(run, "Error Message Ingestion")["status"] == "pass"
        drop_queue(lab_broker, transport, log_queue)
        transport.send(lab_broker.name("error"), failed_message("Sales"))  # cannot be forwarded now
        transport.send(lab_broker.name("error"), probe())  # cannot be imported at all
        wait_until(lambda: len(run.engine.failed_imports()) == 2, timeout=20, what="two failed imports")
        failing = check(run, "Error Message Ingestion")
        assert failing["status"] == "fail"
        assert failing["failure_reason"].startswith(FAILED_IMPORT_TEXT)
        assert failing["category"] == "ServiceControl Health"

    with lab_broker.open() as transport:
        transport.create_queue(log_queue)
    result = reimport(load_settings("error", None, env), lab_broker.open)
    assert (result.succeeded, result.failed) == (1, 1), "the failure now forwards; the probe still has no headers"
    with lab_broker.open() as transport:
        forwarded = [transport.receive(log_queue) for _ in range(2)]
        # VerifyCanReachForwardingAddress's probe first, then the re-imported failure.
        assert forwarded[0].body == b"" and "NServiceBus.FailedQ" not in forwarded[0].headers
        assert forwarded[1].headers["NServiceBus.FailedQ"] == "Sales"
    with running_instance("error", env, lab_broker, setup=False) as run:
        assert len(run.engine.failed_imports()) == 1
        assert check(run, "Error Message Ingestion")["status"] == "fail"


def test_audit_failed_imports_are_reported_and_reimported(lab_broker: Broker, tmp_path):
    error_env = base_environ("error", lab_broker, str(tmp_path / "e"))
    log_queue = lab_broker.name("audit") + ".log"
    audit_env = base_environ(
        "audit",
        lab_broker,
        str(tmp_path / "a"),
        SERVICECONTROL_AUDIT_FORWARDAUDITMESSAGES="true",
        SERVICECONTROL_AUDIT_SERVICECONTROLQUEUEADDRESS=error_env["SERVICECONTROL_INSTANCENAME"],
    )
    with running_instance("error", error_env, lab_broker) as error:
        with running_instance("audit", audit_env, lab_broker) as audit, lab_broker.open() as transport:
            wait_until(audit.engine.ingestion_running.is_set, what="ingestion")
            passing = wait_until(lambda: check(error, "Audit Message Ingestion"), what="the audit instance's check")
            assert passing["status"] == "pass"
            assert passing["category"] == "ServiceControl.Audit Health"
            assert passing["originating_endpoint"]["name"] == audit_env["SERVICECONTROL_AUDIT_INSTANCENAME"]
            drop_queue(lab_broker, transport, log_queue)
            transport.send(lab_broker.name("audit"), audit_message(lab_broker.name("Shipping")))
            transport.send(lab_broker.name("audit"), probe())
            wait_until(lambda: audit.engine.failed_import_count() == 2, timeout=20, what="two failed imports")
        with lab_broker.open() as transport:
            transport.create_queue(log_queue)
        # The check runs when the instance starts and then hourly: the restart reports the failed imports.
        with running_instance("audit", audit_env, lab_broker, setup=False):
            wait_until(lambda: check(error, "Audit Message Ingestion")["status"] == "fail", what="the failure")
        assert check(error, "Audit Message Ingestion")["failure_reason"].startswith(AUDIT_IMPORT_TEXT)

        result = reimport(load_settings("audit", None, audit_env), lab_broker.open)
        assert (result.succeeded, result.failed) == (1, 1)
        with running_instance("audit", audit_env, lab_broker, setup=False) as audit:
            assert audit.engine.failed_import_count() == 1
            assert audit.get("/api/messages").headers["Total-Count"] == "1"
        with lab_broker.open() as transport:
            copies = [m for m in iter(lambda: transport.receive(log_queue), None)]
            forwarded = [m for m in copies if m.headers.get("NServiceBus.ProcessingEndpoint")]
            assert [m.headers["NServiceBus.ProcessingEndpoint"] for m in forwarded] == [lab_broker.name("Shipping")]


def test_command_line_modes(tmp_path):
    broker = Broker("LearningTransport", str(tmp_path / "lt"), "cli")
    env = base_environ("error", broker, str(tmp_path / "db"))
    with running_instance("error", env, broker) as run, broker.open() as transport:
        transport.send(broker.name("error"), probe())
        wait_until(run.engine.failed_imports, timeout=20, what="the failed import")
    done = lab_command("--kind", "error", "--import-failed-errors", env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Successfully re-imported 0 messages. Failed re-importing 1 messages" in done.stderr
    wrong = lab_command("--kind", "error", "--import-failed-audits", env=env, timeout=60)
    assert wrong.returncode == 2
