"""PostgreSQL transport (NServiceBus.Transport.PostgreSql), with its native table and row format.

docs/reference/transports.md §3: a queue is the table ``"<Queue Schema>"."<queue>"`` (both parts double-quoted,
as ServiceControl does, so ``error.log`` is one table name) with the columns id uuid PK,
expires timestamp, headers text (JSON, '/' written as '\\/'), body bytea, seq serial unique.
A send inserts a row with a new random id; a receive deletes the lowest ``seq`` row with
``FOR UPDATE SKIP LOCKED`` in a transaction kept open until the message is completed (commit)
or abandoned (rollback), so competing receivers never get the same row.
"""

from __future__ import annotations

import json
import uuid

import psycopg
import psycopg.errors
from psycopg import sql

from lab.transports import QueueNotFoundError, parse_key_value_connection_string, parse_timespan
from lab.transports.base import LabMessage, LabTransport

TRANSPORT_TYPE = "PostgreSQL"
DEFAULT_SCHEMA = "public"
#: The transport refuses longer table names (63 bytes minus room for the serial's sequence suffix).
MAX_TABLE_NAME_BYTES = 55
#: Receive transactions each need a connection; this many are kept open between receives.
MAX_IDLE_CONNECTIONS = 4

# Npgsql keywords (lower-case, synonyms included) -> libpq parameter names.
_NPGSQL_KEYWORDS = {
    "host": "host",
    "server": "host",
    "port": "port",
    "database": "dbname",
    "db": "dbname",
    "username": "user",
    "user name": "user",
    "user id": "user",
    "userid": "user",
    "user": "user",
    "password": "password",
    "psw": "password",
    "pwd": "password",
    "timeout": "connect_timeout",
    "application name": "application_name",
    "applicationname": "application_name",
}
_SSL_MODES = {
    "disable": "disable",
    "allow": "allow",
    "prefer": "prefer",
    "require": "require",
    "verifyca": "verify-ca",
    "verifyfull": "verify-full",
}

CREATE_TABLE = """CREATE TABLE IF NOT EXISTS {table} (
    Id uuid NOT NULL PRIMARY KEY,
    Expires TIMESTAMP,
    Headers TEXT NOT NULL,
    Body BYTEA,
    Seq serial NOT NULL UNIQUE
)"""
SEND = """INSERT INTO {table} (Id, Expires, Headers, Body)
VALUES (%s, (now() AT TIME ZONE 'UTC') + (%s || ' ms')::INTERVAL, %s, %s)"""
RECEIVE = """DELETE FROM {table} rs
WHERE rs.id = (SELECT id FROM {table} ORDER BY Seq LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING rs.id,
    CASE WHEN Expires IS NULL THEN 0 WHEN Expires > now() AT TIME ZONE 'UTC' THEN 0 ELSE 1 END,
    rs.Headers, rs.Body"""
#: Header NServiceBus uses for time-to-be-received (a .NET TimeSpan); the transport stores it in Expires.
TTBR_HEADER = "NServiceBus.TimeToBeReceived"


def connection_settings(connection_string: str) -> tuple[dict[str, str], str]:
    """libpq keyword arguments and the queue schema for a ServiceControl PostgreSQL connection string.

    Npgsql keywords are translated; ``Queue Schema`` (ServiceControl's option) picks the schema;
    ``Subscriptions Table`` and other Npgsql tuning keywords are not needed by the lab and are ignored.
    """
    pairs = parse_key_value_connection_string(connection_string)
    params: dict[str, str] = {}
    for key, value in pairs.items():
        if key in _NPGSQL_KEYWORDS:
            params[_NPGSQL_KEYWORDS[key]] = value
        elif key in ("ssl mode", "sslmode"):
            mode = _SSL_MODES.get(value.replace("-", "").replace(" ", "").lower())
            if mode is None:
                raise ValueError("Unknown 'SSL Mode' %r in the PostgreSQL connection string." % value)
            params["sslmode"] = mode
    if "host" not in params:
        raise ValueError("Invalid PostgreSQL connection string: 'Host' (or 'Server') must be supplied.")
    schema = pairs.get("queue schema") or DEFAULT_SCHEMA
    return params, schema


