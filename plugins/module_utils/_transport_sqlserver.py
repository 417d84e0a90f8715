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

from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    TableTransport,
    TransportConfigurationError,
    TransportDependencyError,
    TransportError,
    parse_key_value_connection_string,
)

try:
    import pymssql

    HAS_PYMSSQL = True
    PYMSSQL_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - depends on the host
    pymssql = None
    HAS_PYMSSQL = False
    PYMSSQL_IMPORT_ERROR = traceback.format_exc()

TRANSPORT_TYPE = "SQLServer"
DEFAULT_SCHEMA = "dbo"
# sysname is nvarchar(128): 128 UTF-16 code units.
SYSNAME_LIMIT = 128
# SQL Server errors NServiceBus ignores when another process created the table/index first.
ALREADY_EXISTS_ERRORS = frozenset((2714, 1913))
DEFAULT_LOGIN_TIMEOUT = 15  # SqlClient's Connect Timeout default
DEFAULT_QUERY_TIMEOUT = 30  # SqlClient's Command Timeout default

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

# SqlClient connection string keywords (case-insensitive, spaces optional) -> our canonical key.
SQLCLIENT_KEYWORDS = {
    "datasource": "data_source",
    "server": "data_source",
    "address": "data_source",
    "addr": "data_source",
    "networkaddress": "data_source",
    "initialcatalog": "catalog",
    "database": "catalog",
    "userid": "user",
    "uid": "user",
    "user": "user",
    "password": "password",
    "pwd": "password",
    "integratedsecurity": "integrated_security",
    "trustedconnection": "integrated_security",
    "encrypt": "encrypt",
    "trustservercertificate": "trust_server_certificate",
    "connecttimeout": "timeout",
    "connectiontimeout": "timeout",
    "timeout": "timeout",
    "commandtimeout": "command_timeout",
    "applicationname": "application_name",
    "app": "application_name",
    "authentication": "authentication",
    # ServiceControl's own part (removed before the string reaches SqlClient).
    "queueschema": "queue_schema",
}
TRUE_VALUES = frozenset(("true", "yes", "sspi", "1"))
FALSE_VALUES = frozenset(("false", "no", "0"))


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


def column_type(type_name, max_length):
    """Render a sys.columns type the way the CREATE TABLE spells it (varchar(255), nvarchar(max))."""
    if type_name in ("varchar", "varbinary", "char", "binary", "nvarchar", "nchar"):
        if max_length == -1:
            return "%s(max)" % type_name
        length = max_length // 2 if type_name.startswith("n") else max_length
        return "%s(%d)" % (type_name, length)
    return type_name


# -- names and connection string -------------------------------------------------------------------


def _unbracket(part):
    if len(part) >= 2 and part.startswith("[") and part.endswith("]"):
        return part[1:-1].replace("]]", "]")
    return part


def _next_address_part(rest):
    """Split the next ``@``-separated part off an address; ``@`` is literal inside [brackets]."""
    right_brackets = 0
    for index in range(1, len(rest)):
        if rest[index] == "@" and (rest[0] != "[" or right_brackets % 2 == 1):
            return rest[:index], rest[index + 1 :]
        if rest[index] == "]":
            right_brackets += 1
    return rest, ""


def parse_address(name):
    """Split a queue address ``table[@schema[@catalog]]`` (NServiceBus's format) into its three parts.

    The table is everything before the first ``@`` and is taken literally (a ``.`` is part of the
    name); schema and catalog may be [bracketed] and are None when not given.
    """
    at = name.find("@")
    if at == -1:
        return name, None, None
    table, rest = name[:at], name[at + 1 :]
    schema, rest = _next_address_part(rest)
    catalog = _next_address_part(rest)[0] if rest else None
    schema = _unbracket(schema).strip() or None if schema else None
    catalog = _unbracket(catalog).strip() or None if catalog else None
    return table, schema, catalog


def sysname_length(name):
    return len(name.encode("utf-16-le")) // 2


