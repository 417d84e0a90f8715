"""The Monitoring instance's in-memory metrics: measurements in time intervals, and the endpoints list built from them.

ServiceControl.Monitoring 6.19.2 (docs/reference/servicecontrol.md §2.12): Infrastructure/HistoryPeriod (six
history periods of 60 intervals each, the newest one or two left out as still filling), IntervalsStore (a value
and a count per interval, per breakdown), the stores (processing time and critical time per endpoint instance
and per message type, retries likewise, queue length per endpoint input queue), EndpointRegistry with
EndpointInstanceActivityTracker (an instance is stale after ``EndpointUptimeGracePeriod`` without a message),
and Http/Diagrams/Aggregator with Infrastructure/Api/EndpointMetricsApi (the JSON the API serves, camelCase).
Nothing is persisted, as in ServiceControl.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from lab.instance import common as c

#: .NET DateTime ticks (100 ns) since 0001-01-01, and per second.
TICKS_PER_SECOND = 10_000_000
_EPOCH = dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)
#: History period (minutes) -> (number of intervals, delayed intervals); HistoryPeriod.All.
HISTORY_PERIODS = {1: (60, 2), 5: (60, 1), 10: (60, 1), 15: (60, 1), 30: (60, 1), 60: (60, 1)}
DEFAULT_HISTORY = 5


def ticks(value: dt.datetime) -> int:
    return c.dotnet_ticks(value)


def from_ticks(value: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=value // 10)


def now_ticks() -> int:
    return ticks(dt.datetime.now(dt.timezone.utc))


def number(value: float) -> float | int:
    """A double as System.Text.Json writes it: integral values without a fraction."""
    return int(value) if float(value).is_integer() else value


def history_period(minutes: int | None) -> int:
    value = DEFAULT_HISTORY if minutes is None else minutes
    if value not in HISTORY_PERIODS:
        raise ValueError("Unknown history period.")
    return value


@dataclass
class Breakdown:
    """IntervalsBreakdown: one breakdown's intervals (newest first) and their totals."""

    key: tuple
    intervals: list[tuple[int, int, int]]  # (interval start ticks, total value, measurements)
    total_value: int = 0
    total_measurements: int = 0


class IntervalsStore:
    """Values per breakdown and interval for one history period (ring of twice the intervals shown)."""

    def __init__(self, minutes: int) -> None:
        self.intervals, self.delayed = HISTORY_PERIODS[minutes]
        self.size = minutes * 60 * TICKS_PER_SECOND // self.intervals
        self._data: dict[tuple, dict[int, list[int]]] = {}

    def store(self, key: tuple, entries: list[tuple[int, int]]) -> None:
        epochs = self._data.setdefault(key, {})
        for entry_ticks, value in entries:
            epoch = entry_ticks // self.size
            slot = epochs.setdefault(epoch, [0, 0])
            slot[0] += value
            slot[1] += 1
        newest = max(epochs) if epochs else 0
        for epoch in [e for e in epochs if e <= newest - 2 * self.intervals]:
            del epochs[epoch]

    def breakdowns(self, now: int) -> list[Breakdown]:
        result = []
        first = now // self.size - self.delayed
        for key, epochs in self._data.items():
            item = Breakdown(key, [])
            for epoch in range(first, first - self.intervals, -1):
                total, count = epochs.get(epoch, (0, 0))
                item.intervals.append((epoch * self.size, total, count))
                item.total_value += total
                item.total_measurements += count
            result.append(item)
        return result

    def forget(self, predicate: Callable[[tuple], bool]) -> None:
        for key in [k for k in self._data if predicate(k)]:
            del self._data[key]


class HistoryStore:
    """VariableHistoryIntervalStore: the same measurements kept for every history period."""

    def __init__(self) -> None:
        self.periods = {minutes: IntervalsStore(minutes) for minutes in HISTORY_PERIODS}

    def store(self, key: tuple, entries: list[tuple[int, int]]) -> None:
        for store in self.periods.values():
            store.store(key, entries)

    def breakdowns(self, minutes: int, now: int) -> list[Breakdown]:
        return self.periods[minutes].breakdowns(now)

    def forget(self, predicate: Callable[[tuple], bool]) -> None:
        for store in self.periods.values():
            store.forget(predicate)


def _one_if_zero(value: int) -> int:
    return value or 1


def _by_start(breakdowns: list[Breakdown]) -> list[tuple[int, list[tuple[int, int]]]]:
    grouped: dict[int, list[tuple[int, int]]] = {}
    for item in breakdowns:
        for start, total, count in item.intervals:
            grouped.setdefault(start, []).append((total, count))
    return sorted(grouped.items())


def to_averages(breakdowns: list[Breakdown], minutes: int) -> dict:
    average = sum(b.total_value for b in breakdowns) / _one_if_zero(sum(b.total_measurements for b in breakdowns))
    points = [sum(t for t, _ in g) / _one_if_zero(sum(n for _, n in g)) for _, g in _by_start(breakdowns)]
    return {"average": average, "points": points}


