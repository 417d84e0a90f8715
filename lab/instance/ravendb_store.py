"""The lab instances' store when ``RavenDB/ConnectionString`` is set: the documents live in the RavenDB stand-in.

Same interface as lab/instance/store.py's ``DocumentStore`` (get, put, delete, all, count, update,
transaction, put_body, get_body, close, path); the server is lab/ravendb.py. What ServiceControl does with
an external RavenDB (``RavenExternalPersistenceLifecycle.Initialize``, SC 6.19.2), the lab does on every
start and on ``--setup``:

1. ask ``/build/version`` and refuse a server older than the client ServiceControl ships (6.2 for 6.x,
   5.4 for 5.x) with ServiceControl's message (``StartupChecks.EnsureServerVersion``);
2. create the database when it does not exist (``DatabaseSetup.CreateDatabase``).

An unreachable server raises ``RavenUnavailableError`` (an ``OSError``), so the instance refuses to start.
A lab document ``(collection, id)`` is the RavenDB document ``<collection>/<id>`` in collection
``<collection>``; a message body is the attachment ``body`` of ``MessageBodies/<id>``. Writes inside
``transaction()`` are sent as one ``bulk_docs`` batch when the block ends (and read back from the batch
until then), so a batch is stored all-or-nothing, as with the local store.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from lab.instance.store import ReadModifyWrite

BODIES = "MessageBodies"
BODY_ATTACHMENT = "body"
#: Seconds a request to the RavenDB stand-in may take (connect, send, answer).
REQUEST_TIMEOUT = 10.0


class RavenUnavailableError(OSError):
    """The RavenDB server cannot be reached (connection refused, timeout, name not found)."""


class RavenRequestError(RuntimeError):
    """The RavenDB server answered with an error."""


def client_version(servicecontrol_version: tuple[int, int, int]) -> str:
    """The RavenDB client version a ServiceControl version ships (RavenDB 6.2 for 6.x, 5.4 for 5.x)."""
    return "6.2" if servicecontrol_version >= (6, 0, 0) else "5.4"


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for part in str(text).split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


class RavenDocumentStore(ReadModifyWrite):
    """A document store kept in one database of the RavenDB stand-in (``update`` is atomic within the instance)."""

    def __init__(self, url: str, database: str, path: str | Path, timeout: float = REQUEST_TIMEOUT) -> None:
        parsed = urllib.parse.urlsplit(url.strip())
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(
                "RavenDB/ConnectionString must be an http:// URL such as http://localhost:8080, not %r"
                " (the lab does not emulate TLS or client certificates)." % url
            )
        self.url = "http://%s:%s" % (parsed.hostname, parsed.port or 80)
        self._host, self._port = parsed.hostname, parsed.port or 80
        self.database = database
        #: ``DbPath`` as ServiceControl reports it (unused with an external RavenDB); the API shows its parent.
        self.path = Path(path) / "lab-servicecontrol.sqlite"
        self.timeout = timeout
        self._lock = threading.RLock()
        self._connection: http.client.HTTPConnection | None = None
        self._batch: list[dict] | None = None
        self._overlay: dict[str, tuple[str, dict | None]] = {}
        self._body_overlay: dict[str, bytes] = {}

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, url: str, database: str, path: str | Path, servicecontrol_version: tuple[int, int, int]):
        """Connect as ServiceControl does at start-up: check the server version, create the database."""
        store = cls(url, database, path)
        try:
            store.ensure_server(client_version(servicecontrol_version))
            store.ensure_database()
        except Exception:
            store.close()
            raise
        return store

    def ensure_server(self, expected: str) -> dict:
        status, body = self._request("GET", "/build/version")
        if status != 200:
            raise RavenRequestError("RavenDB at %s answered %s to /build/version." % (self.url, status))
        build = json.loads(body)
        server = build.get("ProductVersion", "0.0")
        if _version_tuple(expected) > _version_tuple(server):
            raise RavenRequestError(
                "ServiceControl expects RavenDB Server version %s or higher, but the server is using %s."
                % (expected, server)
            )
        return build

    def ensure_database(self) -> bool:
        """Create the database when missing; True when it was created."""
        status, _ = self._request("GET", "/admin/databases", {"name": self.database})
        if status == 200:
            return False
        status, body = self._request("PUT", "/admin/databases", body=_json({"DatabaseName": self.database}))
        if status == 409:  # created concurrently (ConcurrencyException), as DatabaseSetup tolerates
            return False
        self._check(status, body, "create database %s" % self.database)
        return True

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    # ------------------------------------------------------------------ documents

    def get(self, collection: str, doc_id: str) -> dict | None:
        raven_id = _raven_id(collection, doc_id)
        with self._lock:
            if raven_id in self._overlay:
                doc = self._overlay[raven_id][1]
                return None if doc is None else json.loads(json.dumps(doc))
            status, body = self._request("GET", self._db("docs"), {"id": raven_id})
            if status == 404:
                return None
            self._check(status, body, "get %s" % raven_id)
            return _strip(json.loads(body)["Results"][0])

    def put(self, collection: str, doc_id: str, doc: dict) -> None:
        raven_id = _raven_id(collection, doc_id)
        document = {**json.loads(json.dumps(doc)), "@metadata": {"@collection": collection}}
        with self._lock:
            if self._batch is not None:
                self._batch.append({"Type": "PUT", "Id": raven_id, "Document": document})
                self._overlay[raven_id] = (collection, json.loads(json.dumps(doc)))
                return
            status, body = self._request("PUT", self._db("docs"), {"id": raven_id}, _json(document))
            self._check(status, body, "put %s" % raven_id)

    def delete(self, collection: str, doc_id: str) -> bool:
        raven_id = _raven_id(collection, doc_id)
        with self._lock:
            existed = self.get(collection, doc_id) is not None
            if self._batch is not None:
                self._batch.append({"Type": "DELETE", "Id": raven_id})
                self._overlay[raven_id] = (collection, None)
                return existed
            status, body = self._request("DELETE", self._db("docs"), {"id": raven_id})
            self._check(status, body, "delete %s" % raven_id)
            return existed

    def all(self, collection: str) -> list[dict]:
        with self._lock:
            status, body = self._request("GET", self._db("collections/docs"), {"name": collection})
            self._check(status, body, "list %s" % collection)
            docs = {doc["@metadata"]["@id"]: _strip(doc) for doc in json.loads(body)["Results"]}
            for raven_id, (owner, doc) in self._overlay.items():
                if owner != collection:
                    continue
                if doc is None:
                    docs.pop(raven_id, None)
                else:
                    docs[raven_id] = json.loads(json.dumps(doc))
            return [docs[key] for key in sorted(docs)]

    def count(self, collection: str) -> int:
        with self._lock:
            if any(owner == collection for owner, _ in self._overlay.values()):
                return len(self.all(collection))
            status, body = self._request("GET", self._db("collections/stats"))
            self._check(status, body, "count %s" % collection)
            return int(json.loads(body).get("Collections", {}).get(collection, 0))

    def transaction(self) -> Iterator[None]:
        return _Transaction(self)

    # ------------------------------------------------------------------ bodies

    def put_body(self, body_id: str, body: bytes) -> None:
        raven_id = _raven_id(BODIES, body_id)
        with self._lock:
            if self._batch is not None:
                data = base64.b64encode(bytes(body)).decode("ascii")
                self._batch.append({"Type": "AttachmentPUT", "Id": raven_id, "Name": BODY_ATTACHMENT, "Data": data})
                self._body_overlay[raven_id] = bytes(body)
                return
            query = {"id": raven_id, "name": BODY_ATTACHMENT}
            octets = "application/octet-stream"
            status, answer = self._request("PUT", self._db("attachments"), query, bytes(body), octets)
            self._check(status, answer, "store body %s" % body_id)

    def get_body(self, body_id: str) -> bytes | None:
        raven_id = _raven_id(BODIES, body_id)
        with self._lock:
            if raven_id in self._body_overlay:
                return self._body_overlay[raven_id]
            status, body = self._request("GET", self._db("attachments"), {"id": raven_id, "name": BODY_ATTACHMENT})
            if status == 404:
                return None
            self._check(status, body, "read body %s" % body_id)
            return body

    # ------------------------------------------------------------------ HTTP

    def _db(self, route: str) -> str:
        return "/databases/%s/%s" % (urllib.parse.quote(self.database, safe=""), route)

    def _check(self, status: int, body: bytes, what: str) -> None:
        if 200 <= status <= 299:
            return
        try:
            message = json.loads(body).get("Message") or body.decode("utf-8", "replace")
        except ValueError:
            message = body.decode("utf-8", "replace")
        raise RavenRequestError("RavenDB at %s could not %s: %s %s" % (self.url, what, status, message))

    def _request(
        self,
        method: str,
        path: str,
        query: dict | None = None,
        body: bytes | None = None,
        content_type: str = "application/json; charset=utf-8",
    ) -> tuple[int, bytes]:
        target = path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"Content-Type": content_type} if body is not None else {}
        with self._lock:
            # One retry, for a kept-alive connection the server has closed meanwhile.
            for attempt in (1, 2):
                reused = self._connection is not None
                if self._connection is None:
                    self._connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
                try:
                    self._connection.request(method, target, body=body, headers=headers)
                    response = self._connection.getresponse()
                    return response.status, response.read()
                except (OSError, http.client.HTTPException) as exc:
                    self.close()
                    if attempt == 1 and reused:
                        continue
                    raise RavenUnavailableError(
                        "The RavenDB server at %s is unreachable (%s %s): %s" % (self.url, method, path, exc)
                    ) from exc
        raise AssertionError("unreachable")  # pragma: no cover


class _Transaction:
    """``with store.transaction():`` collects the writes and sends them as one ``bulk_docs`` batch."""

    def __init__(self, store: RavenDocumentStore) -> None:
        self.store = store

    def __enter__(self) -> None:
        self.store._lock.acquire()
        self.store._batch = []

    def __exit__(self, exc_type, exc, tb) -> None:
        store = self.store
        try:
            commands = store._batch or []
            store._batch = None
            store._overlay.clear()
            store._body_overlay.clear()
            if exc_type is None and commands:
                status, body = store._request("POST", store._db("bulk_docs"), body=_json({"Commands": commands}))
                store._check(status, body, "store a batch of %d commands" % len(commands))
        finally:
            store._lock.release()


def _raven_id(collection: str, doc_id: str) -> str:
    return "%s/%s" % (collection, doc_id)


def _strip(document: dict) -> dict:
    document.pop("@metadata", None)
    return document


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")
