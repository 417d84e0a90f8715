# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""ServiceControl's ``SQLServer`` transport: one heap table per queue, made as NServiceBus.Transport.SqlServer does.

Every statement is produced by a pure function so the exact SQL text is unit-tested; the class only
sends those statements over one pymssql connection.
"""

from __future__ import annotations

import os
import tempfile
import traceback

from ansible_collections.servicecontrol.platform.plugins.module_utils._results import absent_state, queue_state
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    TransportConfigurationError,
    TransportDependencyError,
    TransportError,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_sqlserver_connection import (
    SYSNAME_LIMIT,
    connect_kwargs,
    freetds_tls_config,
    parse_address,
    parse_connection_string,
    sysname_length,
    verify_certificate,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_table import TableTransport

try:
    import pymssql

    HAS_PYMSSQL = True
    PYMSSQL_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - depends on the host
    pymssql = None
    HAS_PYMSSQL = False
    PYMSSQL_IMPORT_ERROR = traceback.format_exc()

# SQL Server errors NServiceBus ignores when another process created the table/index first.
ALREADY_EXISTS_ERRORS = frozenset((2714, 1913))

# The queue table as sys.columns describes it after NServiceBus's CREATE TABLE.
QUEUE_COLUMNS = (
    {"name": "Id", "type": "uniqueidentifier", "nullable": False, "identity": False},
    {"name": "CorrelationId", "type": "varchar(255)", "nullable": True, "identity": False},
    {"name": "ReplyToAddress", "type": "varchar(255)", "nullable": True, "identity": False},
    {"name": "Recoverable", "type": "bit", "nullable": False, "identity": False},
    {"name": "Expires", "type": "datetime", "nullable": True, "identity": False},
    {"name": "Headers", "type": "nvarchar(max)", "nullable": False, "identity": False},
    {"name": "Body", "type": "varbinary(max)", "nullable": True, "identity": False},
    {"name": "RowVersion", "type": "bigint", "nullable": False, "identity": True},
)
QUEUE_INDEXES = (
    {"name": "Index_RowVersion", "type": "NONCLUSTERED", "filter": None},
    {"name": "Index_Expires", "type": "NONCLUSTERED", "filter": "([Expires] IS NOT NULL)"},
)
# Added only when an endpoint sets CreateMessageBodyComputedColumn; a queue with it is still a queue.
OPTIONAL_COLUMNS = frozenset(("bodystring",))

# -- pure SQL text ---------------------------------------------------------------------------------


def quote_identifier(name):
    """Bracket-quote a SQL Server identifier, doubling ``]`` (as NServiceBus does)."""
    return "[%s]" % name.replace("]", "]]")


def string_literal(text):
    """A T-SQL string literal with embedded single quotes doubled."""
    return "'%s'" % text.replace("'", "''")


def qualified_table_name(catalog, schema, table):
    return "%s.%s.%s" % (quote_identifier(catalog), quote_identifier(schema), quote_identifier(table))


# NServiceBus.Transport.SqlServer's queue creation batch (SqlServerConstants.CreateQueueText), restated.
CREATE_QUEUE_TEMPLATE = (
    "IF EXISTS (SELECT * FROM {objects} WHERE object_id = OBJECT_ID({name}) AND type in (N'U'))\n"
    "RETURN\n"
    "\n"
    "EXEC sp_getapplock @Resource = {lock}, @LockMode = 'Exclusive'\n"
    "\n"
    "IF EXISTS (SELECT * FROM {objects} WHERE object_id = OBJECT_ID({name}) AND type in (N'U'))\n"
    "BEGIN\n"
    "    EXEC sp_releaseapplock @Resource = {lock}\n"
    "    RETURN\n"
    "END\n"
    "\n"
    "BEGIN TRY\n"
    "    CREATE TABLE {table} (\n"
    "        Id uniqueidentifier NOT NULL,\n"
    "        CorrelationId varchar(255),\n"
    "        ReplyToAddress varchar(255),\n"
    "        Recoverable bit NOT NULL,\n"
    "        Expires datetime,\n"
    "        Headers nvarchar(max) NOT NULL,\n"
    "        Body varbinary(max),\n"
    "        RowVersion bigint IDENTITY(1,1) NOT NULL\n"
    "    );\n"
    "\n"
    "    CREATE NONCLUSTERED INDEX Index_RowVersion ON {table}\n"
    "    (\n"
    "        [RowVersion] ASC\n"
    "    )\n"
    "\n"
    "    CREATE NONCLUSTERED INDEX Index_Expires ON {table}\n"
    "    (\n"
    "        Expires\n"
    "    )\n"
    "    INCLUDE\n"
    "    (\n"
    "        Id,\n"
    "        RowVersion\n"
    "    )\n"
    "    WHERE\n"
    "        Expires IS NOT NULL\n"
    "END TRY\n"
    "BEGIN CATCH\n"
    "    EXEC sp_releaseapplock @Resource = {lock};\n"
    "    THROW;\n"
    "END CATCH;\n"
    "\n"
    "EXEC sp_releaseapplock @Resource = {lock}"
)


def create_queue_sql(catalog, schema, table):
    """The batch NServiceBus.Transport.SqlServer runs (inside a transaction) to create a queue table.

    Skips an existing table, takes an exclusive application lock named after the table, checks again,
    then creates the heap table and both nonclustered indexes, releasing the lock on every path.
    """
    qualified = qualified_table_name(catalog, schema, table)
    name = "N" + string_literal(qualified)
    lock = string_literal(qualified + "_lock")
    objects = "%s.sys.objects" % quote_identifier(catalog)
    return CREATE_QUEUE_TEMPLATE.format(objects=objects, name=name, lock=lock, table=qualified)


# Catalog queries; every name in them goes through quote_identifier() or string_literal().
DROP_TABLE_TEMPLATE = "IF OBJECT_ID(N%s, N'U') IS NOT NULL DROP TABLE %s"
OBJECT_TEMPLATE = "SELECT o.object_id, o.type FROM %s.sys.objects o WHERE o.object_id = OBJECT_ID(N%s)"
COLUMNS_TEMPLATE = (
    "SELECT c.name, t.name, c.max_length, c.is_nullable, c.is_identity, c.is_computed "
    "FROM %s.sys.columns c JOIN %s.sys.types t ON t.user_type_id = c.user_type_id "
    "WHERE c.object_id = %d ORDER BY c.column_id"
)
INDEXES_TEMPLATE = (
    "SELECT i.name, i.type_desc, i.filter_definition FROM %s.sys.indexes i WHERE i.object_id = %d ORDER BY i.index_id"
)
SCHEMA_TEMPLATE = "SELECT s.schema_id FROM %s.sys.schemas s WHERE s.name = N%s"
# NOLOCK: counting must never wait behind ServiceControl's receive transactions.
DEPTH_TEMPLATE = "SELECT COUNT_BIG(*) FROM %s WITH (NOLOCK)"
# NServiceBus.Transport.SqlServer's send (SqlServerConstants.SendTextWithRecoverable, docs/reference/transports.md
# §2.3) without its NOCOUNT bookkeeping, with pymssql's named parameters for @Id, @TimeToBeReceivedMs, @Headers and
# @Body. A NULL time-to-be-received gives a NULL Expires.
INSERT_TEMPLATE = (
    "INSERT INTO %s (Id, Recoverable, Expires, Headers, Body) VALUES (%%(id)s, 1, "
    "CASE WHEN %%(ttbr)s IS NOT NULL THEN DATEADD(ms, %%(ttbr)s, GETUTCDATE()) END, %%(headers)s, %%(body)s)"
)


def drop_table_sql(catalog, schema, table):
    qualified = qualified_table_name(catalog, schema, table)
    return DROP_TABLE_TEMPLATE % (string_literal(qualified), qualified)


def object_sql(catalog, schema, table):
    """The object (if any) with the queue's name: its id and sys.objects type ('U' = user table)."""
    return OBJECT_TEMPLATE % (quote_identifier(catalog), string_literal(qualified_table_name(catalog, schema, table)))


