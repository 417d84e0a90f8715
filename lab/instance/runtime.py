"""Threads and plumbing shared by the lab instances: transports per thread, the watchdog, the sender."""

from __future__ import annotations

import logging
import queue as queue_module
import threading
import time
from collections.abc import Callable

from lab.instance.common import TTBR
from lab.transports.base import LabMessage, LabTransport

TransportFactory = Callable[[], LabTransport]
log = logging.getLogger("lab.instance")

#: How long an idle receive loop waits before polling its queue again.
POLL_INTERVAL = 0.05
#: Immediate processing failures before a message becomes a failed import (ErrorIngestionFaultPolicy).
IMMEDIATE_FAILURES_BEFORE_IMPORT_FAILURE = 3
#: Failed imports within 20 s that make ingestion report a critical error (ImportFailureCircuitBreaker).
CIRCUIT_BREAKER_LIMIT = 50
CIRCUIT_BREAKER_WINDOW = 20.0


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
    headers = {key: value for key, value in message.headers.items() if key != TTBR}
    transport.send(queue, LabMessage(headers=headers, body=message.body))


def receive_batch(transport: LabTransport, queue: str, limit: int) -> list[LabMessage]:
    batch = []
    while len(batch) < limit:
        message = transport.receive(queue)
        if message is None:
            break
        batch.append(message)
    return batch
