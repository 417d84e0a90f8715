# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""ServiceControl's ``PostgreSQL`` transport: one table per queue, made as NServiceBus.Transport.PostgreSql does.

ServiceControl double-quotes every queue name it provisions, so ``error.log`` is one table named
``error.log`` in the queue schema (``public`` unless the connection string says ``Queue Schema=``).
The SQL text is produced by pure functions so it can be checked without a server.
"""

from __future__ import annotations

import traceback

from ansible_collections.servicecontrol.platform.plugins.module_utils._results import absent_state, queue_state
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    TransportConfigurationError,
    TransportDependencyError,
    TransportError,
    parse_key_value_connection_string,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_table import TableTransport

try:
    import psycopg

    HAS_PSYCOPG = True
    PSYCOPG_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - depends on the host
    psycopg = None
    HAS_PSYCOPG = False
    PSYCOPG_IMPORT_ERROR = traceback.format_exc()

TRANSPORT_TYPE = "PostgreSQL"
DEFAULT_SCHEMA = "public"
DEFAULT_PORT = 5432
# NServiceBus.Transport.PostgreSql refuses longer table names: PostgreSQL's 63-byte identifier limit
# minus room for the 8-byte suffixes of the implicit sequence and the delayed table.
TABLE_NAME_BYTE_LIMIT = 55
IDENTIFIER_BYTE_LIMIT = 63
# SQLSTATEs NServiceBus ignores when two processes create the same table at once.
ALREADY_EXISTS_SQLSTATES = frozenset(("42P07", "42710", "23505"))

# The queue table as PostgreSQL's catalog reports it after NServiceBus's CREATE TABLE (column names
# are unquoted in the DDL, so they are stored lower-case). serial = integer + sequence default.
QUEUE_COLUMNS = (
    {"name": "id", "type": "uuid", "nullable": False},
    {"name": "expires", "type": "timestamp without time zone", "nullable": True},
    {"name": "headers", "type": "text", "nullable": False},
    {"name": "body", "type": "bytea", "nullable": True},
    {"name": "seq", "type": "integer", "nullable": False},
)
QUEUE_CONSTRAINTS = ({"type": "primary key", "columns": ["id"]}, {"type": "unique", "columns": ["seq"]})
# Added only when an endpoint sets CreateMessageBodyComputedColumn; a queue with it is still a queue.
OPTIONAL_COLUMNS = frozenset(("bodystring",))

# Npgsql connection string keywords (case-insensitive, spaces optional) -> our canonical key.
NPGSQL_KEYWORDS = {
    "host": "host",
    "server": "host",
    "port": "port",
    "database": "database",
    "db": "database",
    "username": "username",
    "userid": "username",
    "uid": "username",
    "password": "password",
    "psw": "password",
    "pwd": "password",
    "passfile": "passfile",
    "sslmode": "ssl_mode",
    "trustservercertificate": "trust_server_certificate",
    "sslcertificate": "ssl_certificate",
    "sslkey": "ssl_key",
    "sslpassword": "ssl_password",
    "rootcertificate": "root_certificate",
    "timeout": "timeout",
    "commandtimeout": "command_timeout",
    "applicationname": "application_name",
    "targetsessionattributes": "target_session_attributes",
    # ServiceControl's own parts (removed before the string reaches Npgsql).
    "queueschema": "queue_schema",
    "subscriptionstable": "subscriptions_table",
}

# Npgsql SslMode values -> libpq sslmode.
SSL_MODES = {
    "disable": "disable",
    "allow": "allow",
    "prefer": "prefer",
    "require": "require",
    "verifyca": "verify-ca",
    "verify-ca": "verify-ca",
    "verifyfull": "verify-full",
    "verify-full": "verify-full",
}


# -- pure helpers ----------------------------------------------------------------------------------


def quote_identifier(name):
    """Double-quote a PostgreSQL identifier, doubling embedded quotes (as NServiceBus does)."""
    return '"%s"' % name.replace('"', '""')


def qualified_table_name(schema, table):
    return "%s.%s" % (quote_identifier(schema), quote_identifier(table))


def _unquote(name):
    if len(name) >= 2 and name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('""', '"')
    return name


def split_queue_name(name, default_schema):
    """Return (schema, table) for a logical queue name, the way ServiceControl addresses it.

    ServiceControl quotes a queue name unless it already starts or ends with a double quote, so a
    plain name is one table in the default schema (``error.log`` stays one table). A name that is
    already quoted is a transport address: a dot outside quotes separates schema from table.
    """
    if not (name.startswith('"') or name.endswith('"')):
        return default_schema, name
    quotes = 0
    for index, char in enumerate(name):
        if char == '"':
            quotes += 1
        elif char == "." and quotes % 2 == 0:
            schema = _unquote(name[:index]).strip() or default_schema
            return schema, _unquote(name[index + 1 :])
    return default_schema, _unquote(name)


# Statements with the quoted "schema"."table" in place of %s (see qualified_table_name).
CREATE_TABLE_TEMPLATE = (
    "CREATE TABLE IF NOT EXISTS %s (id uuid NOT NULL PRIMARY KEY, expires timestamp NULL, "
    "headers text NOT NULL, body bytea NULL, seq serial NOT NULL UNIQUE)"
)
DROP_TABLE_TEMPLATE = "DROP TABLE IF EXISTS %s"
DEPTH_TEMPLATE = "SELECT count(*) FROM %s"
# NServiceBus.Transport.PostgreSql's send (PostgreSqlConstants.SendText, docs/reference/transports.md §3.3), with
# psycopg's named parameters for its @Id, @TimeToBeReceivedMs, @Headers and @Body. A NULL time-to-be-received gives a
# NULL expires.
INSERT_TEMPLATE = (
    "INSERT INTO %s (id, expires, headers, body) VALUES (%%(id)s, "
    "(now() AT TIME ZONE 'UTC') + (%%(ttbr)s || ' ms')::INTERVAL, %%(headers)s, %%(body)s)"
)


def create_table_sql(schema, table):
    """The CREATE TABLE NServiceBus.Transport.PostgreSql runs for a queue (sending address)."""
    return CREATE_TABLE_TEMPLATE % qualified_table_name(schema, table)


def drop_table_sql(schema, table):
    return DROP_TABLE_TEMPLATE % qualified_table_name(schema, table)


def depth_sql(schema, table):
    return DEPTH_TEMPLATE % qualified_table_name(schema, table)


def insert_sql(schema, table):
    """The INSERT NServiceBus.Transport.PostgreSql runs to send a message to a queue table (a ``%`` in a name is
    doubled: psycopg reads the text as a template)."""
    return INSERT_TEMPLATE % qualified_table_name(schema, table).replace("%", "%%")


SCHEMA_EXISTS_SQL = "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s"
RELATION_SQL = (
    "SELECT c.oid, c.relkind FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s"
)
COLUMNS_SQL = (
    "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull "
    "FROM pg_catalog.pg_attribute a WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped "
    "ORDER BY a.attnum"
)
CONSTRAINTS_SQL = (
    "SELECT con.contype, array_agg(a.attname::text ORDER BY k.ordinality) "
    "FROM pg_catalog.pg_constraint con "
    "CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ordinality) "
    "JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum "
    "WHERE con.conrelid = %s AND con.contype IN ('p', 'u') GROUP BY con.oid, con.contype ORDER BY con.contype"
)
CONSTRAINT_TYPES = {"p": "primary key", "u": "unique"}
TABLE_RELKINDS = frozenset(("r", "p"))


def _normalise_key(key):
    return key.replace(" ", "").replace("_", "").lower()


def parse_connection_string(connection_string):
    """Parse ServiceControl's Npgsql-style connection string into a dict of canonical keys.

    Unknown Npgsql keywords (pooling, keepalive, ...) do not affect queue creation and are ignored.
    """
    raw = parse_key_value_connection_string(connection_string, TRANSPORT_TYPE)
    settings = {}
    for key, value in raw.items():
        canonical = NPGSQL_KEYWORDS.get(_normalise_key(key))
        if canonical is not None:
            settings[canonical] = value
    if not settings.get("host"):
        raise TransportConfigurationError(
            "The PostgreSQL connection string has no Host (or Server); add Host=<server> as ServiceControl's "
            "connection string would have it, e.g. Host=db.example.com;Port=5432;Database=servicecontrol;"
            "Username=<user>;Password=<password>."
        )
    if not settings.get("database"):
        raise TransportConfigurationError(
            "The PostgreSQL connection string has no Database; add Database=<database> (the database that "
            "holds ServiceControl's queue tables)."
        )
    port = settings.get("port", str(DEFAULT_PORT))
    if not str(port).isdigit() or not 0 < int(port) < 65536:
        raise TransportConfigurationError(
            "The PostgreSQL connection string has Port=%s; use a TCP port number between 1 and 65535." % port
        )
    settings["port"] = int(port)
    schema = _unquote(settings.get("queue_schema", "").strip()) or DEFAULT_SCHEMA
    if len(schema.encode("utf-8")) > IDENTIFIER_BYTE_LIMIT:
        raise TransportConfigurationError(
            "The PostgreSQL connection string has a Queue Schema longer than %d UTF-8 bytes, PostgreSQL's "
            "identifier limit; use a shorter schema name." % IDENTIFIER_BYTE_LIMIT
        )
    settings["queue_schema"] = schema
    if "ssl_mode" in settings:
        mode = SSL_MODES.get(settings["ssl_mode"].strip().lower())
        if mode is None:
            raise TransportConfigurationError(
                "The PostgreSQL connection string has SSL Mode=%s; use one of Disable, Allow, Prefer, Require, "
                "VerifyCA or VerifyFull." % settings["ssl_mode"]
            )
        settings["ssl_mode"] = mode
    for key in ("timeout", "command_timeout"):
        if key in settings and not str(settings[key]).strip().isdigit():
            raise TransportConfigurationError(
                "The PostgreSQL connection string has a non-numeric %s; give it in whole seconds."
                % ("Timeout" if key == "timeout" else "Command Timeout")
            )
    return settings


def connect_kwargs(settings, timeout=None, validate_certs=True, ca_path=None, *, client_cert=None, client_key=None):
    """Map parsed connection string settings to psycopg.connect() keyword arguments.

    TLS: the connection string's SSL Mode decides whether TLS is used. When it requires TLS and
    ``validate_certs`` is true, the server certificate and host name are verified (``verify-full``);
    with ``validate_certs`` false, or ``Trust Server Certificate=true`` in ServiceControl's connection
    string, the connection is encrypted but not verified (``require``).
    """
    if str(settings.get("trust_server_certificate", "")).strip().lower() in ("true", "yes", "1"):
        validate_certs = False
    kwargs = {
        "host": settings["host"],
        "port": settings["port"],
        "dbname": settings["database"],
        "application_name": settings.get("application_name") or "servicecontrol.platform",
        "autocommit": True,
    }
    for ours, theirs in (
        ("username", "user"),
        ("password", "password"),
        ("passfile", "passfile"),
        ("ssl_certificate", "sslcert"),
        ("ssl_key", "sslkey"),
        ("ssl_password", "sslpassword"),
        ("target_session_attributes", "target_session_attrs"),
    ):
        if settings.get(ours):
            kwargs[theirs] = settings[ours]
    # The module's client_cert/client_key win over the connection string's SSL Certificate/SSL Key.
    if client_cert:
        kwargs["sslcert"] = client_cert
        kwargs.pop("sslkey", None)
        if client_key:
            kwargs["sslkey"] = client_key
    mode = settings.get("ssl_mode")
    if mode is not None:
        if validate_certs and mode == "require":
            mode = "verify-full"
        elif not validate_certs and mode in ("verify-ca", "verify-full"):
            mode = "require"
        kwargs["sslmode"] = mode
    root_certificate = ca_path or settings.get("root_certificate")
    if root_certificate:
        kwargs["sslrootcert"] = root_certificate
    connect_timeout = timeout if timeout is not None else settings.get("timeout")
    if connect_timeout is not None:
        # libpq treats values below 2 seconds as 2.
        kwargs["connect_timeout"] = max(int(connect_timeout), 2)
    statement_timeout = timeout if timeout is not None else settings.get("command_timeout")
    if statement_timeout is not None and int(statement_timeout) > 0:
        kwargs["options"] = "-c statement_timeout=%d" % (int(statement_timeout) * 1000)
    return kwargs


def expected_properties(schema, table):
    return {
        "schema": schema,
        "table": table,
        "columns": [dict(column) for column in QUEUE_COLUMNS],
        "constraints": [dict(constraint, columns=list(constraint["columns"])) for constraint in QUEUE_CONSTRAINTS],
    }


def shape_problems(properties):
    """Return a list of differences between an existing table and NServiceBus's queue table."""
    problems = []
    actual = {column["name"]: column for column in properties.get("columns", [])}
    for column in QUEUE_COLUMNS:
        found = actual.get(column["name"])
        if found is None:
            problems.append("column %s is missing" % column["name"])
        elif found["type"] != column["type"] or found["nullable"] != column["nullable"]:
            problems.append(
                "column %s is %s %s (expected %s %s)"
                % (
                    column["name"],
                    found["type"],
                    "NULL" if found["nullable"] else "NOT NULL",
                    column["type"],
                    "NULL" if column["nullable"] else "NOT NULL",
                )
            )
    expected_names = {column["name"] for column in QUEUE_COLUMNS} | OPTIONAL_COLUMNS
    for name in actual:
        if name not in expected_names:
            problems.append("unexpected column %s" % name)
    constraints = properties.get("constraints", [])
    for constraint in QUEUE_CONSTRAINTS:
        if constraint not in constraints:
            problems.append("no %s on (%s)" % (constraint["type"], ", ".join(constraint["columns"])))
    return problems