def columns_sql(catalog, object_id):
    return COLUMNS_TEMPLATE % (quote_identifier(catalog), quote_identifier(catalog), int(object_id))


def indexes_sql(catalog, object_id):
    return INDEXES_TEMPLATE % (quote_identifier(catalog), int(object_id))


def schema_sql(catalog, schema):
    return SCHEMA_TEMPLATE % (quote_identifier(catalog), string_literal(schema))


def depth_sql(catalog, schema, table):
    return DEPTH_TEMPLATE % qualified_table_name(catalog, schema, table)


def insert_sql(catalog, schema, table):
    """The INSERT NServiceBus.Transport.SqlServer runs to send a message to a queue table."""
    return INSERT_TEMPLATE % qualified_table_name(catalog, schema, table)


def column_type(type_name, max_length):
    """Render a sys.columns type the way the CREATE TABLE spells it (varchar(255), nvarchar(max))."""
    if type_name in ("varchar", "varbinary", "char", "binary", "nvarchar", "nchar"):
        if max_length == -1:
            return "%s(max)" % type_name
        length = max_length // 2 if type_name.startswith("n") else max_length
        return "%s(%d)" % (type_name, length)
    return type_name


def expected_properties(catalog, schema, table):
    return {
        "catalog": catalog,
        "schema": schema,
        "table": table,
        "columns": [dict(column) for column in QUEUE_COLUMNS],
        "indexes": [dict(index) for index in QUEUE_INDEXES],
    }


