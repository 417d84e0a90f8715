"""Known endpoints and their heartbeats, as the Error instance records them.

ServiceControl/Monitoring: EndpointInstanceMonitoring and MonitoringDataPersister (the KnownEndpoint
documents), HeartbeatHandler and RegisterEndpointStartupHandler (Monitoring/Transport,
Monitoring/HeartbeatMonitoring), RegisterNewEndpointHandler (what an Audit instance sends), and
DetectNewEndpointsFromErrorImportsEnricher (endpoints seen in ingested failures).
"""

from __future__ import annotations

import uuid

from lab.instance import common as c
from lab.instance.store import DocumentStore
from lab.settings import ErrorSettings

KNOWN_ENDPOINTS = "KnownEndpoints"
MSG_REGISTER_NEW_ENDPOINT = "ServiceControl.Contracts.EndpointControl.RegisterNewEndpoint"
MSG_HEARTBEAT = "ServiceControl.Plugin.Heartbeat.Messages.EndpointHeartbeat"
MSG_STARTUP = "ServiceControl.Plugin.Heartbeat.Messages.RegisterEndpointStartup"


class EndpointMonitoring:
    """The KnownEndpoints collection and the messages that feed it."""

    def __init__(self, settings: ErrorSettings, store: DocumentStore) -> None:
        self.settings = settings
        self.store = store

    def handlers(self) -> dict:
        return {
            MSG_REGISTER_NEW_ENDPOINT: self._on_register_new_endpoint,
            MSG_HEARTBEAT: self._on_heartbeat,
            MSG_STARTUP: self._on_startup,
        }

    # ------------------------------------------------------------------ queries and API changes

    def all(self) -> list[dict]:
        return self.store.all(KNOWN_ENDPOINTS)

    def set_monitored(self, endpoint_id: str, monitor: bool) -> bool:
        """PATCH /api/endpoints/{id}; False when the endpoint is not known."""
        updated = self.store.update(
            KNOWN_ENDPOINTS, endpoint_id, lambda d: d.update(monitor_heartbeat=monitor, monitored=monitor)
        )
        return updated is not None

    def delete(self, endpoint_id: str) -> bool:
        return self.store.delete(KNOWN_ENDPOINTS, endpoint_id)

    # ------------------------------------------------------------------ recording

    def record_known_endpoint(self, endpoint: dict, monitored: bool) -> dict:
        endpoint_id = c.deterministic_guid(endpoint["name"], endpoint["host_id"])
        doc = self.store.get(KNOWN_ENDPOINTS, endpoint_id)
        if doc is None:
            doc = {
                "id": endpoint_id,
                "name": endpoint["name"],
                "host_id": endpoint["host_id"],
                "host_display_name": endpoint.get("host") or "",
                "monitored": monitored,
                "monitor_heartbeat": monitored,
                "last_report_at": None,
            }
            self.store.put(KNOWN_ENDPOINTS, endpoint_id, doc)
        return doc

    def _on_register_new_endpoint(self, payload: dict) -> None:
        endpoint = payload.get("Endpoint") or {}
        self.record_known_endpoint(
            {
                "name": endpoint.get("Name"),
                "host_id": str(uuid.UUID(endpoint.get("HostId"))),
                "host": endpoint.get("Host"),
            },
            monitored=False,
        )

    def _reporting_endpoint(self, name: str | None, host_id: str, host: str | None) -> dict:
        """The known endpoint a startup or heartbeat message comes from (monitored: TrackInstancesInitialValue)."""
        endpoint = {"name": name, "host_id": str(uuid.UUID(host_id)), "host": host}
        return self.record_known_endpoint(endpoint, monitored=self.settings.track_instances_initial_value)

    def _on_startup(self, payload: dict) -> None:
        doc = self._reporting_endpoint(payload.get("Endpoint"), payload["HostId"], payload.get("HostDisplayName"))
        self.store.update(
            KNOWN_ENDPOINTS, doc["id"], lambda d: d.update(monitored=d["monitored"] or d["monitor_heartbeat"])
        )

    def _on_heartbeat(self, payload: dict) -> None:
        doc = self._reporting_endpoint(payload.get("EndpointName"), payload["HostId"], payload.get("Host"))
        executed = payload.get("ExecutedAt")
        self.store.update(
            KNOWN_ENDPOINTS,
            doc["id"],
            lambda d: d.update(last_report_at=executed if executed else c.json_date(c.utcnow())),
        )
