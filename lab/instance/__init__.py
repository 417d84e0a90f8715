"""Lab stand-ins for ServiceControl Error and Audit instances (see lab/README.md, "Running the instances by hand").

``LabInstance`` wires one instance together: settings -> transport -> data store -> engine -> HTTP API.
"""

from __future__ import annotations

import logging
import os
import threading

from lab.instance.api import AuditApi, ErrorApi, remote_checker
from lab.instance.audit import AuditInstance
from lab.instance.error import ErrorInstance
from lab.instance.http import ApiServer
from lab.instance.monitoring import MonitoringApi, MonitoringInstance, metrics_queue_address
from lab.instance.store import DocumentStore, open_store
from lab.settings import AuditSettings, ErrorSettings, SettingsError
from lab.transports import open_lab_transport

log = logging.getLogger("lab.instance")
#: Lab-only: seconds between "ServiceControl Remotes" checks (ServiceControl: 30 s).
CHECK_REMOTES_INTERVAL_ENV = "LAB_CHECK_REMOTES_INTERVAL"


class LabInstance:
    """A running lab instance. ``start()`` returns once the API listens; ``stopped`` is set when the
    instance stops by itself (e.g. error ingestion could not start at all)."""

    def __init__(self, settings: ErrorSettings | AuditSettings, transport_factory=None) -> None:
        self.settings = settings
        transport_type = settings.require_transport()
        if transport_factory is None:

            def transport_factory():
                return open_lab_transport(transport_type, settings.connection_string or "")

        self.transport_factory = transport_factory
        self.stopped = threading.Event()
        self.fatal_reason: str | None = None
        self.store: DocumentStore | None = None
        self.engine: ErrorInstance | AuditInstance | None = None
        self.api: ErrorApi | AuditApi | None = None
        self.server: ApiServer | None = None
        self._remote_stop = threading.Event()

    def setup(self, create_queues: bool = True) -> list[str]:
        """``--setup``: create the queues; returns their names (none with ``--skip-queue-creation``).

        With an external RavenDB the database is created first, as ServiceControl's setup starts persistence
        before it provisions the queues (an unreachable server fails the setup)."""
        if self.settings.ravendb_connection_string:
            open_store(self.settings).close()
        if not create_queues:
            log.info("Skipping queue creation")
            return []
        engine_type = {"error": ErrorInstance, "audit": AuditInstance}.get(self.settings.kind, MonitoringInstance)
        engine = engine_type(self.settings, self.transport_factory, store=None)  # type: ignore[arg-type]
        try:
            return engine.setup()
        finally:
            if isinstance(engine, ErrorInstance):
                engine.sender.close()

    def _on_fatal(self, reason: str) -> None:
        # Watchdog onFailedOnStartup -> IHostApplicationLifetime.StopApplication().
        self.fatal_reason = reason
        threading.Thread(target=self.stop, name="stop", daemon=True).start()

    def start(self) -> None:
        if self.settings.kind == "monitoring":  # nothing persisted
            self.engine = MonitoringInstance(self.settings, self.transport_factory, None, on_fatal=self._on_fatal)
            self.api = MonitoringApi(self.engine, metrics_queue_address(self.transport_factory, self.settings))
        elif self.settings.kind == "error":
            self.store = open_store(self.settings)
            self.engine = ErrorInstance(self.settings, self.transport_factory, self.store, on_fatal=self._on_fatal)
            self.api = ErrorApi(self.engine)
        else:
            self.store = open_store(self.settings)
            self.engine = AuditInstance(self.settings, self.transport_factory, self.store, on_fatal=self._on_fatal)
            self.api = AuditApi(self.engine)
        self.server = ApiServer(
            self.api.router, self.settings.host_name, self.settings.port, self.settings.version_text
        )
        self.server.start()
        self.engine.start()
        if isinstance(self.api, ErrorApi) and self.api.remotes:
            interval = float(os.environ.get(CHECK_REMOTES_INTERVAL_ENV, "30"))
            threading.Thread(
                target=remote_checker, args=(self.api, interval, self._remote_stop), name="remotes", daemon=True
            ).start()
        log.info(
            "%s instance %s (ServiceControl %s) listening on %s",
            self.settings.kind,
            self.settings.instance_name,
            self.settings.version_text,
            self.url,
        )

    @property
    def url(self) -> str:
        host = self.settings.host_name
        host = "localhost" if host in ("*", "+", "") else host
        port = self.server.port if self.server else self.settings.port
        return "http://%s:%s%s" % (host, port, "" if self.settings.kind == "monitoring" else "/api")

    def stop(self) -> None:
        if self.stopped.is_set():
            return
        self._remote_stop.set()
        if self.engine is not None:
            self.engine.stop()
        if self.server is not None:
            self.server.stop()
        if self.store is not None:
            self.store.close()
        self.stopped.set()


__all__ = ["LabInstance", "SettingsError"]
