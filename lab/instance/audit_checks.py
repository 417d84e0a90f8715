"""The Audit instance's custom checks, reported to the Error instance as any endpoint's custom checks are.

ServiceControl.Audit 6.19.2 (Infrastructure/NServiceBusFactory): only when ``ServiceControlQueueAddress`` is set,
the audit endpoint runs two NServiceBus custom checks and sends each result (``ReportCustomCheckResult``, time to
be received one minute) to that queue, where the Error instance stores it (docs/reference/servicecontrol.md §2.8):

- "Audit Message Ingestion Process", category "ServiceControl Health", every 5 s: fails with the ingestion's
  last failure (Auditing/AuditIngestionCustomCheck);
- "Audit Message Ingestion", category "ServiceControl.Audit Health", every hour: fails while failed imports are
  stored (Auditing/FailedAuditImportCustomCheck).

Each check runs when the instance starts and then at its interval.
"""

from __future__ import annotations

import logging
import socket
import threading

from lab.instance import common as c
from lab.instance.runtime import command_message
from lab.settings import AuditSettings

log = logging.getLogger("lab.instance.audit")

REPORT_CUSTOM_CHECK_RESULT = "ServiceControl.Plugin.CustomChecks.Messages.ReportCustomCheckResult, ServiceControl"
INGESTION_PROCESS_CHECK = ("Audit Message Ingestion Process", "ServiceControl Health", 5.0)
FAILED_IMPORT_CHECK = ("Audit Message Ingestion", "ServiceControl.Audit Health", 3600.0)
FAILED_IMPORT_MESSAGE = (
    "One or more audit messages have failed to import properly into ServiceControl.Audit and have been stored in "
    "the ServiceControl.Audit database.\nThe import of these messages could have failed for a number of reasons and "
    "ServiceControl.Audit is not able to automatically reimport them. For guidance on how to resolve this see "
    "https://docs.particular.net/servicecontrol/import-failed-messages"
)


class AuditCustomChecks:
    def __init__(self, settings: AuditSettings, transport_factory, store, engine) -> None:
        self.settings = settings
        self.transport_factory = transport_factory
        self.store = store
        self.engine = engine
        self.host = socket.gethostname()
        #: NServiceBus' host id is derived from the machine and the installation; the lab uses the instance name.
        self.host_id = c.deterministic_guid(settings.instance_name, self.host)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def destination(self) -> str | None:
        address = self.settings.service_control_queue_address
        return address.split("@", 1)[0] if address and address.strip() else None

    def results(self, checks=(INGESTION_PROCESS_CHECK, FAILED_IMPORT_CHECK)) -> list[dict]:
        reports = []
        for check_id, category, _interval in checks:
            if check_id == FAILED_IMPORT_CHECK[0]:
                failure = FAILED_IMPORT_MESSAGE if self.engine.failed_import_count() else None
            else:
                watchdog = self.engine.watchdog
                failure = watchdog.last_failure if watchdog else None
            reports.append(
                {
                    "HostId": self.host_id,
                    "Host": self.host,
                    "EndpointName": self.settings.instance_name,
                    "CustomCheckId": check_id,
                    "Category": category,
                    "HasFailed": failure is not None,
                    "FailureReason": failure,
                    "ReportedAt": c.json_date(c.utcnow()),
                }
            )
        return reports

    def report(self, checks=(INGESTION_PROCESS_CHECK, FAILED_IMPORT_CHECK)) -> None:
        destination = self.destination
        if destination is None:
            return
        transport = self.transport_factory()
        try:
            for result in self.results(checks):
                message = command_message(
                    REPORT_CUSTOM_CHECK_RESULT, result, self.settings.instance_name, {c.TTBR: "00:01:00"}
                )
                transport.send(destination, message)
        finally:
            transport.close()

    def start(self) -> None:
        if self.destination is None:
            return
        self._thread = threading.Thread(target=self._run, name="audit custom checks", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        elapsed = {check[0]: 0.0 for check in (INGESTION_PROCESS_CHECK, FAILED_IMPORT_CHECK)}
        due = [INGESTION_PROCESS_CHECK, FAILED_IMPORT_CHECK]
        while True:
            if due:
                try:
                    self.report(tuple(due))
                except Exception as exc:  # NServiceBus logs a failed report and tries again at the next run
                    log.warning("Could not report custom checks to %s: %s", self.destination, exc)
            if self._stop.wait(INGESTION_PROCESS_CHECK[2]):
                return
            due = []
            for check in (INGESTION_PROCESS_CHECK, FAILED_IMPORT_CHECK):
                elapsed[check[0]] += INGESTION_PROCESS_CHECK[2]
                if elapsed[check[0]] >= check[2]:
                    elapsed[check[0]] = 0.0
                    due.append(check)

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.ident is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