def shape_problems(properties):
    problems = []
    actual = {column["name"].lower(): column for column in properties.get("columns", [])}
    for column in QUEUE_COLUMNS:
        found = actual.get(column["name"].lower())
        if found is None:
            problems.append("column %s is missing" % column["name"])
            continue
        if (found["type"], found["nullable"], found["identity"]) != (
            column["type"],
            column["nullable"],
            column["identity"],
        ):
            problems.append(
                "column %s is %s%s %s (expected %s%s %s)"
                % (
                    column["name"],
                    found["type"],
                    " IDENTITY" if found["identity"] else "",
                    "NULL" if found["nullable"] else "NOT NULL",
                    column["type"],
                    " IDENTITY" if column["identity"] else "",
                    "NULL" if column["nullable"] else "NOT NULL",
                )
            )
    expected = {column["name"].lower() for column in QUEUE_COLUMNS} | OPTIONAL_COLUMNS
    problems.extend("unexpected column %s" % column["name"] for key, column in actual.items() if key not in expected)
    return problems


# -- the transport ---------------------------------------------------------------------------------


class SqlServerTransport(TableTransport):
    """Queue tables in one SQL Server database, exactly as ServiceControl's setup creates them."""

    def __init__(self, transport_type, connection_string, variant=None, options=None):
        super().__init__(transport_type, connection_string, variant=variant, options=options)
        self.settings = parse_connection_string(connection_string)
        self.redactor.add(self.settings.get("password"))
        if self.tls.client_cert:
            raise TransportConfigurationError(
                "Transport SQLServer: client_cert and client_key cannot be used; SQL Server logins do not "
                "authenticate with client certificates (pymssql/FreeTDS has no such option). Leave them unset."
            )
        self.catalog = self.settings["catalog"]
        self.schema = self.settings["queue_schema"]
        self._connection = None

    # -- naming --------------------------------------------------------------------------------------
    def _parts(self, name):
        if not isinstance(name, str) or not name.strip():
            raise InvalidQueueNameError("Queue name %r is empty; give the queue's name, e.g. 'error'." % (name,))
        table, schema, catalog = parse_address(name)
        if not table.strip():
            raise InvalidQueueNameError("Queue '%s' has no table part before '@'; give a table name." % name)
        if "\x00" in name:
            raise InvalidQueueNameError(
                "Queue '%s' contains a NUL character, which SQL Server names cannot hold." % name
            )
        parts = (catalog or self.catalog, schema or self.schema, table)
        for label, value in zip(("catalog", "schema", "table"), parts):
            if sysname_length(value) > SYSNAME_LIMIT:
                raise InvalidQueueNameError(
                    "Queue '%s' has a %s name of %d characters; SQL Server names (sysname) hold at most %d. "
                    "Use a shorter name." % (name, label, sysname_length(value), SYSNAME_LIMIT)
                )
        return parts

    def physical_name(self, name):
        return qualified_table_name(*self._parts(name))

    def physical_key(self, physical):
        # Default SQL Server collations compare identifiers case-insensitively.
        return physical.lower()

    # -- connection ----------------------------------------------------------------------------------
    def open(self):
        if not HAS_PYMSSQL:
            raise TransportDependencyError("pymssql", PYMSSQL_IMPORT_ERROR, self.transport_type)
        kwargs = connect_kwargs(self.settings, timeout=self.options.get("timeout"))
        verify = verify_certificate(self.settings, self.tls.validate_certs)
        try:
            self._connection = self._connect(kwargs, verify)
        except pymssql.Error as exc:
            raise TransportError(
                "Cannot connect to SQL Server %s, database %s: %s. Check the connection string, that the server is "
                "reachable over TCP and that the login may use the database."
                % (self.settings["data_source"], self.catalog, self.redactor(_error_text(exc)))
            ) from None

    def _connect(self, kwargs, verify):
        if not verify:
            return pymssql.connect(**kwargs)
        # pymssql has no certificate arguments; FreeTDS reads them from the file FREETDSCONF names.
        handle, path = tempfile.mkstemp(prefix="servicecontrol-freetds-", suffix=".conf")
        previous = os.environ.get("FREETDSCONF")
        try:
            with os.fdopen(handle, "w") as config:
                config.write(freetds_tls_config(self.tls.ca_file()))
            os.environ["FREETDSCONF"] = path
            return pymssql.connect(**kwargs)
        finally:
            if previous is None:
                os.environ.pop("FREETDSCONF", None)
            else:
                os.environ["FREETDSCONF"] = previous
            os.unlink(path)

    def close(self):
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None

    def _query(self, sql, what):
        if self._connection is None:
            raise TransportError("The SQLServer transport is not open; use it as a context manager.")
        try:
            cursor = self._connection.cursor()
            cursor.execute(sql)
            return cursor.fetchall()
        except pymssql.Error as exc:
            raise TransportError("SQL Server %s failed: %s" % (what, self.redactor(_error_text(exc)))) from None

    def _execute(self, statement, what):
        """Run one batch in the connection's transaction and commit it; roll back on failure."""
        try:
            cursor = self._connection.cursor()
            cursor.execute(statement)
            self._connection.commit()
        except pymssql.Error as exc:
            self._connection.rollback()
            if _error_number(exc) in ALREADY_EXISTS_ERRORS:
                return
            raise TransportError("SQL Server could not %s: %s" % (what, self.redactor(_error_text(exc)))) from None

    def _insert(self, statement, parameters, what):
        """Run the INSERT in the connection's transaction and commit it; roll back on failure."""
        # pymssql writes a bytearray as a 0x literal even when it is empty (empty bytes would become '', which SQL
        # Server does not convert to varbinary implicitly).
        parameters = dict(parameters, body=bytearray(parameters["body"]))
        try:
            cursor = self._connection.cursor()
            cursor.execute(statement, parameters)
            self._connection.commit()
        except pymssql.Error as exc:
            self._connection.rollback()
            raise TransportError("SQL Server could not %s: %s" % (what, self.redactor(_error_text(exc)))) from None

    # -- reading -------------------------------------------------------------------------------------
    def describe(self, name):
        catalog, schema, table = self._parts(name)
        qualified = qualified_table_name(catalog, schema, table)
        state = absent_state(name, qualified, {"catalog": catalog, "schema": schema, "table": table})
        rows = self._query(object_sql(catalog, schema, table), "lookup of %s" % qualified)
        if not rows:
            return state
        object_id, object_type = rows[0]
        if str(object_type).strip() != "U":
            raise TransportError(
                "%s exists but is not a table (sys.objects type '%s'), so it cannot be a queue. Rename or drop that "
                "object, or use another queue name." % (qualified, str(object_type).strip())
            )
        columns = [
            {
                "name": column,
                "type": column_type(type_name, max_length),
                "nullable": bool(nullable),
                "identity": bool(identity),
            }
            for column, type_name, max_length, nullable, identity, _computed in self._query(
                columns_sql(catalog, object_id), "column lookup of %s" % qualified
            )
        ]
        indexes = [
            {"name": index, "type": type_desc, "filter": filter_definition}
            for index, type_desc, filter_definition in self._query(
                indexes_sql(catalog, object_id), "index lookup of %s" % qualified
            )
            if index is not None  # the heap itself is listed as an unnamed index 0
        ]
        depth = int(self._query(depth_sql(catalog, schema, table), "count of %s" % qualified)[0][0])
        properties = dict(state["properties"], columns=columns, indexes=indexes)
        return queue_state(name, qualified, exists=True, depth=depth, properties=properties)

    def depth(self, name):
        return self.describe(name)["depth"]

    def _check_shape(self, state):
        problems = shape_problems(state["properties"])
        if problems:
            raise TransportError(
                "Table %s exists but is not a ServiceControl queue table: %s. It was left untouched; rename or drop "
                "it, or use another queue name or Queue Schema." % (state["physical_name"], "; ".join(problems))
            )

    # -- changing: TableTransport.ensure()/delete() with SQL Server's addresses and SQL --------------
    def _address(self, name):
        return self._parts(name)

    def _address_properties(self, address):
        catalog, schema, table = address
        return {"catalog": catalog, "schema": schema, "table": table}

    def _expected_properties(self, address):
        return expected_properties(*address)

    def _schema_exists(self, address):
        catalog, schema, _table = address
        return bool(self._query(schema_sql(catalog, schema), "schema lookup"))

    def _database_label(self, address):
        return quote_identifier(address[0])

    def _quote(self, identifier):
        return quote_identifier(identifier)

    def _create_sql(self, address):
        return create_queue_sql(*address)

    def _drop_sql(self, address):
        return drop_table_sql(*address)

    def _insert_sql(self, address):
        return insert_sql(*address)


def _error_number(exc):
    for arg in exc.args:
        if isinstance(arg, int):
            return arg
        if isinstance(arg, tuple) and arg and isinstance(arg[0], int):
            return arg[0]
    return None


def _error_text(exc):
    """pymssql errors carry (number, bytes message); render them without anything from the connection string."""
    parts = []
    for arg in exc.args:
        if isinstance(arg, tuple):
            parts.extend(arg)
        else:
            parts.append(arg)
    number = next((part for part in parts if isinstance(part, int)), None)
    messages = [part.decode("utf-8", "replace") if isinstance(part, bytes) else str(part) for part in parts]
    text = " ".join(message.strip() for message, part in zip(messages, parts) if not isinstance(part, int))
    text = " ".join(text.split()) or exc.__class__.__name__
    return "%s (error %s)" % (text, number) if number is not None else text
