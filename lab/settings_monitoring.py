"""Settings of a lab Monitoring instance (``ServiceControl.Monitoring.exe``), read the way ServiceControl reads them.

Facts: docs/reference/servicecontrol.md §1.4 (keys and env names), §5 (its queues); ServiceControl.Monitoring's
``Settings`` at 6.19.2. The namespace is ``Monitoring`` (env ``MONITORING_*``, bare names too, §1.1); the name of
the instance (and of its input queue) is ``InstanceName`` from 5.5.0 and ``EndpointName`` before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lab.settings import (
    CONTAINER_PORT_ENV,
    MONITORING_NS,
    RETRY_FREQUENCY_ENV,
    InstanceSettings,
    SettingsError,
    SettingsReader,
    parse_timespan,
)

#: Lab-only: seconds between the throughput reports the Monitoring instance sends to the Error instance
#: (ServiceControl: every 5 minutes, ReportThroughputHostedService).
REPORT_INTERVAL_ENV = "LAB_MONITORING_REPORT_INTERVAL"
DEFAULT_INSTANCE_NAME = "Particular.Monitoring"
CONTAINER_PORT = 33633


@dataclass
class MonitoringSettings(InstanceSettings):
    error_queue: str = "error"
    endpoint_uptime_grace_period: dt.timedelta = dt.timedelta(seconds=40)
    throughput_data_queue: str | None = "ServiceControl.ThroughputData"
    shutdown_timeout: dt.timedelta = dt.timedelta(seconds=5)
    report_interval: float = 300.0

    @property
    def api_url(self) -> str:
        # The Monitoring instance has no /api: its routes are at the root (§2.12).
        return self.root_url.rstrip("/")

    def setup_queues(self) -> list[str]:
        """``--setup`` provisions the input (metrics) queue and the error queue (ProvisionQueues(settings, []))."""
        return [self.instance_name, self.error_queue]


def load_monitoring_settings(reader: SettingsReader) -> MonitoringSettings:
    ns = MONITORING_NS
    version = reader.version
    name_key = "InstanceName" if version >= (5, 5, 0) else "EndpointName"
    instance_name = reader.read_str(ns, name_key, DEFAULT_INSTANCE_NAME)
    if reader.in_container:
        host, port_text = "*", reader.environ.get(CONTAINER_PORT_ENV) or str(CONTAINER_PORT)
    else:
        host, port_text = reader.read_str(ns, "HttpHostname"), reader.read_str(ns, "HttpPort")
    if not host or not port_text:
        # Outside containers the code has no default (the installer writes both); the root URL "http://:/"
        # cannot be bound, so the lab refuses to start rather than guess.
        raise SettingsError("Monitoring/HttpHostname and Monitoring/HttpPort must be set to start the instance.")
    try:
        port = int(port_text)
    except ValueError:
        raise SettingsError("Monitoring/HttpPort %r is not a port number." % port_text) from None
    grace_text = reader.read_str(ns, "EndpointUptimeGracePeriod", "00:00:40")
    grace = parse_timespan(grace_text)
    if grace is None:
        # TimeSpan.Parse throws, and the start fails.
        raise SettingsError("String '%s' was not recognized as a valid TimeSpan." % grace_text)
    concurrency = reader.read_int(ns, "MaximumConcurrencyLevel", None if version >= (5, 11, 0) else 32)
    throughput = None
    if version >= (5, 4, 0):
        throughput = reader.read_str(ns, "ServiceControlThroughputDataQueue", "ServiceControl.ThroughputData")
    shutdown = parse_timespan(reader.read_str(ns, "ShutdownTimeout", "00:00:05") or "") or dt.timedelta(seconds=5)
    settings = MonitoringSettings(
        kind="monitoring",
        version=version,
        version_text="%d.%d.%d" % version,
        instance_name=instance_name,
        transport_type=reader.read_str(ns, "TransportType"),
        connection_string=reader.connection_string(ns),
        host_name=host,
        port=port,
        db_path=None,
        log_path=reader.read_str(ns, "LogPath"),
        validate_config=reader.read_bool(ns, "ValidateConfig", True),
        maximum_concurrency_level=concurrency,
        retry_batch_frequency=float(reader.environ.get(RETRY_FREQUENCY_ENV, "30")),
        error_queue=reader.read_str(ns, "ErrorQueue", "error"),
        endpoint_uptime_grace_period=grace,
        throughput_data_queue=throughput,
        shutdown_timeout=shutdown,
        report_interval=float(reader.environ.get(REPORT_INTERVAL_ENV, "300")),
    )
    for key in (name_key, "TransportType", "ErrorQueue"):
        settings.sources[key] = reader.source_of(ns, key) or "default"
    return settings
