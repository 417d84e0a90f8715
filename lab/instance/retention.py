"""Data retention: documents that carry an expiry time are deleted once it has passed.

ServiceControl 6.19.2 keeps its data in RavenDB with document expiry (docs/reference/servicecontrol.md §1.13):
a document gets an ``@expires`` time when it is written or changes state, and RavenDB's expiry sweep, every
``ExpirationProcessTimerInSeconds`` (default 600), deletes the expired ones. Which documents expire, and when:

- Error instance (ServiceControl.Persistence.RavenDB/ExpirationManager and its callers): a failed message that
  becomes Resolved (retry confirmed, or resolved by hand) or Archived expires ``ErrorRetentionPeriod`` after
  that change; retrying it (RetryIssued), unarchiving it or a new failure of it cancels the expiry; event log
  items expire ``EventsRetentionPeriod`` after they are written;
- Audit instance (RavenAuditIngestionUnitOfWork): every processed message and saga snapshot expires
  ``AuditRetentionPeriod`` after it was ingested.

The lab stores the time under the document's ``@expires`` key; ``LAB_RETENTION_CLOCK_SPEED`` makes the
retention periods pass that many times faster (lab.settings_features), so tests can expire data in seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from lab.instance import common as c
from lab.instance.common import EXPIRES
from lab.instance.store import DocumentStore

log = logging.getLogger("lab.instance.retention")


def expires_at(period: dt.timedelta) -> str:
    return c.json_date(c.utcnow() + period)


def expire_after(doc: dict, period: dt.timedelta | None) -> None:
    """Set (``period``) or cancel (None) a document's expiry."""
    if period is None:
        doc.pop(EXPIRES, None)
    else:
        doc[EXPIRES] = expires_at(period)


def without_expiry(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != EXPIRES}


class ExpirySweeper:
    """The expiry sweep over some collections of one store, every ``interval`` seconds."""

    def __init__(self, store: DocumentStore, collections: tuple[str, ...], interval: float) -> None:
        self.store = store
        self.collections = collections
        self.interval = max(interval, 0.05)
        self.deleted = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self) -> int:
        now = c.utcnow()
        deleted = 0
        for collection in self.collections:
            for doc in self.store.all(collection):
                expiry = doc.get(EXPIRES)
                if expiry and c.parse_iso(expiry) <= now and self._delete(collection, doc):
                    deleted += 1
        self.deleted += deleted
        return deleted

    def _delete(self, collection: str, doc: dict) -> bool:
        doc_id = doc.get("id") or ""
        # Documents are stored under their own id, except failed messages ("FailedMessages/<unique id>").
        key = doc.get("unique_message_id", doc_id) if collection == "FailedMessages" else doc_id
        return self.store.delete(collection, key)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="expiry", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
            except Exception as exc:  # the next round tries again
                log.warning("Expiry sweep failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.ident is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
