"""Message redirects: retries of messages that failed in one queue are sent to another.

ServiceControl 6.19.2: Persistence/MessageRedirects (MessageRedirect: id = DeterministicGuid of the "from"
address; FindByAddress compares addresses exactly), the RavenDB MessageRedirectsCollection (one document holding
every redirect), MessageRedirects/Api/MessageRedirectsController (docs/reference/servicecontrol.md §2.8) and
RetryProcessor, which stages a retry to the redirect's "to" address.
"""

from __future__ import annotations

import threading

from lab.instance import common as c
from lab.instance.store import DocumentStore

REDIRECTS = "MessageRedirects"
DOCUMENT_ID = "MessageRedirects"


def redirect_id(from_address: str) -> str:
    return c.deterministic_guid(from_address)


def redirect_view(stored: dict) -> dict:
    """MessageRedirect / RedirectsQueryResult as the API writes them."""
    return {
        "message_redirect_id": redirect_id(stored["from_physical_address"]),
        "from_physical_address": stored["from_physical_address"],
        "to_physical_address": stored["to_physical_address"],
        "last_modified": stored["last_modified"],
    }


class MessageRedirects:
    """The stored redirects (one document, as in ServiceControl)."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self._lock = threading.Lock()

    def all(self) -> list[dict]:
        doc = self.store.get(REDIRECTS, DOCUMENT_ID) or {"redirects": []}
        return doc["redirects"]

    def _save(self, redirects: list[dict]) -> None:
        self.store.put(REDIRECTS, DOCUMENT_ID, {"id": DOCUMENT_ID, "redirects": redirects})

    def find_by_id(self, message_redirect_id: str) -> dict | None:
        wanted = message_redirect_id.lower()
        return next((r for r in self.all() if redirect_id(r["from_physical_address"]) == wanted), None)

    def target_for(self, address: str) -> str:
        """Where a retry of a message that failed in ``address`` goes (RetryProcessor)."""
        redirect = next((r for r in self.all() if r["from_physical_address"] == address), None)
        return redirect["to_physical_address"] if redirect else address

    def add(self, from_address: str, to_address: str) -> dict:
        with self._lock:
            redirects = self.all()
            stored = {
                "from_physical_address": from_address,
                "to_physical_address": to_address,
                "last_modified": c.json_date(c.utcnow()),
            }
            redirects.append(stored)
            self._save(redirects)
            return stored

    def change(self, message_redirect_id: str, to_address: str) -> dict | None:
        with self._lock:
            redirects = self.all()
            for stored in redirects:
                if redirect_id(stored["from_physical_address"]) == message_redirect_id.lower():
                    stored["to_physical_address"] = to_address
                    stored["last_modified"] = c.json_date(c.utcnow())
                    self._save(redirects)
                    return stored
            return None

    def remove(self, message_redirect_id: str) -> None:
        with self._lock:
            redirects = [
                r for r in self.all() if redirect_id(r["from_physical_address"]) != message_redirect_id.lower()
            ]
            self._save(redirects)
