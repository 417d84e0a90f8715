"""``--import-failed-errors`` and ``--import-failed-audits``: ingest the stored failed imports again.

ServiceControl 6.19.2 (docs/reference/servicecontrol.md §1.14): Hosting/Commands/ImportFailedErrorsCommand with
Operations/ImportFailedErrors, and ServiceControl.Audit's ImportFailedAuditsCommand with Auditing/ImportFailedAudits.
The instance starts without ingestion (and, for the Error instance, without the retry processor), checks that it
can reach the forwarding queue when it forwards, and then feeds every stored failed import through the same
ingestion as a message from the queue: one that is ingested (and forwarded) now is deleted, one that fails again
stays, and the run logs how many of each there were.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from lab.instance.audit import FAILED_IMPORTS as FAILED_AUDIT_IMPORTS
from lab.instance.audit import AuditInstance
from lab.instance.error import FAILED_IMPORTS as FAILED_ERROR_IMPORTS
from lab.instance.error import ErrorInstance
from lab.instance.runtime import forward_copy
from lab.instance.store import open_store
from lab.transports.base import LabMessage

log = logging.getLogger("lab.instance")


@dataclass
class ReimportResult:
    succeeded: int = 0
    failed: int = 0


def _message(document: dict, body: bytes | None) -> LabMessage:
    stored = document["message"]
    return LabMessage(headers=dict(stored.get("headers") or {}), body=body or b"", native_id=stored.get("id"))


def reimport(settings, transport_factory) -> ReimportResult:
    """Re-import the failed imports of an Error or Audit instance (the kind its settings say)."""
    error = settings.kind == "error"
    collection = FAILED_ERROR_IMPORTS if error else FAILED_AUDIT_IMPORTS
    store = open_store(settings)
    engine = (ErrorInstance if error else AuditInstance)(settings, transport_factory, store)
    result = ReimportResult()
    forward = settings.forward_error_messages if error else settings.forward_audit_messages
    log_queue = settings.error_log_queue if error else settings.audit_log_queue
    process = engine.ingestion._process_batch if error else engine._process_batch
    try:
        transport = transport_factory()
        try:
            if forward:
                # VerifyCanReachForwardingAddress: the probe first; if it cannot be sent, the command fails.
                try:
                    transport.send(log_queue, LabMessage(headers={}, body=b"", native_id="0" * 32))
                except Exception as exc:
                    raise RuntimeError("Unable to write to forwarding queue %s" % log_queue) from exc
            for document in store.all(collection):
                body_id = "%s/%s" % (collection, document["id"])
                message = _message(document, store.get_body(body_id))
                try:
                    to_forward, errors = process(transport, [message])
                    if errors:
                        raise next(iter(errors.values()))
                    if forward:
                        for copy in to_forward:
                            forward_copy(transport, log_queue, copy)
                except Exception as exc:
                    log.error("Error while attempting to re-import failed message %s: %s", message.native_id, exc)
                    result.failed += 1
                    continue
                store.delete(collection, document["id"])
                result.succeeded += 1
        finally:
            transport.close()
    finally:
        if error:
            engine.sender.close()
        store.close()
    kind = "errors" if error else "audits"
    log.info(
        "Done re-importing failed %s. Successfully re-imported %d messages. Failed re-importing %d messages",
        kind,
        result.succeeded,
        result.failed,
    )
    if result.failed:
        log.warning(
            "%d messages could not be re-imported. This could indicate a problem with the data. Contact Particular "
            "support if you need help with recovering the messages",
            result.failed,
        )
    return result
