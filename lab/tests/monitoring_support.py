"""Metrics messages as the NServiceBus.Metrics.ServiceControl plugin sends them to a Monitoring instance.

Built by hand from the format in docs/reference/servicecontrol.md §2.12 (not with the lab's code), so the tests hold
the lab's Monitoring instance against an independent description of what endpoints send.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
import uuid

from lab.transports.base import LabMessage

UTC = dt.timezone.utc


def dotnet_ticks(value: dt.datetime) -> int:
    delta = value - dt.datetime(1, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def _headers(endpoint: str, instance_id: str) -> dict[str, str]:
    return {
        "NServiceBus.MessageId": str(uuid.uuid4()),
        "NServiceBus.OriginatingEndpoint": endpoint,
        "NServiceBus.Metric.InstanceId": instance_id,
        "NServiceBus.MessageIntent": "Send",
        "NServiceBus.TimeSent": dt.datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S:%f Z"),
    }


def tagged_values(
    endpoint: str, metric: str, values: dict[str, list[tuple[dt.datetime, int]]], instance_id: str = "sales-1"
) -> LabMessage:
    """A TaggedLongValueOccurrence batch: version 1, base ticks, the tags, then (ticks offset, tag, value) entries."""
    tags = list(values)
    entries = [(when, tags.index(tag), value) for tag in tags for when, value in values[tag]]
    base = min(dotnet_ticks(when) for when, _tag, _value in entries)
    body = struct.pack("<qqi", 1, base, len(tags))
    for key, tag in enumerate(tags):
        encoded = tag.encode("utf-8")
        body += struct.pack("<ii", key, len(encoded)) + encoded
    body += struct.pack("<i", len(entries))
    for when, key, value in entries:
        body += struct.pack("<iiq", dotnet_ticks(when) - base, key, value)
    headers = _headers(endpoint, instance_id)
    headers.update({"NServiceBus.ContentType": "TaggedLongValueWriterOccurrence", "NServiceBus.Metric.Type": metric})
    return LabMessage(headers=headers, body=body)


def endpoint_metadata(endpoint: str, input_queue: str, instance_id: str = "sales-1") -> LabMessage:
    headers = _headers(endpoint, instance_id)
    headers.update(
        {
            "NServiceBus.ContentType": "application/json",
            "NServiceBus.EnclosedMessageTypes": "NServiceBus.Metrics.EndpointMetadataReport, NServiceBus.Metrics",
        }
    )
    return LabMessage(headers=headers, body=json.dumps({"PluginVersion": 4, "LocalAddress": input_queue}).encode())
