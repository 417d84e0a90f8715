"""The lab instances' database: one SQLite file in the instance's ``DbPath``.

ServiceControl keeps its data in RavenDB; the lab keeps the same documents (JSON, shaped like the
API returns them) in SQLite so a restarted instance finds its data again. Documents live in named
collections; message bodies are kept apart, as ServiceControl keeps them as attachments.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

DB_FILE = "lab-servicecontrol.sqlite"


def default_db_path(instance_name: str) -> Path:
    """Where an instance keeps its data when ``DbPath`` is not set (the installer always sets it)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "servicecontrol-lab" / instance_name / "DB"


def open_store(settings):
    """The instance's store: the RavenDB stand-in when ``RavenDB/ConnectionString`` is set, else local SQLite."""
    db_path = settings.db_path or str(default_db_path(settings.instance_name))
    if settings.ravendb_connection_string:
        from lab.instance.ravendb_store import RavenDocumentStore  # noqa: PLC0415 - only with an external store

        return RavenDocumentStore.open(
            settings.ravendb_connection_string, settings.ravendb_database_name, db_path, settings.version
        )
    return DocumentStore(db_path)


class ReadModifyWrite:
    """``update`` for a store built on ``get``/``put`` under one re-entrant ``_lock`` (both stores are)."""

    _lock: threading.RLock

    def update(self, collection: str, doc_id: str, change) -> dict | None:
        """Read-modify-write one document atomically; ``change(doc)`` edits it in place (or returns False to skip)."""
        with self._lock:
            doc = self.get(collection, doc_id)  # type: ignore[attr-defined]
            if doc is None:
                return None
            if change(doc) is not False:
                self.put(collection, doc_id, doc)  # type: ignore[attr-defined]
            return doc


class DocumentStore(ReadModifyWrite):
    """A small, thread-safe document store (collection, id) -> JSON document, plus bodies."""

    def __init__(self, db_path: str | os.PathLike) -> None:
        directory = Path(db_path)
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / DB_FILE
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS documents (collection TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,"
            " PRIMARY KEY (collection, id))"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS bodies (id TEXT PRIMARY KEY, body BLOB NOT NULL)")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get(self, collection: str, doc_id: str) -> dict | None:
        with self._lock:
            row = self._db.execute(
                "SELECT doc FROM documents WHERE collection = ? AND id = ?", (collection, doc_id)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, collection: str, doc_id: str, doc: dict) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO documents (collection, id, doc) VALUES (?, ?, ?)",
                (collection, doc_id, json.dumps(doc, ensure_ascii=False)),
            )

    def delete(self, collection: str, doc_id: str) -> bool:
        with self._lock:
            cursor = self._db.execute("DELETE FROM documents WHERE collection = ? AND id = ?", (collection, doc_id))
        return cursor.rowcount > 0

    def all(self, collection: str) -> list[dict]:
        with self._lock:
            rows = self._db.execute(
                "SELECT doc FROM documents WHERE collection = ? ORDER BY id", (collection,)
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def count(self, collection: str) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM documents WHERE collection = ?", (collection,)).fetchone()[0]

    def transaction(self) -> Iterator[None]:
        return _Transaction(self)

    def put_body(self, body_id: str, body: bytes) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO bodies (id, body) VALUES (?, ?)", (body_id, body))

    def get_body(self, body_id: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM bodies WHERE id = ?", (body_id,)).fetchone()
        return bytes(row[0]) if row else None


class _Transaction:
    """``with store.transaction():`` groups writes so a batch is stored all-or-nothing."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    def __enter__(self) -> None:
        self.store._lock.acquire()
        self.store._db.execute("BEGIN")

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.store._db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.store._lock.release()
