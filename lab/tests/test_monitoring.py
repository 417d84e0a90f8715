"""The lab's Monitoring instance: settings, queues, its root API, metrics in, the endpoints list and throughput out.

Held against docs/reference/servicecontrol.md §1.4 (settings), §2.12 (routes and shapes), §5 (queues) and §2.13
(the Error instance's licensing component that consumes the throughput reports); metrics messages are built by
hand in lab/tests/monitoring_support.py.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from lab.settings import SettingsError, load_settings
from lab.tests.instance_support import Broker, base_environ, running_instance, wait_until
from lab.tests.monitoring_support import endpoint_metadata, tagged_values
from lab.tests.test_instance_process import lab_command

UTC = dt.timezone.utc
MESSAGE_TYPE = "Sales.Messages.PlaceOrder, Sales.Messages, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null"


def test_settings_env_names_and_defaults():
    base = {"TRANSPORTTYPE": "LearningTransport", "MONITORING_HTTPHOSTNAME": "localhost", "MONITORING_HTTPPORT": "1"}
    settings = load_settings("monitoring", None, base)
    assert settings.instance_name == "Particular.Monitoring"
    assert settings.setup_queues() == ["Particular.Monitoring", "error"]
    assert settings.endpoint_uptime_grace_period == dt.timedelta(seconds=40)
    assert settings.throughput_data_queue == "ServiceControl.ThroughputData"
    assert settings.maximum_concurrency_level is None
    # The bare ERRORQUEUE reaches only the Monitoring instance's ErrorQueue (§1.1); InstanceName from 5.5.0.
    bare = load_settings("monitoring", None, {**base, "ERRORQUEUE": "mon-errors", "INSTANCENAME": "Mon"})
    assert (bare.error_queue, bare.instance_name) == ("mon-errors", "Mon")
    old = load_settings("monitoring", None, {**base, "LAB_SERVICECONTROL_VERSION": "5.4.0", "ENDPOINTNAME": "Old"})
    assert old.instance_name == "Old" and old.maximum_concurrency_level == 32
    container = load_settings(
        "monitoring", None, {"TRANSPORTTYPE": "LearningTransport", "DOTNET_RUNNING_IN_CONTAINER": "true"}
    )
    assert (container.host_name, container.port) == ("*", 33633)
    with pytest.raises(SettingsError):
        load_settings("monitoring", None, {"TRANSPORTTYPE": "LearningTransport"})
    with pytest.raises(SettingsError):
        load_settings("monitoring", None, {**base, "MONITORING_ENDPOINTUPTIMEGRACEPERIOD": "soon"})


def test_setup_from_the_command_line(tmp_path):
    env = {
        "TRANSPORTTYPE": "LearningTransport",
        "CONNECTIONSTRING": str(tmp_path / "lt"),
        "MONITORING_HTTPHOSTNAME": "localhost",
        "MONITORING_HTTPPORT": "1",
        "MONITORING_INSTANCENAME": "Mon.Setup",
    }
    done = lab_command("--kind", "monitoring", "--setup", env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Created", "queue", "Mon.Setup", "Created", "queue", "error"]
    assert (tmp_path / "lt" / "Mon.Setup").is_dir() and (tmp_path / "lt" / "error").is_dir()


def test_metrics_in_endpoints_and_throughput_out(lab_broker: Broker, tmp_path):
    monitoring_input = lab_broker.name("Particular.Monitoring")
    throughput_queue = lab_broker.name("ServiceControl.ThroughputData")
    sales = lab_broker.name("Sales")
    error_env = base_environ(
        "error", lab_broker, str(tmp_path / "e"), LICENSINGCOMPONENT_SERVICECONTROLTHROUGHPUTDATAQUEUE=throughput_queue
    )
    monitoring_env = base_environ("monitoring", lab_broker, str(tmp_path / "m"), LAB_MONITORING_REPORT_INTERVAL="0.3")
    with (
        running_instance("error", error_env, lab_broker) as error,
        running_instance("monitoring", monitoring_env, lab_broker) as monitoring,
        lab_broker.open() as transport,
    ):
        root = monitoring.get("/")
        assert root.json() == {"instanceType": "monitoring", "version": "6.19.2"}
        assert root.headers["X-Particular-Version"] == "6.19.2"
        assert monitoring.get("/api").status_code == 404, "no /api on a Monitoring instance"
        assert monitoring.get("/connection").json() == {
            "Metrics": {"Enabled": True, "MetricsQueue": monitoring_input, "Interval": "00:00:01"}
        }
        assert monitoring.get("/monitored-endpoints").json() == []
        assert set(monitoring.get("/license").json()) == {
            "trialLicense", "edition", "registeredTo", "upgradeProtectionExpiration", "expirationDate", "status"
        }  # fmt: skip

        transport.create_queue(sales)
        for _ in range(4):
            transport.send(sales, endpoint_metadata(sales, sales))  # four messages waiting in the endpoint's queue
        recent = dt.datetime.now(UTC) - dt.timedelta(seconds=15)
        timings = {MESSAGE_TYPE: [(recent, 100), (recent, 300)]}
        transport.send(monitoring_input, endpoint_metadata(sales, sales))
        transport.send(monitoring_input, tagged_values(sales, "ProcessingTime", timings))
        transport.send(monitoring_input, tagged_values(sales, "CriticalTime", {MESSAGE_TYPE: [(recent, 900)]}))
        # The three reports are separate messages: the endpoint can be listed before its timings are ingested.
        [endpoint] = wait_until(
            lambda: [
                e
                for e in monitoring.get("/monitored-endpoints").json()
                if e["metrics"]["processingTime"]["average"] and e["metrics"]["criticalTime"]["average"]
            ],
            what="the endpoint with its processing and critical times",
        )
        assert endpoint["name"] == sales
        assert endpoint["endpointInstanceIds"] == ["sales-1"]
        assert (endpoint["isStale"], endpoint["connectedCount"], endpoint["disconnectedCount"]) == (False, 1, 0)
        metrics = endpoint["metrics"]
        assert list(metrics) == ["processingTime", "criticalTime", "retries", "throughput", "queueLength"]
        assert metrics["processingTime"]["average"] == 200
        assert len(metrics["processingTime"]["points"]) == 60
        assert metrics["throughput"]["points"].count(0.4) == 1, "2 messages in one 5 s interval of the 5-minute view"
        queue_length = wait_until(
            lambda: monitoring.get("/monitored-endpoints").json()[0]["metrics"]["queueLength"]["average"] == 4 and 4,
            what="the measured length of the endpoint's input queue",
        )
        assert queue_length == 4
        one_minute = monitoring.get("/monitored-endpoints", params={"history": "1"}).json()[0]
        assert len(one_minute["metrics"]["processingTime"]["points"]) == 60
        assert monitoring.get("/monitored-endpoints", params={"history": "7"}).status_code == 500
        details = monitoring.get("/monitored-endpoints/%s" % sales).json()
        assert set(details) == {"digest", "instances", "messageTypes", "metricDetails"}
        assert details["messageTypes"][0]["typeName"] == "Sales.Messages.PlaceOrder"
        assert details["messageTypes"][0]["assemblyVersion"] == "1.0.0.0"
        assert details["metricDetails"]["metrics"]["processingTime"]["timeAxisValues"]
        assert monitoring.get("/monitored-endpoints/disconnected").json() == 0

        # The throughput report reaches the Error instance's licensing component.
        _assert_licensed(error, sales)

        monitoring.client.delete("/monitored-instance/%s/SALES-1" % sales)
        assert monitoring.get("/monitored-endpoints").json() == []


def test_a_message_it_cannot_handle_goes_to_its_error_queue(lab_broker: Broker, tmp_path):
    monitoring_input = lab_broker.name("Particular.Monitoring")
    env = base_environ("monitoring", lab_broker, str(tmp_path / "m"))
    with running_instance("monitoring", env, lab_broker) as monitoring, lab_broker.open() as transport:
        broken = endpoint_metadata("Sales", "Sales")
        broken.headers["NServiceBus.EnclosedMessageTypes"] = "Sales.Messages.Unknown"
        transport.send(monitoring_input, broken)
        failed = wait_until(lambda: transport.receive(lab_broker.name("error")), what="the failed message")
        transport.complete(failed)
        assert failed.headers["NServiceBus.FailedQ"] == monitoring_input
        assert "No handlers could be found" in failed.headers["NServiceBus.ExceptionInfo.Message"]
        assert json.loads(failed.body)["LocalAddress"] == "Sales"
        assert monitoring.get("/monitored-endpoints").json() == []


def _assert_licensed(error, sales: str) -> None:
    def licensed():
        return [e for e in error.get("/api/licensing/endpoints").json() if e["name"] == sales]

    [summary] = wait_until(licensed, timeout=15, what="the throughput report")
    assert summary["is_known_endpoint"] is True
    assert summary["user_indicator"] == "NServiceBusEndpoint"
    assert len(summary["name_hash"]) == 64 and summary["name_hash"] == summary["name_hash"].upper()
    assert summary["max_daily_throughput"] > 0
    assert summary["monthly_throughput"][0]["month"] == dt.datetime.now(UTC).strftime("%Y-%m")
    test = error.get("/api/licensing/settings/test").json()
    assert test["monitoring_connection_result"]["connection_successful"] is True
    available = error.get("/api/licensing/report/available").json()
    assert available["report_can_be_generated"] is False, "only today's data: not one complete day"
