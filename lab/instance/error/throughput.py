"""Throughput for the licensing component: the Monitoring instances' reports, consumed from the throughput queue.

ServiceControl 6.19.2, Particular.LicensingComponent (docs/reference/servicecontrol.md §2.13):
MonitoringThroughput/MonitoringThroughputHostedService reads ``LicensingComponent/ServiceControlThroughputDataQueue``
(default ``ServiceControl.ThroughputData``); MonitoringService stores each reported endpoint (source Monitoring,
indicator KnownEndpoint) and adds a positive throughput to the report's end day (RavenDB incremental time
series); ThroughputCollector builds the summaries, the report state and the connection test; the masks are one
stored list. Throughput from audit instances (a collector that starts 40 s after the instance and then runs
daily) and from the broker's own statistics is not collected by the lab (lab/README.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import threading
from collections.abc import Iterable

from lab.instance import common as c
from lab.instance.consumer import consume
from lab.instance.runtime import TransportFactory
from lab.instance.store import DocumentStore
from lab.settings import ErrorSettings, parse_timespan

log = logging.getLogger("lab.instance.error")

THROUGHPUT_ENDPOINTS = "ThroughputEndpoints"
REPORT_MASKS = "ThroughputReportMasks"
MONITORING = "Monitoring"


def one_way_hash(text: str) -> str:
    """OneWayHasher (Particular.LicensingComponent.Report): SHA3-256 of the UTF-8 text, upper-case hex."""
    return hashlib.sha3_256(text.encode("utf-8")).hexdigest().upper()


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


class Throughput:
    """Stored endpoints with their daily throughput, and the queue consumer that feeds them."""

    def __init__(self, settings: ErrorSettings, transport_factory: TransportFactory, store: DocumentStore) -> None:
        self.settings = settings
        self.transport_factory = transport_factory
        self.store = store
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ consuming the queue

    def run(self, stop: threading.Event) -> None:
        if self.settings.throughput_data_queue:
            consume(self.transport_factory, self.settings.throughput_data_queue, stop, self._on_message)

    def _on_message(self, transport, message) -> None:
        try:
            self.record_monitoring(message.body)
        except Exception as exc:  # logged and dropped: the receiver's error handler says Handled
            log.error("Error receiving throughput data from Monitoring: %s", exc)
        transport.complete(message)

    def record_monitoring(self, body: bytes) -> None:
        """MonitoringService.RecordMonitoringThroughput: a RecordEndpointThroughputData message body."""
        message = json.loads(body.decode("utf-8"))
        if not message or message.get("EndpointThroughputData") is None:
            return
        day = c.parse_iso(message["EndDateTime"]).date().isoformat()
        with self._lock:
            for item in message["EndpointThroughputData"]:
                key = "%s/%s" % (MONITORING, item["Name"].lower())
                doc = self.store.get(THROUGHPUT_ENDPOINTS, key) or {
                    "id": key,
                    "name": item["Name"],
                    "source": MONITORING,
                    "sanitized_name": item["Name"],
                    "endpoint_indicators": ["KnownEndpoint"],
                    "user_indicator": None,
                    "scope": None,
                    "daily": {},
                }
                if item.get("Throughput", 0) > 0:
                    doc["daily"][day] = doc["daily"].get(day, 0) + int(item["Throughput"])
                self.store.put(THROUGHPUT_ENDPOINTS, key, doc)

    # ------------------------------------------------------------------ what the licensing API reads

    def endpoints(self) -> list[dict]:
        return self.store.all(THROUGHPUT_ENDPOINTS)

    def has_throughput(self, days: int, include_today: bool, source: str | None = None) -> bool:
        first = _today() - dt.timedelta(days=days)
        last = _today() if include_today else _today() - dt.timedelta(days=1)
        for doc in self.endpoints():
            if source is not None and doc["source"] != source:
                continue
            if any(first <= dt.date.fromisoformat(day) <= last for day in doc["daily"]):
                return True
        return False

    def summaries(self) -> list[dict]:
        """ThroughputCollector.GetThroughputSummary: one summary per (sanitized) endpoint name."""
        grouped: dict[str, list[dict]] = {}
        for doc in self.endpoints():
            grouped.setdefault(doc["sanitized_name"], []).append(doc)
        result = []
        for key in sorted(grouped):
            docs = grouped[key]
            name = next((d["name"] for d in docs if d["name"] != key), key)
            known = any("KnownEndpoint" in (d.get("endpoint_indicators") or []) for d in docs)
            indicator = next((d["user_indicator"] for d in docs if d.get("user_indicator")), None)
            scope = next((d["scope"] for d in docs if d.get("scope")), None)
            daily = [(day, count) for d in docs for day, count in d["daily"].items()]
            result.append(
                c.compact(
                    name=name,
                    name_hash=one_way_hash(name),
                    scope=scope,
                    scope_hash=one_way_hash(scope) if scope else None,
                    is_known_endpoint=known,
                    user_indicator=indicator or ("NServiceBusEndpoint" if known else ""),
                    max_daily_throughput=max((n for _, n in daily), default=0),
                    monthly_throughput=_monthly(daily),
                    average_monthly_throughput=_average_monthly(daily),
                )
            )
        return result

    def update_user_indicators(self, updates: Iterable[dict]) -> None:
        """LicensingDataStore.UpdateUserIndicatorOnEndpoints: by name, on every source's endpoint of that name."""
        wanted = {u.get("name"): u.get("user_indicator") for u in updates if isinstance(u, dict)}
        with self._lock:
            for doc in self.endpoints():
                if doc["name"] in wanted or doc["sanitized_name"] in wanted:
                    doc["user_indicator"] = wanted.get(doc["name"], wanted.get(doc["sanitized_name"]))
                    self.store.put(THROUGHPUT_ENDPOINTS, doc["id"], doc)

    def masks(self) -> list[str]:
        return (self.store.get(REPORT_MASKS, "masks") or {"masked_strings": []})["masked_strings"]

    def save_masks(self, masks: list[str]) -> None:
        self.store.put(REPORT_MASKS, "masks", {"masked_strings": list(masks)})

    def monitoring_connection(self) -> dict:
        """MonitoringService.TestMonitoringConnection: only whether Monitoring reported in the last 30 days."""
        recorded = self.has_throughput(30, True, MONITORING)
        text = (
            "Throughput from Monitoring recorded in the last 30 days"
            if recorded
            else ("No throughput from Monitoring recorded in the last 30 days")
        )
        queue = self.settings.throughput_data_queue or "ServiceControl.ThroughputData"
        return {
            "connection_successful": recorded,
            "connection_error_messages": [],
            "diagnostics": "%s\nListening on queue %s\n" % (text, queue),
        }


