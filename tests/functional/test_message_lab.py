# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cross-check: servicecontrol.platform.message, run by real ansible, feeding lab ServiceControl instances.

The lab is an independent implementation of ServiceControl's ingestion (lab/), with its own transports and its own
unique-id rule, so a probe it ingests under the ids the module returned is a probe both read the same way. The Error
instance runs on the Learning transport and on RabbitMQ, the Audit instance on the Learning transport.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid

import pytest
from functional_support import endpoint, free_port, lab_instance, require_reachable, run_module

from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import open_transport

FAILED_IMPORT_CHECK = "Error Message Ingestion"


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def wait_for(what, probe, seconds=30):
    """Poll until probe() returns something true; fail with ``what`` otherwise."""
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, "the lab instance did not show %s within %d s" % (what, seconds)
        time.sleep(0.3)


def send(transport, connection_string, queue, check_mode=False, **options):
    extra = ("--check",) if check_mode else ()
    result = run_module(
        "servicecontrol.platform.message",
        {"transport": transport, "connection_string": connection_string, "queue": queue, **options},
        *extra,
    )
    assert not result["failed"], result
    return result


def failed_view(url, message_id):
    return next((item for item in get_json(url + "/errors?per_page=500") if item["message_id"] == message_id), None)


def failed_import_reported(url):
    checks = get_json(url + "/customchecks?per_page=500")
    return any(c["custom_check_id"] == FAILED_IMPORT_CHECK and c["status"] == "fail" for c in checks)


@pytest.fixture(params=["LearningTransport", "RabbitMQ.QuorumConventionalRouting"])
def error_instance(request, tmp_path):
    """A lab Error instance ingesting its own error queue; yields (url, transport, connection string, error queue)."""
    transport, tag = request.param, uuid.uuid4().hex[:8]
    if transport == "LearningTransport":
        connection_string = str(tmp_path / "lt")
    else:
        require_reachable(endpoint("SCTEST_RABBITMQ_MANAGEMENT_URL"), "RabbitMQ management API")
        connection_string = endpoint("SCTEST_RABBITMQ_CONNECTION_STRING")
    instance, error_queue, port = "Particular.ServiceControl.%s" % tag, "error-%s" % tag, free_port()
    environment = {
        "SERVICECONTROL_TRANSPORTTYPE": transport,
        "SERVICECONTROL_CONNECTIONSTRING": connection_string,
        "SERVICECONTROL_INSTANCENAME": instance,
        "SERVICEBUS_ERRORQUEUE": error_queue,
        "SERVICECONTROL_PORT": str(port),
        "SERVICECONTROL_DBPATH": str(tmp_path / "db-error"),
        "SERVICECONTROL_FORWARDERRORMESSAGES": "false",
        "SERVICECONTROL_ERRORRETENTIONPERIOD": "15",
        "LAB_SERVICECONTROL_VERSION": "6.19.2",
    }
    try:
        with lab_instance("error", environment, tmp_path, port) as url:
            yield url, transport, connection_string, error_queue
    finally:
        if transport != "LearningTransport":
            # The queues the instance's setup made for this run (ServiceControl.ThroughputData is shared).
            with open_transport(transport, connection_string) as broker:
                for name in (error_queue, instance, instance + ".Errors", instance + ".staging"):
                    broker.delete(name)


def test_the_lab_ingests_the_probe_failure_under_the_ids_the_module_returned(error_instance):
    url, transport, connection_string, error_queue = error_instance
    dry = send(transport, connection_string, error_queue, check_mode=True, endpoint="Sales")
    sent = send(transport, connection_string, error_queue, endpoint="Sales")
    assert dry["changed"] is sent["changed"] is True

    view = wait_for("the probe failure", lambda: failed_view(url, sent["message_id"]))
    assert view["id"] == sent["unique_message_id"]
    assert view["status"] == "unresolved"
    assert view["exception"]["exception_type"] == "ServiceControl.Platform.ProbeException"
    assert view["exception"]["message"] == sent["headers"]["NServiceBus.ExceptionInfo.Message"]
    assert view["receiving_endpoint"]["name"] == view["sending_endpoint"]["name"] == "Sales"
    assert view["queue_address"] == "Sales"
    assert view["message_type"] == "ServiceControl.Platform.ProbeMessage"
    document = get_json(url + "/errors/" + sent["unique_message_id"])
    (attempt,) = document["processing_attempts"]
    assert attempt["message_id"] == sent["message_id"]
    assert attempt["headers"]["ServiceControl.Platform.Probe"] == sent["message_id"]
    # Check mode sent nothing: only the real probe arrived.
    assert failed_view(url, dry["message_id"]) is None
    assert not failed_import_reported(url)


def test_a_message_without_failed_q_lands_as_a_failed_import(error_instance):
    url, transport, connection_string, error_queue = error_instance
    sent = send(transport, connection_string, error_queue, headers={"NServiceBus.FailedQ": None})
    assert "failed import" in sent["notes"][0]
    wait_for("a failed import", lambda: failed_import_reported(url))
    assert failed_view(url, sent["message_id"]) is None


def test_the_lab_audit_instance_ingests_the_probe_audit(tmp_path):
    port, root = free_port(), tmp_path / "lt"
    # RegisterNewEndpoint goes to ServiceControlQueueAddress, which must exist.
    (root / "Particular.ServiceControl").mkdir(parents=True)
    environment = {
        "SERVICECONTROL_AUDIT_TRANSPORTTYPE": "LearningTransport",
        "SERVICECONTROL_AUDIT_CONNECTIONSTRING": str(root),
        "SERVICECONTROL_AUDIT_PORT": str(port),
        "SERVICECONTROL_AUDIT_DBPATH": str(tmp_path / "db-audit"),
        "SERVICECONTROL_AUDIT_FORWARDAUDITMESSAGES": "false",
        "SERVICECONTROL_AUDIT_SERVICECONTROLQUEUEADDRESS": "Particular.ServiceControl",
        "LAB_SERVICECONTROL_VERSION": "6.19.2",
    }
    with lab_instance("audit", environment, tmp_path, port) as url:
        sent = send("LearningTransport", str(root), "audit", kind="audit", endpoint="Sales")

        def audited():
            return next(
                (m for m in get_json(url + "/messages?per_page=500") if m["message_id"] == sent["message_id"]), None
            )

        view = wait_for("the probe audit", audited)
    assert view["id"] == sent["unique_message_id"]
    assert view["receiving_endpoint"]["name"] == "Sales"
    headers = {item["key"]: item["value"] for item in view["headers"]}
    assert headers["ServiceControl.Platform.Probe"] == sent["message_id"]
    assert headers["NServiceBus.ProcessingStarted"] == sent["headers"]["NServiceBus.ProcessingStarted"]
