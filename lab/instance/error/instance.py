"""The lab's Error (primary) instance: its components wired together, and their threads.

ServiceControl 6.19.2's Error instance (ServiceControl.exe) is a host of components: error ingestion
(Operations), recoverability (Recoverability, MessageFailures), heartbeats and known endpoints (Monitoring),
custom checks (CustomChecks). The lab keeps one object per component; ``ErrorInstance`` owns them, hands each
its collaborators explicitly, and runs the ingestion, input-queue and retry threads. The HTTP API
(lab.instance.api) reads the components and sends commands to the input queue.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from lab.instance.error.archive import Archiver
from lab.instance.error.custom_checks import CustomChecks
from lab.instance.error.endpoint_settings import EndpointSettings
from lab.instance.error.event_log import EVENT_LOG, EventLog
from lab.instance.error.failed_messages import FAILED_MESSAGES, FailedMessages
from lab.instance.error.groups import FailureGroups, GroupFetcher
from lab.instance.error.ingestion import ErrorIngestion
from lab.instance.error.input_queue import InputQueue
from lab.instance.error.monitoring import EndpointMonitoring
from lab.instance.error.redirects import MessageRedirects
from lab.instance.error.retries import Retries
from lab.instance.error.retry_processor import RetryProcessor
from lab.instance.error.throughput import Throughput
from lab.instance.retention import ExpirySweeper
from lab.instance.runtime import IngestionWatchdog, InstanceEngine, Sender, TransportFactory
from lab.instance.store import DocumentStore
from lab.settings import ErrorSettings
from lab.transports.base import LabMessage


class ErrorInstance(InstanceEngine):
    """One running Error instance (without its HTTP server; see lab.instance.http)."""

    kind = "error"
    settings: ErrorSettings

    def __init__(
        self,
        settings: ErrorSettings,
        transport_factory: TransportFactory,
        store: DocumentStore,
        on_fatal: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(settings, transport_factory, store, on_fatal)
        self.sender = Sender(transport_factory, "%s sender" % settings.instance_name)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # One lock for the in-memory operations that retries, archiving and GroupFetcher share.
        lock = threading.RLock()
        #: Remote base address -> why the remotes check or a scatter-gather call disabled it.
        self.unavailable_remotes: dict[str, str] = {}

        features = settings.features
        self.events = EventLog(store, features.scaled(features.events_retention_period))
        self.failed = FailedMessages(store, features.scaled(settings.error_retention_period))
        self.monitoring = EndpointMonitoring(settings, store)
        self.endpoint_settings = EndpointSettings(settings, store, self.monitoring)
        self.ingestion = ErrorIngestion(
            settings,
            transport_factory,
            store,
            self.failed,
            self.monitoring,
            stop=self._stop,
            on_fatal=self.on_fatal,
            events=self.events,
        )
        self.groups = FailureGroups(store, self.failed)
        self.retries = Retries(settings, store, self.failed, self.groups, lock, events=self.events)
        self.archive = Archiver(self.failed, self.groups, lock, self.events)
        self.redirects = MessageRedirects(store)
        self.throughput = Throughput(settings, transport_factory, store)
        self.expiry = ExpirySweeper(store, (FAILED_MESSAGES, EVENT_LOG), features.expiration_process_timer)
        self.group_fetcher = GroupFetcher(self.groups, self.retries, self.archive, lock)
        self.custom_checks = CustomChecks(settings, store, self.ingestion, self.unavailable_remotes)
        self.retry_processor = RetryProcessor(
            settings,
            transport_factory,
            store,
            self.failed,
            self.retries,
            lock=lock,
            stop=self._stop,
            redirects=self.redirects,
            events=self.events,
        )
        handlers = {
            **self.retries.handlers(),
            **self.archive.handlers(),
            **self.monitoring.handlers(),
            **self.custom_checks.handlers(),
        }
        self.input_queue = InputQueue(settings, transport_factory, self.sender, handlers, self._stop)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.ingestion.start()
        self._spawn("%s input" % self.settings.instance_name, self.input_queue.run)
        self._spawn("%s retries" % self.settings.instance_name, self.retry_processor.run)
        self._spawn("%s throughput" % self.settings.instance_name, lambda: self.throughput.run(self._stop))
        self._spawn(
            "%s endpoint settings" % self.settings.instance_name, lambda: self.endpoint_settings.run(self._stop)
        )
        self.expiry.start()

    def _spawn(self, name: str, target) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self.ingestion.stop()
        self.expiry.stop()
        for thread in self._threads:
            if thread is not threading.current_thread() and thread.ident is not None:
                thread.join(timeout=10)
        self.sender.close()

    # ------------------------------------------------------------------ what the API and tests use

    @property
    def watchdog(self) -> IngestionWatchdog | None:
        return self.ingestion.pump.watchdog

    @property
    def ingestion_running(self) -> threading.Event:
        return self.ingestion.pump.running

    def send_command(self, type_name: str, payload: dict) -> None:
        """What the API controllers do: send an internal command to the instance's own input queue."""
        self.input_queue.send(type_name, payload)

    def handle_input_message(self, message: LabMessage) -> None:
        self.input_queue.handle(message)

    def failed_messages(self) -> list[dict]:
        return self.failed.all()

    def failed_message(self, unique_id: str) -> dict | None:
        return self.failed.get(unique_id)

    def failed_imports(self) -> list[dict]:
        return self.ingestion.failed_imports()