def to_rounded_sum_of_breakdown_averages(breakdowns: list[Breakdown], minutes: int) -> dict:
    average = round(sum(b.total_value / _one_if_zero(b.total_measurements) for b in breakdowns))
    points = [round(sum(t / _one_if_zero(n) for t, n in g)) for _, g in _by_start(breakdowns)]
    return {"average": float(average), "points": [float(p) for p in points]}


def to_total_measurements_per_second(breakdowns: list[Breakdown], minutes: int) -> dict:
    intervals, _delayed = HISTORY_PERIODS[minutes]
    seconds = minutes * 60 / intervals
    grouped = _by_start(breakdowns)
    measured = sum(n for _, g in grouped for _, n in g)
    return {
        "average": measured / _one_if_zero(len(grouped)) / seconds,
        "points": [sum(n for _, n in g) / seconds for _, g in grouped],
    }


@dataclass
class EndpointInstance:
    """EndpointInstanceId: equal by endpoint name and instance id; the name is the host display name."""

    endpoint: str
    instance_id: str
    name: str


@dataclass
class MetricsModel:
    """Everything the Monitoring instance knows about the endpoints that report to it."""

    grace_period: dt.timedelta
    processing_time: HistoryStore = field(default_factory=HistoryStore)
    critical_time: HistoryStore = field(default_factory=HistoryStore)
    retries: HistoryStore = field(default_factory=HistoryStore)
    queue_length: HistoryStore = field(default_factory=HistoryStore)
    instances: dict[tuple[str, str], EndpointInstance] = field(default_factory=dict)
    activity: dict[tuple[str, str], dt.datetime] = field(default_factory=dict)
    message_types: dict[str, set[str]] = field(default_factory=dict)
    #: endpoint name -> input queues (EndpointMetadataReport.LocalAddress) whose length is measured.
    input_queues: dict[str, set[str]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def record_instance(self, instance: EndpointInstance) -> None:
        """EndpointTracker: every metrics message marks its endpoint instance as active."""
        with self.lock:
            key = (instance.endpoint, instance.instance_id)
            self.instances[key] = instance
            self.activity[key] = dt.datetime.now(dt.timezone.utc)

    def is_stale(self, key: tuple[str, str]) -> bool:
        seen = self.activity.get(key)
        return seen is None or dt.datetime.now(dt.timezone.utc) - seen > self.grace_period

    def is_expired(self, key: tuple[str, str]) -> bool:
        """Expired: not seen for the largest history period (60 minutes) plus the grace period."""
        seen = self.activity.get(key)
        limit = dt.timedelta(minutes=max(HISTORY_PERIODS)) + self.grace_period
        return seen is None or dt.datetime.now(dt.timezone.utc) - seen > limit

    def record(self, metric: str, instance: EndpointInstance, message_type: str, entries: list) -> None:
        with self.lock:
            by_instance = (instance.endpoint, instance.instance_id)
            by_type = ("type", instance.endpoint, message_type)
            store = {"ProcessingTime": self.processing_time, "CriticalTime": self.critical_time}.get(metric)
            if metric == "Retries":
                store = self.retries
            if store is None:
                return
            store.store(by_instance, entries)
            store.store(by_type, entries)
            self.message_types.setdefault(instance.endpoint, set()).add(message_type)

    def record_queue_length(self, endpoint: str, queue: str, entries: list) -> None:
        with self.lock:
            self.queue_length.store((endpoint, queue), entries)

    def track_input_queue(self, endpoint: str, queue: str) -> None:
        with self.lock:
            self.input_queues.setdefault(endpoint, set()).add(queue)

    def delete_instance(self, endpoint: str, instance_id: str) -> None:
        """DELETE monitored-instance/{endpointName}/{instanceId}: forget the instance (ids compared ignoring case)."""
        with self.lock:
            for key in [k for k in self.instances if k[0] == endpoint and k[1].lower() == instance_id.lower()]:
                self.instances.pop(key, None)
                self.activity.pop(key, None)

    def grouped(self) -> dict[str, list[EndpointInstance]]:
        grouped: dict[str, list[EndpointInstance]] = {}
        for instance in self.instances.values():
            grouped.setdefault(instance.endpoint, []).append(instance)
        return grouped


INSTANCE_METRICS = (
    ("processingTime", "processing_time", to_averages),
    ("criticalTime", "critical_time", to_averages),
    ("retries", "retries", to_total_measurements_per_second),
    ("throughput", "processing_time", to_total_measurements_per_second),
)


def _values(values: dict) -> dict:
    return {"average": number(values["average"]), "points": [number(p) for p in values["points"]]}


def endpoint_metrics(model: MetricsModel, endpoint: str, minutes: int, now: int) -> dict[str, tuple[dict, list]]:
    """The five metrics of one endpoint (all its instances): (values, interval starts of its breakdowns)."""
    metrics = {}
    for name, store_name, aggregate in INSTANCE_METRICS:
        store: HistoryStore = getattr(model, store_name)
        items = [b for b in store.breakdowns(minutes, now) if len(b.key) == 2 and b.key[0] == endpoint]
        metrics[name] = (aggregate(items, minutes), _axis(items))
    queues = [b for b in model.queue_length.breakdowns(minutes, now) if b.key[0] == endpoint]
    metrics["queueLength"] = (to_rounded_sum_of_breakdown_averages(queues, minutes), _axis(queues))
    return metrics


def _axis(items: list[Breakdown]) -> list[int]:
    return sorted({start for b in items for start, _total, _count in b.intervals})


def monitored_endpoints(model: MetricsModel, history: int | None = None) -> list[dict]:
    """GET /monitored-endpoints: MonitoredEndpoint items (camelCase)."""
    minutes = history_period(history)
    now = now_ticks()
    result = []
    with model.lock:
        for endpoint, instances in model.grouped().items():
            stale = [model.is_stale((i.endpoint, i.instance_id)) for i in instances]
            metrics = endpoint_metrics(model, endpoint, minutes, now)
            result.append(
                {
                    "name": endpoint,
                    "isStale": all(stale),
                    "endpointInstanceIds": [i.instance_id for i in instances],
                    "metrics": {k: _values(v) for k, (v, _axis) in metrics.items()},
                    "disconnectedCount": sum(stale),
                    "connectedCount": len(stale) - sum(stale),
                }
            )
    return result


_ASSEMBLY_PART = re.compile(r"^\s*(Version|Culture|PublicKeyToken)\s*=\s*(.*?)\s*$", re.IGNORECASE)


def parse_message_type(type_name: str) -> dict:
    """MonitoredEndpointMessageTypeParser: a type name or assembly-qualified name, split into its parts."""
    if not type_name:
        return {}
    type_part, comma, rest = type_name.partition(",")
    if comma:
        parts = [p.strip() for p in rest.split(",")]
        assembly, attributes = parts[0], {}
        for part in parts[1:]:
            match = _ASSEMBLY_PART.match(part)
            if match:
                attributes[match.group(1).lower()] = match.group(2)
        if assembly and "version" in attributes:
            token = attributes.get("publickeytoken", "null")
            culture = attributes.get("culture", "neutral")
            return {
                "id": type_name,
                "typeName": type_part,
                "assemblyName": assembly,
                "assemblyVersion": attributes["version"],
                "culture": "" if culture.lower() == "neutral" else culture,
                "publicKeyToken": "" if token.lower() == "null" else token.lower(),
            }
    return {"id": type_name, "typeName": type_name}


DETAILED = ("processingTime", "criticalTime", "retries", "throughput", "queueLength")


def endpoint_details(model: MetricsModel, endpoint: str, history: int | None = None) -> dict:
    """GET /monitored-endpoints/{endpointName}: digest, instances, message types and detailed metrics."""
    minutes = history_period(history)
    now = now_ticks()
    with model.lock:
        metrics = endpoint_metrics(model, endpoint, minutes, now)
        digest = {
            name: {"latest": number(v["points"][-1]) if v["points"] else None, "average": number(v["average"])}
            for name, (v, _axis) in metrics.items()
        }
        instances = []
        for instance in model.grouped().get(endpoint, []):
            per_instance = {}
            for name, store_name, aggregate in INSTANCE_METRICS:
                store: HistoryStore = getattr(model, store_name)
                items = [b for b in store.breakdowns(minutes, now) if b.key == (endpoint, instance.instance_id)]
                per_instance[name] = _values(aggregate(items, minutes))
            instances.append(
                {
                    "name": instance.name,
                    "id": instance.instance_id,
                    "isStale": model.is_stale((endpoint, instance.instance_id)),
                    "metrics": per_instance,
                }
            )
        message_types = []
        for type_name in sorted(t for t in model.message_types.get(endpoint, ()) if t):
            per_type = {}
            for name, store_name, aggregate in INSTANCE_METRICS:
                store = getattr(model, store_name)
                items = [b for b in store.breakdowns(minutes, now) if b.key == ("type", endpoint, type_name)]
                per_type[name] = _values(aggregate(items, minutes))
            message_types.append({**parse_message_type(type_name), "metrics": per_type})
    return {
        "digest": {"metrics": {k: {kk: vv for kk, vv in v.items() if vv is not None} for k, v in digest.items()}},
        "instances": instances,
        "messageTypes": message_types,
        "metricDetails": {
            "metrics": {
                name: {
                    **_values(metrics[name][0]),
                    "timeAxisValues": [_json_time(from_ticks(t)) for t in metrics[name][1]],
                }
                for name in DETAILED
            }
        },
    }


def _json_time(value: dt.datetime) -> str:
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += "." + ("%06d" % value.microsecond).rstrip("0")
    return text + "Z"


def disconnected_count(model: MetricsModel) -> int:
    """GET /monitored-endpoints/disconnected: endpoints whose every instance is stale."""
    with model.lock:
        return sum(
            1
            for instances in model.grouped().values()
            if all(model.is_stale((i.endpoint, i.instance_id)) for i in instances)
        )
