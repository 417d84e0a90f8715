"""Retention: what expires after ErrorRetentionPeriod, EventsRetentionPeriod and AuditRetentionPeriod, and what not.

Held against docs/reference/servicecontrol.md §1.13. The periods are valid ServiceControl values (5 days, 1 hour);
the lab-only ``LAB_RETENTION_CLOCK_SPEED`` makes them pass in about two seconds, and the real setting
``ExpirationProcessTimerInSeconds=1`` runs the expiry sweep every second.
"""

from __future__ import annotations

import datetime as dt
import uuid

from lab.tests.instance_support import (
    Broker,
    audit_message,
    base_environ,
    failed_message,
    running_instance,
    wait_until,
    wire,
)
from lab.transports.base import LabMessage

#: Five days (the shortest valid ErrorRetentionPeriod) in two seconds.
ERROR_SPEED = str(5 * 86400 / 2)
#: One hour (the shortest valid AuditRetentionPeriod) in two seconds.
AUDIT_SPEED = str(3600 / 2)


def _ids(run, status: str) -> set[str]:
    return {v["id"] for v in run.get("/api/errors", params={"status": status, "per_page": "100"}).json()}


def test_resolved_and_archived_failures_and_events_expire(lab_broker: Broker, tmp_path):
    env = base_environ(
        "error",
        lab_broker,
        str(tmp_path / "db"),
        SERVICECONTROL_ERRORRETENTIONPERIOD="5",
        SERVICECONTROL_EVENTSRETENTIONPERIOD="5",
        SERVICECONTROL_EXPIRATIONPROCESSTIMERINSECONDS="1",
        LAB_RETENTION_CLOCK_SPEED=ERROR_SPEED,
    )
    sales = lab_broker.name("Sales")
    with running_instance("error", env, lab_broker) as run, lab_broker.open() as transport:
        transport.create_queue(sales)
        for _ in range(5):
            transport.send(lab_broker.name("error"), failed_message(sales))
        wait_until(lambda: len(_ids(run, "unresolved")) == 5, what="ingestion")
        archived, resolved, retried, unarchived, untouched = sorted(_ids(run, "unresolved"))
        assert run.get("/api/eventlogitems").headers["Total-Count"] == "5"
        for unique_id in (archived, unarchived):
            assert run.client.post("/api/errors/%s/archive" % unique_id).status_code == 202
        wait_until(lambda: _ids(run, "archived") == {archived, unarchived}, what="archiving")
        assert run.client.patch("/api/errors/unarchive", json=[unarchived]).status_code == 202
        assert run.client.post("/api/errors/%s/retry" % retried).status_code == 202
        confirmation = {
            "ServiceControl.Retry.Successful": wire(dt.datetime.now(dt.timezone.utc)),
            "ServiceControl.Retry.UniqueMessageId": resolved,
        }
        transport.send(lab_broker.name("error"), LabMessage(headers=confirmation, body=b""))
        wait_until(lambda: resolved in _ids(run, "resolved") and retried in _ids(run, "retryissued"), what="changes")

        def gone():
            remaining = (
                _ids(run, "unresolved") | _ids(run, "retryissued") | _ids(run, "archived") | _ids(run, "resolved")
            )
            return remaining == {retried, unarchived, untouched} and remaining

        wait_until(gone, timeout=15, what="the resolved and the archived message to expire")
        assert run.get("/api/errors/%s" % archived).status_code == 404
        assert run.get("/api/messages/%s/body" % resolved).status_code == 404
        wait_until(lambda: run.get("/api/eventlogitems").headers["Total-Count"] == "0", timeout=15, what="the events")


def test_processed_messages_and_saga_snapshots_expire(lab_broker: Broker, tmp_path):
    env = base_environ(
        "audit",
        lab_broker,
        str(tmp_path / "db"),
        SERVICECONTROL_AUDIT_AUDITRETENTIONPERIOD="01:00:00",
        SERVICECONTROL_AUDIT_EXPIRATIONPROCESSTIMERINSECONDS="1",
        SERVICECONTROL_AUDIT_SERVICECONTROLQUEUEADDRESS=lab_broker.name("unused"),
        LAB_RETENTION_CLOCK_SPEED=AUDIT_SPEED,
    )
    with lab_broker.open() as transport:
        transport.create_queue(lab_broker.name("unused"))
    saga_id = str(uuid.uuid4())
    snapshot = LabMessage(
        headers={"NServiceBus.EnclosedMessageTypes": "ServiceControl.SagaAudit.SagaUpdatedMessage"},
        body=(
            '{"SagaId": "%s", "SagaType": "Sales.OrderSaga", "IsNew": true, "Endpoint": "Sales", '
            '"StartTime": "2026-01-01T00:00:00Z", "FinishTime": "2026-01-01T00:00:01Z", "SagaState": "{}", '
            '"Initiator": {"InitiatingMessageId": "m1", "TimeSent": "2026-01-01T00:00:00Z"}, "ResultingMessages": []}'
            % saga_id
        ).encode(),
    )
    with running_instance("audit", env, lab_broker) as run, lab_broker.open() as transport:
        transport.send(lab_broker.name("audit"), audit_message(lab_broker.name("Shipping")))
        transport.send(lab_broker.name("audit"), snapshot)
        wait_until(lambda: run.get("/api/messages").headers["Total-Count"] == "1", what="ingestion")
        history = wait_until(lambda: run.get("/api/sagas/%s" % saga_id).status_code == 200 and run, what="the saga")
        assert history.get("/api/sagas/%s" % saga_id).json()["changes"][0]["status"] == "new"
        wait_until(
            lambda: run.get("/api/messages").headers["Total-Count"] == "0", timeout=15, what="the message to expire"
        )
        wait_until(lambda: run.get("/api/sagas/%s" % saga_id).status_code == 204, timeout=15, what="the snapshot")