# -- the transport ---------------------------------------------------------------------------------


class PostgreSqlTransport(TableTransport):
    """Queue tables in one PostgreSQL database and schema, exactly as ServiceControl's setup creates them."""

    def __init__(self, transport_type, connection_string, variant=None, options=None):
        super().__init__(transport_type, connection_string, variant=variant, options=options)
        self.settings = parse_connection_string(connection_string)
        self.redactor.add(self.settings.get("password"), self.settings.get("ssl_password"))
        self.schema = self.settings["queue_schema"]
        self._connection = None

    # -- naming --------------------------------------------------------------------------------------
    def _split(self, name):
        if not isinstance(name, str) or not name.strip():
            raise InvalidQueueNameError("Queue name %r is empty; give the queue's name, e.g. 'error'." % (name,))
        schema, table = split_queue_name(name, self.schema)
        if not table.strip():
            raise InvalidQueueNameError("Queue '%s' has no table part; give a table name." % name)
        if "\x00" in name:
            raise InvalidQueueNameError(
                "Queue '%s' contains a NUL character, which PostgreSQL names cannot hold." % name
            )
        size = len(table.encode("utf-8"))
        if size > TABLE_NAME_BYTE_LIMIT:
            raise InvalidQueueNameError(
                "Queue '%s' is %d UTF-8 bytes long; the PostgreSQL transport allows at most %d bytes for a table "
                "name (PostgreSQL's 63-byte limit minus room for the '_seq_seq' and '.delayed' suffixes). "
                "Use a shorter queue name." % (name, size, TABLE_NAME_BYTE_LIMIT)
            )
        if len(schema.encode("utf-8")) > IDENTIFIER_BYTE_LIMIT:
            raise InvalidQueueNameError(
                "Queue '%s' names a schema longer than %d UTF-8 bytes; use a shorter schema name."
                % (name, IDENTIFIER_BYTE_LIMIT)
            )
        return schema, table

    def physical_name(self, name):
        schema, table = self._split(name)
        return qualified_table_name(schema, table)

    # -- connection ----------------------------------------------------------------------------------
    def open(self):
        if not HAS_PSYCOPG:
            raise TransportDependencyError("psycopg", PSYCOPG_IMPORT_ERROR, self.transport_type)
        try:
            ca_file = self.tls.ca_file()
        except ValueError as exc:
            raise TransportConfigurationError("Transport PostgreSQL: %s." % exc) from None
        # None keeps the connection string's own Timeout/Command Timeout.
        kwargs = connect_kwargs(
            self.settings,
            timeout=self.options.get("timeout"),
            validate_certs=self.tls.validate_certs,
            ca_path=ca_file,
            client_cert=self.tls.client_cert,
            client_key=self.tls.client_key,
        )
        try:
            self._connection = psycopg.connect(**kwargs)
        except psycopg.Error as exc:
            raise TransportError(
                "Cannot connect to PostgreSQL at %s:%s, database %s: %s. Check the connection string, that the "
                "server is reachable and that the user may log in."
                % (
                    self.settings["host"],
                    self.settings["port"],
                    self.settings["database"],
                    self.redactor(_error_text(exc)),
                )
            ) from None

    def close(self):
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None

    def _cursor(self):
        if self._connection is None:
            raise TransportError("The PostgreSQL transport is not open; use it as a context manager.")
        return self._connection.cursor()

    def _query(self, sql, params=None, what="query"):
        try:
            with self._cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        except psycopg.Error as exc:
            raise TransportError("PostgreSQL %s failed: %s" % (what, self.redactor(_error_text(exc)))) from None

    def _insert(self, statement, parameters, what):
        """Run one INSERT in its own transaction (never swallowing a unique violation, unlike _execute)."""
        try:
            with self._connection.transaction(), self._cursor() as cursor:
                cursor.execute(statement, parameters)
        except psycopg.Error as exc:
            raise TransportError("PostgreSQL could not %s: %s" % (what, self.redactor(_error_text(exc)))) from None

    def _execute(self, statement, what):
        """Run one DDL statement in its own transaction; another process creating it first is fine."""
        try:
            with self._connection.transaction(), self._cursor() as cursor:
                cursor.execute(statement)
        except psycopg.Error as exc:
            if getattr(exc, "sqlstate", None) in ALREADY_EXISTS_SQLSTATES:
                return
            raise TransportError("PostgreSQL could not %s: %s" % (what, self.redactor(_error_text(exc)))) from None

    # -- reading -------------------------------------------------------------------------------------
    def _schema_exists(self, address):
        return bool(self._query(SCHEMA_EXISTS_SQL, (address[0],), "schema lookup"))

    def describe(self, name):
        schema, table = self._split(name)
        state = absent_state(name, qualified_table_name(schema, table), {"schema": schema, "table": table})
        rows = self._query(RELATION_SQL, (schema, table), "catalog lookup of %s" % state["physical_name"])
        if not rows:
            return state
        oid, relkind = rows[0]
        if relkind not in TABLE_RELKINDS:
            raise TransportError(
                "%s exists in database %s but is not a table (pg_class.relkind '%s'), so it cannot be a queue. "
                "Rename or drop that object, or use another queue name."
                % (state["physical_name"], self.settings["database"], relkind)
            )
        columns = [
            {"name": column, "type": type_name, "nullable": not not_null}
            for column, type_name, not_null in self._query(COLUMNS_SQL, (oid,), "column lookup")
        ]
        constraints = [
            {"type": CONSTRAINT_TYPES[kind], "columns": list(names)}
            for kind, names in self._query(CONSTRAINTS_SQL, (oid,), "constraint lookup")
        ]
        depth = self._query(depth_sql(schema, table), None, "count of %s" % state["physical_name"])[0][0]
        properties = dict(state["properties"], columns=columns, constraints=constraints)
        return queue_state(name, state["physical_name"], exists=True, depth=depth, properties=properties)

    def depth(self, name):
        return self.describe(name)["depth"]

    def _check_shape(self, state):
        problems = shape_problems(state["properties"])
        if problems:
            raise TransportError(
                "Table %s in database %s exists but is not a ServiceControl queue table: %s. It was left untouched; "
                "rename or drop it, or use another queue name or Queue Schema."
                % (state["physical_name"], self.settings["database"], "; ".join(problems))
            )

    # -- changing: TableTransport.ensure()/delete() with PostgreSQL's addresses and SQL ---------------
    def _address(self, name):
        return self._split(name)

    def _address_properties(self, address):
        schema, table = address
        return {"schema": schema, "table": table}

    def _expected_properties(self, address):
        return expected_properties(*address)

    def _database_label(self, address):
        return self.settings["database"]

    def _quote(self, identifier):
        return quote_identifier(identifier)

    def _create_sql(self, address):
        return create_table_sql(*address)

    def _drop_sql(self, address):
        return drop_table_sql(*address)

    def _insert_sql(self, address):
        return insert_sql(*address)


def _error_text(exc):
    """The server's message without the SQL excerpt (the first line), plus its SQLSTATE."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    sqlstate = getattr(exc, "sqlstate", None)
    return "%s (SQLSTATE %s)" % (text, sqlstate) if sqlstate else text
