"""The lab's Monitoring instance: metrics from the endpoints' NServiceBus.Metrics plugin in, throughput reports out.

ServiceControl.Monitoring 6.19.2 (docs/reference/servicecontrol.md §1.4, §2.12, §5):

- it consumes its input queue ``<InstanceName>``, where the endpoints' metrics plugin sends
  ``TaggedLongValueOccurrence`` batches (binary, ``NServiceBus.ContentType: TaggedLongValueWriterOccurrence``,
  ``NServiceBus.Metric.Type`` ProcessingTime, CriticalTime, Retries or QueueLength), ``EndpointMetadataReport``
  (JSON, the endpoint's input queue) and the legacy ``MetricReport`` (Messaging/, Timings/, Retries/,
  QueueLength/, Infrastructure/EndpointTracker);
- it measures the depth of every reported input queue itself every 200 ms (the transports' QueueLengthProvider);
- a message it cannot handle is retried immediately three times and then moved to ``Monitoring/ErrorQueue``
  with the fault headers (its recoverability: Immediate(3), Delayed(0));
- every 5 minutes it sends ``RecordEndpointThroughputData`` (the last 5 minutes' throughput per endpoint) to
  ``Monitoring/ServiceControlThroughputDataQueue`` (ReportThroughputHostedService), which the Error instance
  consumes; ``LAB_MONITORING_REPORT_INTERVAL`` shortens that for tests;
- every 5 minutes it forgets endpoint instances not seen for an hour plus the grace period
  (RemoveExpiredEndpointInstances). Nothing is persisted.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import struct
import threading
from collections.abc import Callable

from lab.instance import common as c
from lab.instance.consumer import consume, moved_to_error_queue
from lab.instance.monitoring.metrics import EndpointInstance, MetricsModel, monitored_endpoints, now_ticks
from lab.instance.runtime import FailureCounter, InstanceEngine, TransportFactory, command_message
from lab.settings_monitoring import MonitoringSettings
from lab.transports import transport_address
from lab.transports.base import LabMessage, LabTransport

log = logging.getLogger("lab.instance.monitoring")

METRIC_TYPE = "NServiceBus.Metric.Type"
METRIC_INSTANCE_ID = "NServiceBus.Metric.InstanceId"
TAGGED_CONTENT_TYPE = "TaggedLongValueWriterOccurrence"
ENDPOINT_METADATA_REPORT = "NServiceBus.Metrics.EndpointMetadataReport"
METRIC_REPORT = "NServiceBus.Metrics.MetricReport"
THROUGHPUT_DATA = (
    "NServiceBus.Metrics.RecordEndpointThroughputData, ServiceControl.Monitoring, Version=6.19.2.0, "
    "Culture=neutral, PublicKeyToken=null"
)
QUEUE_LENGTH_POLL = 0.2
EXPIRED_INSTANCES_INTERVAL = 300.0
#: The history (minutes) a throughput report covers.
REPORT_HISTORY = 5


def parse_tagged_values(body: bytes) -> dict[str, list[tuple[int, int]]]:
    """TaggedLongValueSerializer (version 1): tag -> [(date ticks, value)], little-endian .NET BinaryReader."""
    (version,) = struct.unpack_from("<q", body, 0)
    if version != 1:
        raise ValueError("The message version number '%d' cannot be handled properly." % version)
    base_ticks, tag_count = struct.unpack_from("<qi", body, 8)
    offset, tags = 20, {}
    for _ in range(tag_count):
        key, length = struct.unpack_from("<ii", body, offset)
        offset += 8
        tags[key] = body[offset : offset + length].decode("utf-8")
        offset += length
    (count,) = struct.unpack_from("<i", body, offset)
    offset += 4
    entries: dict[str, list[tuple[int, int]]] = {tag: [] for tag in tags.values()}
    for _ in range(count):
        delta, key, value = struct.unpack_from("<iiq", body, offset)
        offset += 16
        entries[tags[key]].append((base_ticks + delta, value))
    return entries


def instance_of(headers: dict[str, str]) -> EndpointInstance:
    """EndpointInstanceId.From: the metric instance id, else the host id named by its host display name."""
    endpoint = headers[c.ORIGINATING_ENDPOINT]
    if METRIC_INSTANCE_ID in headers:
        return EndpointInstance(endpoint, headers[METRIC_INSTANCE_ID], headers[METRIC_INSTANCE_ID])
    return EndpointInstance(endpoint, headers[c.ORIGINATING_HOST_ID], headers[c.HOST_DISPLAY_NAME])


class MonitoringInstance(InstanceEngine):
    kind = "monitoring"
    settings: MonitoringSettings

    def __init__(
        self,
        settings: MonitoringSettings,
        transport_factory: TransportFactory,
        store=None,
        on_fatal: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(settings, transport_factory, store, on_fatal)
        self.model = MetricsModel(settings.endpoint_uptime_grace_period)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._failures = FailureCounter()
        self.reports_sent = 0

    def start(self) -> None:
        for name, target in (
            ("input", self._consume),
            ("queue lengths", self._measure_queue_lengths),
            ("expired instances", self._remove_expired_instances),
        ):
            self._spawn(name, target)
        if self.settings.throughput_data_queue and self.settings.throughput_data_queue.strip():
            self._spawn("throughput reports", self._report_throughput)

    def _spawn(self, name: str, target) -> None:
        thread = threading.Thread(target=target, name="%s %s" % (self.settings.instance_name, name), daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=10)

    # ------------------------------------------------------------------ the input queue

    def handle(self, message: LabMessage) -> None:
        headers = message.headers
        if headers.get(c.CONTENT_TYPE) == TAGGED_CONTENT_TYPE:
            instance = instance_of(headers)
            metric = headers[METRIC_TYPE]
            self.model.record_instance(instance)
            for tag, entries in parse_tagged_values(message.body).items():
                if metric == "QueueLength":
                    self.model.record_queue_length(instance.endpoint, tag, entries)
                else:
                    self.model.record(metric, instance, tag, entries)
            return
        enclosed = headers.get(c.ENCLOSED_TYPES, "")
        if ENDPOINT_METADATA_REPORT in enclosed:
            report = json.loads(message.body.decode("utf-8"))
            self.model.record_instance(instance_of(headers))
            self.model.track_input_queue(headers[c.ORIGINATING_ENDPOINT], report.get("LocalAddress"))
            return
        if METRIC_REPORT in enclosed:
            self.model.record_instance(instance_of(headers))
            return
        raise RuntimeError("No handlers could be found for message type: %s" % enclosed.split(",")[0])

    def _consume(self) -> None:
        consume(self.transport_factory, self.settings.instance_name, self._stop, self._on_message)

    def _on_message(self, transport: LabTransport, message: LabMessage) -> None:
        try:
            self.handle(message)
        except Exception as exc:
            if self._failures.retry_immediately(transport, message):
                return
            log.error("Moving message %s to %s: %s", message.message_id, self.settings.error_queue, exc)
            failed = moved_to_error_queue(message, self.settings.instance_name, exc, type(exc).__name__)
            transport.send(self.settings.error_queue, failed)
        self._failures.forget(message)
        transport.complete(message)

    @staticmethod
    def _drop(transport: LabTransport | None) -> None:
        if transport is not None:
            transport.close()

    # ------------------------------------------------------------------ background work

    def _measure_queue_lengths(self) -> None:
        transport: LabTransport | None = None
        while not self._stop.wait(QUEUE_LENGTH_POLL):
            with self.model.lock:
                tracked = [(e, q) for e, queues in self.model.input_queues.items() for q in queues if q]
            if not tracked:
                continue
            try:
                if transport is None:
                    transport = self.transport_factory()
                for endpoint, queue in tracked:
                    try:
                        depth = transport.depth(queue)
                    except Exception as exc:  # a queue that cannot be measured is left out, as the providers do
                        log.debug("Queue %s not measured: %s", queue, exc)
                        continue
                    self.model.record_queue_length(endpoint, queue, [(now_ticks(), depth)])
            except Exception as exc:
                log.debug("Queue lengths not measured: %s", exc)
                transport = self._drop(transport)
        self._drop(transport)

    def _remove_expired_instances(self) -> None:
        while not self._stop.wait(EXPIRED_INSTANCES_INTERVAL):
            with self.model.lock:
                for key in [k for k in self.model.instances if self.model.is_expired(k)]:
                    self.model.delete_instance(*key)

    def throughput_report(self) -> dict | None:
        """RecordEndpointThroughputData for the last 5 minutes, or None when no endpoint reported."""
        endpoints = monitored_endpoints(self.model, REPORT_HISTORY)
        if not endpoints:
            return None
        now = c.utcnow()
        data = []
        for endpoint in endpoints:
            average = endpoint["metrics"]["throughput"]["average"] or 0
            data.append({"Name": endpoint["name"], "Throughput": round(average * REPORT_HISTORY * 60)})
        start = now - dt.timedelta(minutes=REPORT_HISTORY)
        return {"EndpointThroughputData": data, "StartDateTime": c.json_date(start), "EndDateTime": c.json_date(now)}

    def _report_throughput(self) -> None:
        transport: LabTransport | None = None
        while not self._stop.is_set():
            try:
                report = self.throughput_report()
                if report is not None:
                    if transport is None:
                        transport = self.transport_factory()
                    message = command_message(THROUGHPUT_DATA, report, self.settings.instance_name)
                    transport.send(self.settings.throughput_data_queue, message)
                    self.reports_sent += 1
            except Exception as exc:
                log.error("Error obtaining throughput from Monitoring for 5 minutes interval: %s", exc)
                transport = self._drop(transport)
            self._stop.wait(self.settings.report_interval)
        self._drop(transport)


def metrics_queue_address(transport_factory: TransportFactory, settings: MonitoringSettings) -> str:
    """ReceiveAddresses.MainReceiveAddress: the transport address of the input queue (``/connection``)."""
    transport = transport_factory()
    try:
        return transport_address(transport, settings.instance_name)
    finally:
        transport.close()