def _max_per_day(daily: list[tuple[str, int]]) -> dict[str, int]:
    per_day: dict[str, int] = {}
    for day, count in daily:
        if count >= 0:
            per_day[day] = max(per_day.get(day, count), count)
    return per_day


def _monthly(daily: list[tuple[str, int]]) -> list[dict]:
    months: dict[str, int] = {}
    for day, count in sorted(_max_per_day(daily).items()):
        months[day[:7]] = months.get(day[:7], 0) + count
    return [{"month": month, "throughput": total} for month, total in months.items()]


def _average_monthly(daily: list[tuple[str, int]]) -> int:
    per_day = _max_per_day(daily)
    if not per_day:
        return 0
    return math.trunc(sum(per_day.values()) / len(per_day) * 365 / 12)


def audit_connection(remotes: list[dict]) -> dict:
    """AuditQuery.TestAuditConnection over ``configuration/remotes``: version 4.29+ and 2 days' retention each."""
    result = {"connection_successful": True, "connection_error_messages": [], "diagnostics": ""}
    if not remotes:
        result["diagnostics"] = "No Audit Instances configured"
        return result
    errors = result["connection_error_messages"]
    for remote in remotes:
        version = _semantic(remote.get("version") or "")
        retention_text = ((remote.get("configuration") or {}).get("data_retention") or {}).get("audit_retention_period")
        retention = parse_timespan(retention_text) if retention_text else None
        retention = retention or dt.timedelta(0)
        if remote.get("status") != "online" and version is None:
            errors.append(
                "%s - version of ServiceControl Audit instance could not be determined, hence audit throughput "
                "data will not be available." % remote["api_uri"]
            )
            continue
        if version is None or version < (4, 29, 0):
            errors.append(
                "%s - version (%s) of ServiceControl Audit instance is too old (minimum version is 4.29.0), hence "
                "audit throughput data will not be available." % (remote["api_uri"], remote.get("version"))
            )
        if retention < dt.timedelta(days=2):
            errors.append(
                "%s - retention period of ServiceControl Audit instance is set to %d days (minimum is 2 days),  "
                "hence audit throughput data will not be available." % (remote["api_uri"], retention.days)
            )
    result["connection_successful"] = not errors
    plural = "" if len(remotes) == 1 else "(s)"
    if not errors:
        lines = ["Connection test to Audit Instance%s was successful" % plural, ""]
        lines.append("Connected to the following Audit instances:")
    else:
        lines = ["Connection test to Audit Instance%s failed:" % plural, *errors, ""]
        lines.append("Connection attempted to the following Audit instances:")
    lines += [r["api_uri"] for r in remotes]
    result["diagnostics"] = "".join(line + "\n" for line in lines)
    return result


def _semantic(text: str) -> tuple[int, int, int] | None:
    parts = text.split("-", maxsplit=1)[0].split("+", maxsplit=1)[0].split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])
