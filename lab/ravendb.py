"""The lab's stand-in for the RavenDB server behind a containerised ServiceControl instance.

    python -m lab ravendb [--url http://0.0.0.0:8080] [--data-dir /var/lib/ravendb/data]

ServiceControl 6 in a container keeps no state of its own: its documents live in a separate RavenDB
container (``particular/servicecontrol-ravendb``, port 8080, volume ``/var/lib/ravendb/data``), reached
through ``RAVENDB_CONNECTIONSTRING`` (docs/reference/servicecontrol.md §3.2). This server plays that
container for the lab instances (lab/instance/ravendb_store.py is their client). It is a small document
store over HTTP whose paths follow RavenDB's REST API where the lab needs one:

- ``GET /setup/alive`` (204, what the RavenDB image's health check asks), ``GET /build/version``
  (``ProductVersion`` 6.2, the server ServiceControl 6 expects);
- ``GET /admin/databases?name=X`` (404 when missing), ``PUT /admin/databases`` ``{"DatabaseName": X}``
  (409 when it exists), as ``GetDatabaseRecordOperation``/``CreateDatabaseOperation`` use them;
- per database: ``GET|PUT|DELETE /databases/X/docs?id=ID`` (documents carry ``@metadata.@collection``),
  ``GET /databases/X/collections/docs?name=C``, ``GET /databases/X/collections/stats``,
  ``GET|PUT /databases/X/attachments?id=ID&name=N`` (raw bytes) and ``POST /databases/X/bulk_docs``
  (``PUT``/``DELETE``/``AttachmentPUT`` commands applied all-or-nothing; the lab sends attachment data as
  base64 in the command, where RavenDB uses a multipart body).

Settings come from RavenDB's own environment names: ``RAVEN_ServerUrl`` (default ``http://0.0.0.0:8080``)
and ``RAVEN_DataDir`` (default ``/var/lib/ravendb/data``). Each database is one SQLite file under
``<DataDir>/Databases/<name>/``, so the data survives the container when the data directory is a volume.
Not emulated: indexes and queries, the Studio, clustering, certificates, licensing, change vectors.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import re
import signal
import sqlite3
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

log = logging.getLogger("lab.ravendb")

#: The RavenDB version ServiceControl 6.x runs against (docs/reference/servicecontrol.md §3.2).
PRODUCT_VERSION = "6.2"
BUILD = {"BuildVersion": 62000, "ProductVersion": PRODUCT_VERSION, "CommitHash": "lab", "FullVersion": "6.2.0-lab"}
DEFAULT_URL = "http://0.0.0.0:8080"
DEFAULT_DATA_DIR = "/var/lib/ravendb/data"
DB_FILE = "lab-ravendb.sqlite"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_DB_ROUTE = re.compile(r"^/databases/([^/]+)/(docs|collections/docs|collections/stats|attachments|bulk_docs|stats)$")


class RavenError(Exception):
    def __init__(self, status: int, exception_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.exception_type = exception_type


class Database:
    """One database: documents (id -> collection, JSON) and attachments ((id, name) -> bytes)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.db = sqlite3.connect(str(directory / DB_FILE), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS documents (id TEXT PRIMARY KEY, collection TEXT NOT NULL, doc TEXT NOT NULL)"
        )
        self.db.execute("CREATE INDEX IF NOT EXISTS documents_collection ON documents (collection, id)")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS attachments (id TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL,"
            " PRIMARY KEY (id, name))"
        )

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def get(self, doc_id: str) -> dict | None:
        with self.lock:
            row = self.db.execute("SELECT collection, doc FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return _with_metadata(doc_id, row[0], row[1]) if row else None

    def collection(self, name: str) -> list[dict]:
        with self.lock:
            rows = self.db.execute(
                "SELECT id, collection, doc FROM documents WHERE collection = ? ORDER BY id", (name,)
            ).fetchall()
        return [_with_metadata(*row) for row in rows]

    def stats(self) -> dict:
        with self.lock:
            rows = self.db.execute("SELECT collection, COUNT(*) FROM documents GROUP BY collection").fetchall()
            attachments = self.db.execute("SELECT COUNT(*) FROM attachments").fetchone()[0]
        collections = dict(rows)
        return {
            "CountOfDocuments": sum(collections.values()),
            "CountOfAttachments": attachments,
            "Collections": collections,
        }

    def get_attachment(self, doc_id: str, name: str) -> bytes | None:
        with self.lock:
            row = self.db.execute("SELECT data FROM attachments WHERE id = ? AND name = ?", (doc_id, name)).fetchone()
        return bytes(row[0]) if row else None

    def apply(self, commands: list[dict]) -> list[dict]:
        """Apply a batch in one SQLite transaction; a bad command rolls the whole batch back."""
        results = []
        with self.lock:
            self.db.execute("BEGIN")
            try:
                for command in commands:
                    results.append(self._apply_one(command))
            except Exception:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        return results

    def _apply_one(self, command: dict) -> dict:
        kind = command.get("Type")
        doc_id = command.get("Id")
        if not isinstance(doc_id, str) or not doc_id:
            raise RavenError(400, "System.ArgumentException", "A command needs an Id.")
        if kind == "PUT":
            document = command.get("Document")
            if not isinstance(document, dict):
                raise RavenError(400, "System.ArgumentException", "PUT %s needs a Document object." % doc_id)
            document = dict(document)
            metadata = document.pop("@metadata", None) or {}
            collection = metadata.get("@collection") or "@empty"
            self.db.execute(
                "INSERT OR REPLACE INTO documents (id, collection, doc) VALUES (?, ?, ?)",
                (doc_id, collection, json.dumps(document, ensure_ascii=False)),
            )
            return {"Type": "PUT", "@id": doc_id, "@collection": collection}
        if kind == "DELETE":
            deleted = self.db.execute("DELETE FROM documents WHERE id = ?", (doc_id,)).rowcount > 0
            self.db.execute("DELETE FROM attachments WHERE id = ?", (doc_id,))
            return {"Type": "DELETE", "@id": doc_id, "Deleted": deleted}
        if kind == "AttachmentPUT":
            name = command.get("Name")
            if not isinstance(name, str) or not name:
                raise RavenError(400, "System.ArgumentException", "AttachmentPUT %s needs a Name." % doc_id)
            data = base64.b64decode(command.get("Data") or "")
            self.db.execute(
                "INSERT OR REPLACE INTO attachments (id, name, data) VALUES (?, ?, ?)", (doc_id, name, data)
            )
            return {"Type": "AttachmentPUT", "@id": doc_id, "Name": name, "Size": len(data)}
        raise RavenError(400, "System.NotSupportedException", "Command type %r is not supported by the lab." % kind)


def _with_metadata(doc_id: str, collection: str, text: str) -> dict:
    document = json.loads(text)
    document["@metadata"] = {"@id": doc_id, "@collection": collection}
    return document


class RavenServer:
    """The server: databases under ``<data_dir>/Databases``, served over HTTP until ``stop()``."""

    def __init__(self, url: str = DEFAULT_URL, data_dir: str | os.PathLike = DEFAULT_DATA_DIR) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError("RAVEN_ServerUrl must be an http:// URL with a host, not %r (TLS is not emulated)." % url)
        self.data_dir = Path(data_dir)
        self.databases_dir = self.data_dir / "Databases"
        self.databases_dir.mkdir(parents=True, exist_ok=True)
        self._databases: dict[str, Database] = {}
        self._lock = threading.Lock()
        for child in sorted(self.databases_dir.iterdir()):
            if (child / DB_FILE).is_file():
                self._databases[child.name] = Database(child)
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt: str, *args) -> None:
                log.debug("%s " + fmt, self.address_string(), *args)

            def _serve(self) -> None:
                server._handle(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

        host = "" if parsed.hostname in ("0.0.0.0", "*", "+") else parsed.hostname  # noqa: S104 - RavenDB's default
        self.httpd = ThreadingHTTPServer((host, parsed.port or 8080), _Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="ravendb-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        with self._lock:
            for database in self._databases.values():
                database.close()
            self._databases.clear()

    # ------------------------------------------------------------------ databases

    def database(self, name: str) -> Database:
        with self._lock:
            database = self._databases.get(name)
        if database is None:
            raise RavenError(
                503,
                "Raven.Client.Exceptions.Database.DatabaseDoesNotExistException",
                "Database '%s' does not exist." % name,
            )
        return database

    def create_database(self, name: str) -> None:
        if not _NAME.match(name or ""):
            raise RavenError(400, "System.ArgumentException", "Invalid database name %r." % name)
        with self._lock:
            if name in self._databases:
                raise RavenError(
                    409,
                    "Raven.Client.Exceptions.ConcurrencyException",
                    "Database '%s' already exists!" % name,
                )
            self._databases[name] = Database(self.databases_dir / name)
        log.info("Created database %s", name)

    # ------------------------------------------------------------------ HTTP

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(handler.path)
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        try:
            status, payload, content_type = self._route(handler.command, parsed.path, query, body)
        except RavenError as exc:
            status, content_type = exc.status, "application/json; charset=utf-8"
            payload = _json({"Type": exc.exception_type, "Message": str(exc), "Error": str(exc)})
        except (ValueError, KeyError) as exc:
            status, content_type = 400, "application/json; charset=utf-8"
            payload = _json({"Type": "System.ArgumentException", "Message": str(exc), "Error": str(exc)})
        except Exception as exc:
            log.exception("Unhandled error for %s %s", handler.command, parsed.path)
            status, content_type = 500, "application/json; charset=utf-8"
            payload = _json({"Type": type(exc).__name__, "Message": str(exc), "Error": str(exc)})
        handler.send_response(status)
        handler.send_header("Server", "RavenDB (lab stand-in)")
        if payload:
            handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)

    def _route(self, method: str, path: str, query: dict, body: bytes) -> tuple[int, bytes, str]:
        json_type = "application/json; charset=utf-8"
        if path == "/setup/alive" and method in ("GET", "HEAD"):
            return 204, b"", json_type
        if path == "/build/version" and method == "GET":
            return 200, _json(BUILD), json_type
        if path == "/admin/databases":
            if method == "GET":
                name = query.get("name", "")
                self.database(name)
                return 200, _json({"DatabaseName": name, "Disabled": False}), json_type
            if method == "PUT":
                name = (json.loads(body or b"{}") or {}).get("DatabaseName", "")
                self.create_database(name)
                return 201, _json({"Name": name, "NodesAddedTo": ["A"]}), json_type
        match = _DB_ROUTE.match(path)
        if match is None:
            raise RavenError(404, "Raven.Server.Routing.RouteNotFoundException", "There is no handler for %s" % path)
        database = self.database(urllib.parse.unquote(match.group(1)))
        return self._database_route(database, match.group(2), method, query, body)

    def _database_route(self, database: Database, route: str, method: str, query: dict, body: bytes):  # noqa: PLR0911 - a router
        json_type = "application/json; charset=utf-8"
        doc_id = query.get("id", "")
        if route == "docs" and method == "GET":
            document = database.get(doc_id)
            if document is None:
                return 404, b"", json_type
            return 200, _json({"Results": [document], "Includes": {}}), json_type
        if route == "docs" and method == "PUT":
            database.apply([{"Type": "PUT", "Id": doc_id, "Document": json.loads(body or b"null")}])
            return 201, _json({"Id": doc_id}), json_type
        if route == "docs" and method == "DELETE":
            database.apply([{"Type": "DELETE", "Id": doc_id}])
            return 204, b"", json_type
        if route == "collections/docs" and method == "GET":
            return 200, _json({"Results": database.collection(query.get("name", ""))}), json_type
        if route in ("collections/stats", "stats") and method == "GET":
            return 200, _json(database.stats()), json_type
        if route == "attachments" and method in ("GET", "HEAD"):
            data = database.get_attachment(doc_id, query.get("name", ""))
            if data is None:
                return 404, b"", json_type
            return 200, data, "application/octet-stream"
        if route == "attachments" and method == "PUT":
            command = {"Type": "AttachmentPUT", "Id": doc_id, "Name": query.get("name", "")}
            command["Data"] = base64.b64encode(body).decode("ascii")
            database.apply([command])
            return 201, _json({"DocumentId": doc_id, "Name": command["Name"], "Size": len(body)}), json_type
        if route == "bulk_docs" and method == "POST":
            commands = (json.loads(body or b"{}") or {}).get("Commands")
            if not isinstance(commands, list):
                raise RavenError(400, "System.ArgumentException", "bulk_docs needs a Commands list.")
            return 201, _json({"Results": database.apply(commands)}), json_type
        raise RavenError(405, "System.NotSupportedException", "%s is not supported on %s" % (method, route))


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab ravendb", description="the lab's RavenDB stand-in")
    parser.add_argument("--url", default=os.environ.get("RAVEN_ServerUrl") or DEFAULT_URL, help="RAVEN_ServerUrl")
    parser.add_argument("--data-dir", default=os.environ.get("RAVEN_DataDir") or DEFAULT_DATA_DIR, help="RAVEN_DataDir")
    parser.add_argument("--log-level", default="INFO", help="Python logging level (default INFO)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        server = RavenServer(args.url, args.data_dir)
    except (OSError, ValueError) as exc:
        print("RavenDB stand-in cannot start: %s" % exc, file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    host = urllib.parse.urlsplit(args.url).hostname
    print("RavenDB stand-in listening on http://%s:%s (data in %s)" % (host, server.port, server.data_dir), flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