def parse_data_source(data_source):
    """Return (server, port) for pymssql from an ADO.NET Data Source (host, host,port, host\\instance, tcp:...)."""
    value = data_source.strip()
    if value.lower().startswith("tcp:"):
        value = value[4:]
    lowered = value.lower()
    if lowered.startswith(("np:", "lpc:", "admin:")) or lowered.startswith("(localdb)"):
        raise TransportConfigurationError(
            "The SQL Server Data Source uses a named pipe, shared memory or LocalDB; the module connects over TCP. "
            "Use Data Source=<host>[,<port>] or <host>\\<instance>."
        )
    port = None
    if "," in value:
        value, port_text = value.rsplit(",", 1)
        if not port_text.strip().isdigit() or not 0 < int(port_text) < 65536:
            raise TransportConfigurationError(
                "The SQL Server Data Source has port '%s'; write it as <host>,<port> with a TCP port number."
                % port_text.strip()
            )
        port = int(port_text)
    host, separator, instance = value.partition("\\")
    if host.strip().lower() in ("", ".", "(local)"):
        host = "localhost"
    server = host.strip()
    # With an explicit port the instance name is not needed (SQL Browser is only asked without one).
    if separator and instance and port is None:
        server = "%s\\%s" % (server, instance.strip())
    return server, port


def _flag(settings, key, default):
    value = settings.get(key)
    if value is None or not value.strip():
        return default
    lowered = value.strip().lower()
    if lowered in TRUE_VALUES:
        return True
    if lowered in FALSE_VALUES:
        return False
    return None


def _parse_authentication(settings):
    authentication = settings.get("authentication", "").replace(" ", "").lower()
    if authentication not in ("", "sqlpassword"):
        raise TransportConfigurationError(
            "The SQL Server connection string uses Authentication=%s, which the module's driver (pymssql/FreeTDS) "
            "cannot do; use User Id and Password, or Integrated Security=true (Kerberos)." % settings["authentication"]
        )
    integrated = _flag(settings, "integrated_security", False)
    if integrated is None:
        raise TransportConfigurationError(
            "The SQL Server connection string has an Integrated Security value that is not true/false/SSPI."
        )
    settings["integrated_security"] = integrated
    if not integrated and not settings.get("user"):
        raise TransportConfigurationError(
            "The SQL Server connection string has neither User Id nor Integrated Security=true; add User Id=<login>;"
            "Password=<password>, or Integrated Security=true to use the module host's Kerberos ticket."
        )


def _parse_encryption(settings):
    encrypt = settings.get("encrypt", "").strip().lower()
    # Microsoft.Data.SqlClient (ServiceControl 5+) encrypts by default.
    if encrypt in ("", "true", "yes", "mandatory", "strict"):
        settings["encrypt"] = True
    elif encrypt in ("false", "no", "optional"):
        settings["encrypt"] = False
    else:
        raise TransportConfigurationError(
            "The SQL Server connection string has Encrypt=%s; use true, false, mandatory, optional or strict."
            % settings["encrypt"]
        )
    trust = _flag(settings, "trust_server_certificate", False)
    settings["trust_server_certificate"] = bool(trust)


def parse_connection_string(connection_string):
    raw = parse_key_value_connection_string(connection_string, TRANSPORT_TYPE)
    settings = {}
    for key, value in raw.items():
        canonical = SQLCLIENT_KEYWORDS.get(key.replace(" ", "").replace("_", "").lower())
        if canonical is not None:
            settings[canonical] = value
    if not settings.get("data_source"):
        raise TransportConfigurationError(
            "The SQL Server connection string has no Data Source (or Server); add Data Source=<server>."
        )
    if not settings.get("catalog"):
        raise TransportConfigurationError(
            "The SQL Server connection string has no Initial Catalog (or Database); add Initial Catalog=<database> "
            "naming the database that holds ServiceControl's queue tables."
        )
    settings["server"], settings["port"] = parse_data_source(settings["data_source"])
    _parse_authentication(settings)
    _parse_encryption(settings)
    for key, label in (("timeout", "Connect Timeout"), ("command_timeout", "Command Timeout")):
        if key in settings:
            if not settings[key].strip().isdigit():
                raise TransportConfigurationError(
                    "The SQL Server connection string has a non-numeric %s; give it in whole seconds." % label
                )
            settings[key] = int(settings[key])
    schema = _unbracket(settings.get("queue_schema", "").strip()) or DEFAULT_SCHEMA
    settings["queue_schema"] = schema
    settings["catalog"] = _unbracket(settings["catalog"].strip())
    for label, value in (("Queue Schema", schema), ("Initial Catalog", settings["catalog"])):
        if sysname_length(value) > SYSNAME_LIMIT:
            raise TransportConfigurationError(
                "The SQL Server connection string's %s is longer than %d characters (sysname); use a shorter name."
                % (label, SYSNAME_LIMIT)
            )
    return settings


