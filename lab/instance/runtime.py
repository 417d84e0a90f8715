"""Threads and plumbing shared by the lab instances: transports per thread, the watchdog, the sender, and the
ingestion pump both instance kinds run their error or audit queue with."""

from __future__ import annotations

import json
import logging
import queue as queue_module
import threading
import time
import uuid
from collections.abc import Callable

from lab.instance import common as c
from lab.instance.store import DocumentStore
from lab.settings import AuditSettings, ErrorSettings
from lab.transports.base import LabMessage, LabTransport

TransportFactory = Callable[[], LabTransport]
#: What an ingestor does with a received batch: the messages to forward, and the failures by ``id(message)``.
BatchProcessor = Callable[[LabTransport, list[LabMessage]], tuple[list[LabMessage], dict[int, Exception]]]
log = logging.getLogger("lab.instance")

#: How long an idle receive loop waits before polling its queue again.
POLL_INTERVAL = 0.05
#: Immediate processing failures before a message becomes a failed import (ErrorIngestionFaultPolicy).
IMMEDIATE_FAILURES_BEFORE_IMPORT_FAILURE = 3
#: Failed imports within 20 s that make ingestion report a critical error (ImportFailureCircuitBreaker).
CIRCUIT_BREAKER_LIMIT = 50
CIRCUIT_BREAKER_WINDOW = 20.0


