"""The lab's Monitoring instance (``ServiceControl.Monitoring.exe``): metrics in, the endpoints list and throughput
reports out. See lab/README.md ("Running the instances by hand") and docs/reference/servicecontrol.md §1.4,
§2.12, §5."""

from __future__ import annotations

from lab.instance.monitoring.api import MonitoringApi
from lab.instance.monitoring.instance import MonitoringInstance, metrics_queue_address, parse_tagged_values

__all__ = ["MonitoringApi", "MonitoringInstance", "metrics_queue_address", "parse_tagged_values"]
