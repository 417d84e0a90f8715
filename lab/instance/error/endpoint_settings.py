"""Per-endpoint "track instances" settings (``/api/endpointssettings``) and their sync with the known endpoints.

ServiceControl 6.19.2: Monitoring/Web/EndpointsSettingsController (GET lists the stored settings, or one entry
with an empty name and ``TrackInstancesInitialValue`` when none is stored; PATCH ``endpointssettings/{name?}``
stores one, an absent name meaning the default) and Monitoring/HeartbeatEndpointSettingsSyncHostedService (20 s
after start and then every 6 hours: store the default and a setting for every known endpoint, drop the
settings of endpoints no longer known, and for endpoints that do not track instances delete all but one of
their instances that send no heartbeats). docs/reference/servicecontrol.md §2.8.
"""

from __future__ import annotations

import logging
import threading

from lab.instance.error.monitoring import EndpointMonitoring
from lab.instance.store import DocumentStore
from lab.settings import ErrorSettings

log = logging.getLogger("lab.instance.error")

ENDPOINT_SETTINGS = "EndpointSettings"
SYNC_DELAY = 20.0
SYNC_INTERVAL = 6 * 3600.0


class EndpointSettings:
    def __init__(self, settings: ErrorSettings, store: DocumentStore, monitoring: EndpointMonitoring) -> None:
        self.settings = settings
        self.store = store
        self.monitoring = monitoring

    def all(self) -> list[dict]:
        return [{"name": d["name"], "track_instances": d["track_instances"]} for d in self.store.all(ENDPOINT_SETTINGS)]

    def views(self) -> list[dict]:
        stored = self.all()
        return stored or [{"name": "", "track_instances": self.settings.track_instances_initial_value}]

    def update(self, name: str | None, track_instances: bool) -> None:
        key = name or ""
        self.store.put(ENDPOINT_SETTINGS, key or "(default)", {"name": key, "track_instances": track_instances})

    def delete(self, name: str) -> None:
        self.store.delete(ENDPOINT_SETTINGS, name or "(default)")

    def sync(self) -> None:
        """PerformSync: initialise the settings, then purge the instances that need not be tracked."""
        known = {d["name"] for d in self.monitoring.all()}
        default = self.settings.track_instances_initial_value
        has_default, names = False, set()
        for setting in self.all():
            if setting["name"] == "":
                has_default, default = True, setting["track_instances"]
                continue
            if setting["name"] not in known:
                self.delete(setting["name"])
            names.add(setting["name"])
        if not has_default:
            self.update("", default)
        for name in known - names:
            self.update(name, default)
        silent: dict[str, list[str]] = {}
        for doc in self.monitoring.all():
            if doc.get("last_report_at") is None:
                silent.setdefault(doc["name"], []).append(doc["id"])
        for setting in self.all():
            if not setting["track_instances"] and setting["name"] in silent:
                # One dead instance is left so that ServicePulse still shows the endpoint.
                for endpoint_id in silent[setting["name"]][:-1]:
                    self.monitoring.delete(endpoint_id)
                    log.info("Removed endpoint '%s' from monitoring data", setting["name"])

    def run(self, stop: threading.Event) -> None:
        if stop.wait(SYNC_DELAY):
            return
        while True:
            try:
                self.sync()
            except Exception as exc:  # the hosted service logs and tries again at the next tick
                log.error("Failed to perform sync between known endpoints and endpoint settings: %s", exc)
            if stop.wait(SYNC_INTERVAL):
                return