def verify_certificate(settings, validate_certs=True):
    """Whether the server certificate is checked: only when encrypting, and unless the user opted out
    (validate_certs=false, or TrustServerCertificate=true in ServiceControl's own connection string)."""
    return bool(settings["encrypt"] and validate_certs and not settings["trust_server_certificate"])


def connect_kwargs(settings, timeout=None):
    """pymssql.connect() keyword arguments (autocommit off: pymssql keeps a transaction open, like
    NServiceBus's BeginTransaction, and commit()/rollback() end it)."""
    kwargs = {
        "server": settings["server"],
        "database": settings["catalog"],
        "login_timeout": int(timeout if timeout is not None else settings.get("timeout", DEFAULT_LOGIN_TIMEOUT)),
        "timeout": int(timeout if timeout is not None else settings.get("command_timeout", DEFAULT_QUERY_TIMEOUT)),
        "appname": settings.get("application_name") or "servicecontrol.platform",
        "encryption": "require" if settings["encrypt"] else "request",
        "autocommit": False,
    }
    if settings["port"] is not None:
        kwargs["port"] = str(settings["port"])
    if not settings["integrated_security"]:
        kwargs["user"] = settings["user"]
        kwargs["password"] = settings.get("password", "")
    return kwargs


def freetds_tls_config(ca_path=None):
    """freetds.conf text that makes FreeTDS verify the server certificate and host name."""
    return "[global]\n\tca file = %s\n\tcheck certificate hostname = yes\n" % (ca_path or "system")


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
        verify = verify_certificate(self.settings, self.options.get("validate_certs", True) is not False)
        try:
            self._connection = self._connect(kwargs, verify)
        except pymssql.Error as exc:
            raise TransportError(
                "Cannot connect to SQL Server %s, database %s: %s. Check the connection string, that the server is "
                "reachable over TCP and that the login may use the database."
                % (self.settings["data_source"], self.catalog, _error_text(exc))
            ) from None

    def _connect(self, kwargs, verify):
        if not verify:
            return pymssql.connect(**kwargs)
        # pymssql has no certificate arguments; FreeTDS reads them from the file FREETDSCONF names.
        handle, path = tempfile.mkstemp(prefix="servicecontrol-freetds-", suffix=".conf")
        previous = os.environ.get("FREETDSCONF")
        try:
            with os.fdopen(handle, "w") as config:
                config.write(freetds_tls_config(self.options.get("ca_path")))
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
            raise TransportError("SQL Server %s failed: %s" % (what, _error_text(exc))) from None

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
            raise TransportError("SQL Server could not %s: %s" % (what, _error_text(exc))) from None

    # -- reading -------------------------------------------------------------------------------------
    def describe(self, name):
        catalog, schema, table = self._parts(name)
        qualified = qualified_table_name(catalog, schema, table)
        state = {
            "name": name,
            "physical_name": qualified,
            "exists": False,
            "depth": None,
            "properties": {"catalog": catalog, "schema": schema, "table": table},
        }
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
        state["exists"] = True
        state["properties"].update(columns=columns, indexes=indexes)
        state["depth"] = int(self._query(depth_sql(catalog, schema, table), "count of %s" % qualified)[0][0])
        return state

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
