"""Custom checks: the results endpoints report, and the Error instance's own health checks.

ServiceControl/CustomChecks: ReportCustomCheckResultHandler and CustomCheckResultProcessor (the CustomCheck
documents), DeleteCustomCheckHandler, InternalCustomChecks with FailedErrorImportCustomCheck; the internal
checks ErrorIngestionCustomCheck and CheckRemotes live in ServiceControl/Operations.
"""

from __future__ import annotations

import uuid

from lab.instance import common as c
from lab.instance.error.ingestion import ErrorIngestion
from lab.instance.store import DocumentStore
from lab.settings import ErrorSettings

CUSTOM_CHECKS = "CustomChecks"
MSG_CUSTOM_CHECK = "ServiceControl.Plugin.CustomChecks.Messages.ReportCustomCheckResult"

INGESTION_PROCESS_CHECK = "Error Message Ingestion Process"
FAILED_IMPORT_CHECK = "Error Message Ingestion"
REMOTES_CHECK = "ServiceControl Remotes"
FAILED_IMPORT_MESSAGE = (
    "One or more error messages have failed to import properly into ServiceControl and have been stored in the "
    "ServiceControl database.\nThe import of these messages could have failed for a number of reasons and "
    "ServiceControl is not able to automatically reimport them. For guidance on how to resolve this see "
    "https://docs.particular.net/servicecontrol/import-failed-messages"
)


def compact_endpoint(name: str | None, host_id: str | None, host: str | None) -> dict:
    return c.compact(name=name, host_id=str(uuid.UUID(host_id)) if host_id else None, host=host)


class CustomChecks:
    """Stored custom-check results plus the internal checks, computed when asked for.

    ``unavailable_remotes`` is the instance's map of remote base address -> why it was disabled (written by the
    remotes check and by scatter-gather calls, see lab.instance.api.remotes).
    """

    def __init__(
        self,
        settings: ErrorSettings,
        store: DocumentStore,
        ingestion: ErrorIngestion,
        unavailable_remotes: dict[str, str],
    ) -> None:
        self.settings = settings
        self.store = store
        self.ingestion = ingestion
        self.unavailable_remotes = unavailable_remotes

    def handlers(self) -> dict:
        return {MSG_CUSTOM_CHECK: self._on_custom_check}

    def _on_custom_check(self, payload: dict) -> None:
        check_id = c.deterministic_guid(
            payload.get("EndpointName"), payload.get("HostId"), payload.get("CustomCheckId")
        )
        self.store.put(
            CUSTOM_CHECKS,
            check_id,
            c.compact(
                id=check_id,
                custom_check_id=payload.get("CustomCheckId"),
                category=payload.get("Category"),
                status="fail" if payload.get("HasFailed") else "pass",
                reported_at=payload.get("ReportedAt"),
                failure_reason=payload.get("FailureReason"),
                originating_endpoint=compact_endpoint(
                    payload.get("EndpointName"), payload.get("HostId"), payload.get("Host")
                ),
            ),
        )

    def delete(self, check_id: str) -> None:
        self.store.delete(CUSTOM_CHECKS, check_id)

    def all(self) -> list[dict]:
        checks = list(self.store.all(CUSTOM_CHECKS))
        me = compact_endpoint(self.settings.instance_name, None, None)
        now = c.json_date(c.utcnow())

        def internal(check_id: str, failure: str | None, category: str = "ServiceControl Health") -> dict:
            return c.compact(
                id=c.deterministic_guid(self.settings.instance_name, check_id),
                custom_check_id=check_id,
                category=category,
                status="fail" if failure else "pass",
                reported_at=now,
                failure_reason=failure,
                originating_endpoint=me,
            )

        if self.settings.ingest_error_messages:
            # The ingestion check only exists when ingestion does (it reports the watchdog's last failure).
            watchdog = self.ingestion.pump.watchdog
            failure = watchdog.last_failure if watchdog else None
            checks.append(internal(INGESTION_PROCESS_CHECK, failure))
        checks.append(
            internal(FAILED_IMPORT_CHECK, FAILED_IMPORT_MESSAGE if self.ingestion.failed_import_count() else None)
        )
        if self.settings.remote_instances:
            reasons = [self.unavailable_remotes[base] for base in sorted(self.unavailable_remotes)]
            checks.append(internal(REMOTES_CHECK, "\n".join(reasons) + "\n" if reasons else None, "Health"))
        return checks