class InstanceEngine:
    """What both instance kinds start from: their settings, a transport factory, the data store (None for
    ``--setup``) and what to call when ingestion cannot start at all (``on_fatal``)."""

    kind = ""

    def __init__(
        self,
        settings: ErrorSettings | AuditSettings,
        transport_factory: TransportFactory,
        store: DocumentStore | None,
        on_fatal: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.transport_factory = transport_factory
        self.store = store
        self.on_fatal = on_fatal or (lambda reason: None)

    def setup(self) -> list[str]:
        """``--setup``: create the instance's queues (docs/reference/servicecontrol.md §5)."""
        queues = self.settings.setup_queues()
        with self.transport_factory() as transport:
            for name in queues:
                transport.create_queue(name)
        return queues


def command_message(type_name: str, payload: dict, sender: str, extra_headers: dict | None = None) -> LabMessage:
    """An NServiceBus message an instance sends (System.Text.Json body), e.g. a command to itself."""
    message_id = str(uuid.uuid4())
    headers = {
        c.MESSAGE_ID: message_id,
        c.CONVERSATION_ID: str(uuid.uuid4()),
        "NServiceBus.CorrelationId": message_id,
        c.MESSAGE_INTENT: "Send",
        c.ENCLOSED_TYPES: type_name,
        c.CONTENT_TYPE: "application/json",
        c.ORIGINATING_ENDPOINT: sender,
        c.REPLY_TO: sender,
        c.TIME_SENT: c.to_wire(c.utcnow()),
    }
    headers.update(extra_headers or {})
    return LabMessage(headers=headers, body=json.dumps(payload, separators=(",", ":")).encode("utf-8"))


class Sender:
    """Sends messages for threads that have no transport of their own (HTTP handlers).

    One thread owns one transport (LabTransport instances are single-threaded); callers block until
    their send is done, so a failing send surfaces in the caller as it would in ServiceControl.
    """

    def __init__(self, factory: TransportFactory, name: str) -> None:
        self._factory = factory
        self._requests: queue_module.Queue = queue_module.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        transport = None
        while True:
            item = self._requests.get()
            if item is None:
                break
            destination, message, done = item
            try:
                if transport is None:
                    transport = self._factory()
                transport.send(destination, message)
                done["error"] = None
            except Exception as exc:
                done["error"] = exc
                if transport is not None:
                    try:
                        transport.close()
                    finally:
                        transport = None
            done["event"].set()
        if transport is not None:
            transport.close()

    def send(self, destination: str, message: LabMessage, timeout: float = 30.0) -> None:
        done = {"event": threading.Event(), "error": None}
        self._requests.put((destination, message, done))
        if not done["event"].wait(timeout):
            raise TimeoutError("Sending to %s timed out" % destination)
        if done["error"] is not None:
            raise done["error"]

    def close(self) -> None:
        self._requests.put(None)
        self._thread.join(timeout=5)


class CircuitBreaker:
    """Counts failed imports; more than 50 within a 20 s window is a critical error."""

    def __init__(self) -> None:
        self._window_start = time.monotonic()
        self._count = 0
        self._lock = threading.Lock()

    def increment(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._window_start >= CIRCUIT_BREAKER_WINDOW:
                self._window_start, self._count = now, 0
            self._count += 1
            return self._count > CIRCUIT_BREAKER_LIMIT


class CriticalError(Exception):
    """Ingestion must stop and be restarted by the watchdog."""


class IngestionWatchdog:
    """ServiceControl's Watchdog around an ingestion loop.

    The first start attempt failing stops the whole instance (``onFailedOnStartup`` ->
    StopApplication). Later failures (a critical error while running, or a failed restart) are
    reported to the ingestion custom check and retried every ``restart_interval`` seconds.
    """

    def __init__(
        self,
        name: str,
        start: Callable[[], None],
        run: Callable[[threading.Event], None],
        stop: Callable[[], None],
        *,
        restart_interval: float,
        on_failed_startup: Callable[[str], None],
    ) -> None:
        self.name = name
        self._start, self._run, self._stop = start, run, stop
        self.restart_interval = restart_interval
        self._on_failed_startup = on_failed_startup
        self.last_failure: str | None = None
        self.started = threading.Event()
        self._shutdown = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def begin(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        startup = True
        while not self._shutdown.is_set():
            try:
                self._start()
                self.last_failure = None
                startup = False
                self.started.set()
            except Exception as exc:  # any start failure is reported, as the Watchdog does
                self.last_failure = str(exc)
                self._safe_stop()
                if startup:
                    log.error("Error during initial startup attempt for %s: %s", self.name, exc)
                    self._on_failed_startup(str(exc))
                    return
                log.error(
                    "Error while trying to start %s. Starting will be retried in %s s: %s",
                    self.name,
                    self.restart_interval,
                    exc,
                )
                self._shutdown.wait(self.restart_interval)
                continue
            try:
                self._run(self._shutdown)
            except CriticalError as exc:
                log.critical("OnCriticalError. '%s'", exc)
                self.last_failure = str(exc)
                self.started.clear()
                self._safe_stop()
                self._shutdown.wait(self.restart_interval)
        self._safe_stop()

    def _safe_stop(self) -> None:
        try:
            self._stop()
        except Exception as exc:
            log.warning("Failed to stop %s: %s", self.name, exc)

    def shutdown(self) -> None:
        self._shutdown.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)


class FailureCounter:
    """Immediate processing failures per received message (by native id)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def fail(self, message: LabMessage) -> int:
        key = self.key(message)
        self._counts[key] = self._counts.get(key, 0) + 1
        return self._counts[key]

    def forget(self, message: LabMessage) -> None:
        self._counts.pop(self.key(message), None)

    def retry_immediately(self, transport: LabTransport, message: LabMessage) -> bool:
        """The ingestion fault policy: return the message to the queue for its first immediate failures.

        True when it was returned; False when it has failed often enough to be stored as a failed import.
        """
        if self.fail(message) < IMMEDIATE_FAILURES_BEFORE_IMPORT_FAILURE:
            transport.abandon(message)
            return True
        self.forget(message)
        return False

    def settle(self, transport: LabTransport, batch: list[LabMessage], errors: dict, on_failure) -> None:
        """Complete every message of an ingested batch, except those that failed (handed to on_failure)."""
        for message in batch:
            if id(message) in errors:
                on_failure(transport, message, errors[id(message)])
            else:
                self.forget(message)
                transport.complete(message)

    @staticmethod
    def key(message: LabMessage) -> str:
        # The NServiceBus id survives a redelivery on every transport; the native id only on some.
        return message.headers.get("NServiceBus.MessageId") or message.native_id or str(id(message))


def open_ingestion(transport_factory, ingest_queue: str, log_queue: str | None) -> LabTransport:
    """Start an ingestor's infrastructure as ServiceControl does; return the transport it receives with.

    The ingest queue must exist (the Learning transport's pump creates its own directory). With forwarding on
    (``log_queue`` set), VerifyCanReachForwardingAddress sends the probe, an empty message with id
    Guid.Empty("N") and no headers; if it cannot be sent, ingestion does not start.
    """
    transport = transport_factory()
    try:
        if transport.transport_type == "LearningTransport":
            transport.create_queue(ingest_queue)
        elif not transport.queue_exists(ingest_queue):
            raise RuntimeError("Queue %s does not exist" % ingest_queue)
        if log_queue:
            try:
                transport.send(log_queue, LabMessage(headers={}, body=b"", native_id="0" * 32))
            except Exception as exc:
                raise RuntimeError("Unable to write to forwarding queue %s" % log_queue) from exc
    except Exception:
        transport.close()
        raise
    return transport


def forward_copy(transport: LabTransport, queue: str, message: LabMessage) -> None:
    """Forward an ingested message to a log queue as ServiceControl does: same headers and body, no TTBR."""
    headers = {key: value for key, value in message.headers.items() if key != c.TTBR}
    transport.send(queue, LabMessage(headers=headers, body=message.body))


def receive_batch(transport: LabTransport, queue: str, limit: int) -> list[LabMessage]:
    batch = []
    while len(batch) < limit:
        message = transport.receive(queue)
        if message is None:
            break
        batch.append(message)
    return batch


def failed_import(message: LabMessage, exception_info: str) -> tuple[str, dict]:
    """A new failed-import document (FailedErrorImport / FailedAuditImport) for a message that could not be ingested."""
    import_id = str(uuid.uuid4())
    document = {
        "id": import_id,
        "message": {"id": message.native_id, "headers": message.headers},
        "exception_info": exception_info,
    }
    return import_id, document


class IngestionPump:
    """ServiceControl's ErrorIngestion / AuditIngestion around one queue.

    A watchdog starts the infrastructure (``open_ingestion``: the queue must exist, the forwarding probe must
    go through) and runs receive -> ``process`` -> forward -> settle. A batch whose processing or forwarding
    raises fails as a whole; a message that fails is retried immediately twice and then handed to
    ``store_failed_import`` (the ingestion fault policy); too many failed imports are a critical error, which
    the watchdog answers by restarting ingestion. The two instance kinds differ only in ``process`` and
    ``store_failed_import``.
    """

    def __init__(
        self,
        name: str,
        transport_factory: TransportFactory,
        queue: str,
        log_queue: str,
        *,
        forward: bool,
        concurrency: int,
        restart_interval: float,
        process: BatchProcessor,
        store_failed_import: Callable[[LabMessage, Exception], None],
        on_failed_startup: Callable[[str], None],
        logger: logging.Logger,
        log_infrastructure: bool = False,
        stop: threading.Event | None = None,
    ) -> None:
        self.name = name
        self.transport_factory = transport_factory
        self.queue = queue
        self.log_queue = log_queue
        self.forward = forward
        self.concurrency = concurrency
        self.restart_interval = restart_interval
        self._process = process
        self._store_failed_import = store_failed_import
        self._on_failed_startup = on_failed_startup
        self._log = logger
        self._log_infrastructure = log_infrastructure
        #: Set by the instance when it stops; the receive loop checks it between batches.
        self._halt = stop or threading.Event()
        self.running = threading.Event()
        self.watchdog: IngestionWatchdog | None = None
        self._transport: LabTransport | None = None
        self._failures = FailureCounter()
        self._circuit_breaker = CircuitBreaker()

    def begin(self) -> None:
        self.watchdog = IngestionWatchdog(
            self.name,
            self._start_infrastructure,
            self._run,
            self._stop_infrastructure,
            restart_interval=self.restart_interval,
            on_failed_startup=self._on_failed_startup,
        )
        self.watchdog.begin()

    def shutdown(self) -> None:
        if self.watchdog is not None:
            self.watchdog.shutdown()

    def _start_infrastructure(self) -> None:
        log_queue = self.log_queue if self.forward else None
        self._transport = open_ingestion(self.transport_factory, self.queue, log_queue)
        self.running.set()
        if self._log_infrastructure:
            self._log.info("Started infrastructure")

    def _stop_infrastructure(self) -> None:
        self.running.clear()
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
            if self._log_infrastructure:
                self._log.info("Stopped infrastructure")

    def _run(self, shutdown: threading.Event) -> None:
        transport = self._transport
        while not shutdown.is_set() and not self._halt.is_set():
            batch = receive_batch(transport, self.queue, self.concurrency)
            if not batch:
                shutdown.wait(POLL_INTERVAL)
                continue
            self._ingest(transport, batch)

    def _ingest(self, transport: LabTransport, batch: list[LabMessage]) -> None:
        try:
            to_forward, errors = self._process(transport, batch)
            if self.forward:
                for message in to_forward:
                    forward_copy(transport, self.log_queue, message)
        except Exception as exc:  # the whole batch fails, as in ErrorIngestor.Ingest / AuditIngestor.Ingest
            self._log.warning("Forwarding messages failed: %s", exc)
            for message in batch:
                self._on_failure(transport, message, exc)
            return
        self._failures.settle(transport, batch, errors, self._on_failure)

    def _on_failure(self, transport: LabTransport, message: LabMessage, exc: Exception) -> None:
        # ErrorIngestionFaultPolicy / AuditIngestionFaultPolicy: retry immediately twice, then a failed import.
        if self._failures.retry_immediately(transport, message):
            return
        self._store_failed_import(message, exc)
        transport.complete(message)
        if self._circuit_breaker.increment():
            raise CriticalError("Failed to import too many times")