def serialize_headers(headers: dict[str, str]) -> str:
    """Compact JSON object with every '/' written as '\\/' (DataContractJsonSerializer compatible)."""
    return json.dumps(headers, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")


def _ttbr_milliseconds(headers: dict[str, str]) -> int | None:
    value = headers.get(TTBR_HEADER)
    if not value:
        return None
    try:
        return round(parse_timespan(value).total_seconds() * 1000)
    except ValueError:
        return None


def _quote(name: str) -> str:
    return '"%s"' % name.replace('"', '""')


def _unquote(name: str) -> str:
    if len(name) >= 2 and name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('""', '"')
    return name


class _Receipt:
    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection


class PostgreSQLTransport(LabTransport):
    transport_type = TRANSPORT_TYPE

    def __init__(self, connection_string: str) -> None:
        self._params, self.schema = connection_settings(connection_string)
        self._connection = self._connect(autocommit=True)
        # Each in-flight received message holds its own transaction, hence its own connection.
        self._idle: list[psycopg.Connection] = []
        self._in_flight: dict[int, psycopg.Connection] = {}

    def _connect(self, autocommit: bool) -> psycopg.Connection:
        try:
            return psycopg.connect(autocommit=autocommit, **self._params)
        except psycopg.OperationalError as error:
            raise ConnectionError(
                "Cannot connect to PostgreSQL at %s:%s: %s"
                % (self._params.get("host"), self._params.get("port", "5432"), str(error).splitlines()[0])
            ) from None

    def _missing(self, queue: str) -> str:
        return "PostgreSQL queue table %s does not exist." % self.transport_address(queue)

    def split_address(self, queue: str) -> tuple[str, str]:
        """(schema, table) of a queue.

        A plain name is one table in the Queue Schema: ServiceControl quotes every queue it
        provisions, so ``error.log`` is a table name. A native transport address such as
        ``"public"."Sales"`` (what endpoints put in NServiceBus.FailedQ and ServiceControl in
        ServiceControl.Retry.AcknowledgementQueue) is parsed like the transport does: a '.'
        outside double quotes separates schema from table.
        """
        if not queue or not queue.strip():
            raise ValueError("A PostgreSQL queue name must not be empty.")
        if '"' not in queue:
            return self.schema, queue
        quotes = 0
        for index, char in enumerate(queue):
            if char == '"':
                quotes += 1
            elif char == "." and quotes % 2 == 0:
                schema = _unquote(queue[:index])
                return schema or self.schema, _unquote(queue[index + 1 :])
        return self.schema, _unquote(queue)

    def transport_address(self, queue: str) -> str:
        """The native address of a queue, as the transport writes it in headers: "schema"."table"."""
        schema, table = self.split_address(queue)
        return "%s.%s" % (_quote(schema), _quote(table))

    def table(self, queue: str) -> sql.Composed:
        """The quoted, schema-qualified table of a queue for SQL statements."""
        return sql.Identifier(*self.split_address(queue))

    def create_queue(self, name: str) -> None:
        _, table = self.split_address(name)
        if len(table.encode("utf-8")) > MAX_TABLE_NAME_BYTES:
            raise ValueError(
                "PostgreSQL queue name %r is %d bytes long; the transport allows at most %d UTF-8 bytes."
                % (table, len(table.encode("utf-8")), MAX_TABLE_NAME_BYTES)
            )
        try:
            with self._connection.transaction():
                self._connection.execute(sql.SQL(CREATE_TABLE).format(table=self.table(name)))
        except (psycopg.errors.DuplicateTable, psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
            pass  # a concurrent creator won the race; the transport ignores these too

    def queue_exists(self, name: str) -> bool:
        row = self._connection.execute(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = %s AND tablename = %s", self.split_address(name)
        ).fetchone()
        return row is not None

    def send(self, queue: str, message: LabMessage) -> None:
        # The headers are stored exactly as sent: a header-less message (ServiceControl's forwarding probe)
        # stays header-less, as with the real transport.
        native_id = uuid.uuid4()
        ttbr = _ttbr_milliseconds(message.headers)
        try:
            self._connection.execute(
                sql.SQL(SEND).format(table=self.table(queue)),
                (native_id, None if ttbr is None else str(ttbr), serialize_headers(message.headers), message.body),
            )
        except psycopg.errors.UndefinedTable:
            raise QueueNotFoundError(self._missing(queue)) from None
        message.native_id = str(native_id)

    def _take_connection(self) -> psycopg.Connection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
        return self._connect(autocommit=False)

    def _release(self, connection: psycopg.Connection) -> None:
        self._in_flight.pop(id(connection), None)
        if connection.closed:
            return
        if len(self._idle) < MAX_IDLE_CONNECTIONS:
            self._idle.append(connection)
        else:
            connection.close()  # a burst of in-flight messages must not pin server connections

    def receive(self, queue: str) -> LabMessage | None:
        statement = sql.SQL(RECEIVE).format(table=self.table(queue))
        while True:
            connection = self._take_connection()
            try:
                row = connection.execute(statement).fetchone()
            except psycopg.errors.UndefinedTable:
                connection.rollback()
                self._release(connection)
                raise QueueNotFoundError(self._missing(queue)) from None
            except BaseException:
                connection.rollback()
                self._release(connection)
                raise
            if row is None:
                connection.rollback()
                self._release(connection)
                return None
            native_id, expired, headers_json, body = row
            if expired:
                connection.commit()  # the transport discards expired messages
                self._release(connection)
                continue
            self._in_flight[id(connection)] = connection
            headers = json.loads(headers_json)
            return LabMessage(
                headers={key: str(value) for key, value in headers.items()},
                body=bytes(body) if body is not None else b"",
                native_id=str(native_id),
                receipt=_Receipt(connection),
            )

    def _settle(self, message: LabMessage) -> psycopg.Connection:
        receipt = message.receipt
        if not isinstance(receipt, _Receipt) or id(receipt.connection) not in self._in_flight:
            raise ValueError("This message was not received from PostgreSQL (or was already completed/abandoned).")
        message.receipt = None
        return receipt.connection

    def complete(self, message: LabMessage) -> None:
        connection = self._settle(message)
        try:
            connection.commit()
        finally:
            self._release(connection)

    def abandon(self, message: LabMessage) -> None:
        connection = self._settle(message)
        try:
            connection.rollback()
        finally:
            self._release(connection)

    def depth(self, queue: str) -> int:
        # A plain count also sees rows that receivers have deleted but not yet committed.
        try:
            row = self._connection.execute(
                sql.SQL("SELECT count(*) FROM {table}").format(table=self.table(queue))
            ).fetchone()
        except psycopg.errors.UndefinedTable:
            raise QueueNotFoundError(self._missing(queue)) from None
        return int(row[0])

    def close(self) -> None:
        # Closing an in-flight connection rolls its receive back: the message returns to the queue.
        for connection in [*self._idle, *self._in_flight.values()]:
            connection.close()
        self._idle.clear()
        self._in_flight.clear()
        self._connection.close()
