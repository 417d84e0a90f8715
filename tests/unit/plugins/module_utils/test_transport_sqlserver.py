# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SQL Server transport: connection string, naming, the exact SQL text and the call sequence.

No SQL Server runs here, so the statements are checked as text and the flow against a fake
pymssql connection that records every call.
"""

from __future__ import annotations

import os
import uuid

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils import _transport_sqlserver as mssql
from ansible_collections.servicecontrol.platform.plugins.module_utils._messages import Message
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    TransportConfigurationError,
    TransportDependencyError,
    TransportError,
    open_transport,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_sqlserver_connection import (
    parse_data_source,
)

CONNECTION = "Data Source=sql01,1433;Initial Catalog=ServiceControl;User Id=svc;Password=Secr3t;Queue Schema=queues"


def make(connection_string=CONNECTION, **options):
    return open_transport("SQLServer", connection_string, options)


# -- connection string ------------------------------------------------------------------------------


def test_parses_ado_net_keywords_and_servicecontrol_schema():
    settings = mssql.parse_connection_string(CONNECTION)
    assert (settings["server"], settings["port"]) == ("sql01", 1433)
    assert settings["catalog"] == "ServiceControl"
    assert (settings["user"], settings["password"]) == ("svc", "Secr3t")
    assert settings["queue_schema"] == "queues"
    assert settings["encrypt"] is True  # Microsoft.Data.SqlClient's default


@pytest.mark.parametrize(
    ("data_source", "server", "port"),
    [
        ("sql01", "sql01", None),
        ("tcp:sql01,14330", "sql01", 14330),
        ("sql01\\SQLEXPRESS", "sql01\\SQLEXPRESS", None),
        ("sql01\\SQLEXPRESS,1500", "sql01", 1500),
        (".", "localhost", None),
        ("(local)\\SQLEXPRESS", "localhost\\SQLEXPRESS", None),
    ],
)
def test_data_source_forms(data_source, server, port):
    assert parse_data_source(data_source) == (server, port)


@pytest.mark.parametrize(
    "connection_string",
    [
        "Server=s;Database=d;UID=u;PWD=p",
        "server=s;initial catalog=d;user id=u;password=p",
        "Address=s;Database=d;User=u;Password=p",
    ],
)
def test_keyword_aliases(connection_string):
    settings = mssql.parse_connection_string(connection_string)
    assert (settings["server"], settings["catalog"], settings["user"], settings["password"]) == ("s", "d", "u", "p")
    assert settings["queue_schema"] == "dbo"


def test_integrated_security_needs_no_user():
    settings = mssql.parse_connection_string("Data Source=s;Initial Catalog=d;Integrated Security=SSPI")
    kwargs = mssql.connect_kwargs(settings)
    assert "user" not in kwargs
    assert "password" not in kwargs


@pytest.mark.parametrize(
    ("connection_string", "message"),
    [
        ("Initial Catalog=d;User Id=u;Password=Secr3t", "no Data Source"),
        ("Data Source=s;User Id=u;Password=Secr3t", "no Initial Catalog"),
        ("Data Source=s;Initial Catalog=d;Password=Secr3t", "neither User Id nor Integrated Security"),
        ("Data Source=np:\\\\s\\pipe;Initial Catalog=d;User Id=u;Password=Secr3t", "named pipe"),
        ("Data Source=s,99999;Initial Catalog=d;User Id=u;Password=Secr3t", "port '99999'"),
        ("Data Source=s;Initial Catalog=d;Authentication=Active Directory Default;Password=Secr3t", "Authentication"),
        ("Data Source=s;Initial Catalog=d;User Id=u;Password=Secr3t;Encrypt=maybe", "Encrypt=maybe"),
        ("Data Source=s;Initial Catalog=d;User Id=u;Password=Secr3t;Connect Timeout=x", "Connect Timeout"),
    ],
)
def test_bad_connection_strings_fail_clearly_without_the_password(connection_string, message):
    with pytest.raises(TransportConfigurationError) as error:
        mssql.parse_connection_string(connection_string)
    assert message in str(error.value)
    assert "Secr3t" not in str(error.value)


def test_connect_kwargs():
    settings = mssql.parse_connection_string(CONNECTION + ";Command Timeout=45;Application Name=ops")
    assert mssql.connect_kwargs(settings) == {
        "server": "sql01",
        "port": "1433",
        "database": "ServiceControl",
        "user": "svc",
        "password": "Secr3t",
        "login_timeout": 15,
        "timeout": 45,
        "appname": "ops",
        "encryption": "require",
        "autocommit": False,
    }
    assert mssql.connect_kwargs(settings, timeout=9)["login_timeout"] == 9


@pytest.mark.parametrize(
    ("extra", "validate_certs", "verify"),
    [
        ("", True, True),
        ("", False, False),
        (";TrustServerCertificate=True", True, False),
        (";Encrypt=False", True, False),
    ],
)
def test_certificate_verification(extra, validate_certs, verify):
    assert mssql.verify_certificate(mssql.parse_connection_string(CONNECTION + extra), validate_certs) is verify


def test_freetds_tls_config():
    assert mssql.freetds_tls_config("/etc/ca.pem") == (
        "[global]\n\tca file = /etc/ca.pem\n\tcheck certificate hostname = yes\n"
    )
    assert "ca file = system" in mssql.freetds_tls_config()


# -- naming -----------------------------------------------------------------------------------------


def test_three_part_bracket_quoted_names():
    transport = make()
    assert transport.physical_name("error.log") == "[ServiceControl].[queues].[error.log]"
    assert transport.physical_name("a]b") == "[ServiceControl].[queues].[a]]b]"


def test_address_with_schema_and_catalog():
    assert mssql.parse_address("error@[my@schema]@[Other]") == ("error", "my@schema", "Other")
    assert mssql.parse_address("error@sales") == ("error", "sales", None)
    assert make().physical_name("error@sales@Other") == "[Other].[sales].[error]"


def test_sysname_limit_is_128_characters():
    transport = make()
    assert transport.physical_name("q" * 128).endswith("[%s]" % ("q" * 128))
    with pytest.raises(InvalidQueueNameError) as error:
        transport.physical_name("q" * 129)
    assert "129 characters" in str(error.value)
    assert "at most 128" in str(error.value)


def test_names_compare_case_insensitively():
    with pytest.raises(InvalidQueueNameError, match="both map to the physical queue"):
        make().validate_names(["Error", "error"])


# -- exact SQL text ---------------------------------------------------------------------------------

EXPECTED_CREATE = """IF EXISTS (SELECT * FROM [Service]]Control].sys.objects WHERE object_id = OBJECT_ID(N'[Service]]Control].[dbo].[it''s.log]') AND type in (N'U'))
RETURN

EXEC sp_getapplock @Resource = '[Service]]Control].[dbo].[it''s.log]_lock', @LockMode = 'Exclusive'

IF EXISTS (SELECT * FROM [Service]]Control].sys.objects WHERE object_id = OBJECT_ID(N'[Service]]Control].[dbo].[it''s.log]') AND type in (N'U'))
BEGIN
    EXEC sp_releaseapplock @Resource = '[Service]]Control].[dbo].[it''s.log]_lock'
    RETURN
END

BEGIN TRY
    CREATE TABLE [Service]]Control].[dbo].[it's.log] (
        Id uniqueidentifier NOT NULL,
        CorrelationId varchar(255),
        ReplyToAddress varchar(255),
        Recoverable bit NOT NULL,
        Expires datetime,
        Headers nvarchar(max) NOT NULL,
        Body varbinary(max),
        RowVersion bigint IDENTITY(1,1) NOT NULL
    );

    CREATE NONCLUSTERED INDEX Index_RowVersion ON [Service]]Control].[dbo].[it's.log]
    (
        [RowVersion] ASC
    )

    CREATE NONCLUSTERED INDEX Index_Expires ON [Service]]Control].[dbo].[it's.log]
    (
        Expires
    )
    INCLUDE
    (
        Id,
        RowVersion
    )
    WHERE
        Expires IS NOT NULL
END TRY
BEGIN CATCH
    EXEC sp_releaseapplock @Resource = '[Service]]Control].[dbo].[it''s.log]_lock';
    THROW;
END CATCH;

EXEC sp_releaseapplock @Resource = '[Service]]Control].[dbo].[it''s.log]_lock'"""  # noqa: E501


def test_create_queue_sql_is_the_transport_batch_with_quoting():
    assert mssql.create_queue_sql("Service]Control", "dbo", "it's.log") == EXPECTED_CREATE


def test_catalog_and_drop_sql():
    assert mssql.object_sql("SC", "dbo", "error") == (
        "SELECT o.object_id, o.type FROM [SC].sys.objects o WHERE o.object_id = OBJECT_ID(N'[SC].[dbo].[error]')"
    )
    assert mssql.columns_sql("SC", 7) == (
        "SELECT c.name, t.name, c.max_length, c.is_nullable, c.is_identity, c.is_computed "
        "FROM [SC].sys.columns c JOIN [SC].sys.types t ON t.user_type_id = c.user_type_id "
        "WHERE c.object_id = 7 ORDER BY c.column_id"
    )
    assert mssql.schema_sql("SC", "o'neil") == "SELECT s.schema_id FROM [SC].sys.schemas s WHERE s.name = N'o''neil'"
    assert mssql.depth_sql("SC", "dbo", "error") == "SELECT COUNT_BIG(*) FROM [SC].[dbo].[error] WITH (NOLOCK)"
    assert mssql.drop_table_sql("SC", "dbo", "error") == (
        "IF OBJECT_ID(N'[SC].[dbo].[error]', N'U') IS NOT NULL DROP TABLE [SC].[dbo].[error]"
    )


@pytest.mark.parametrize(
    ("type_name", "max_length", "rendered"),
    [("nvarchar", -1, "nvarchar(max)"), ("varchar", 255, "varchar(255)"), ("nvarchar", 400, "nvarchar(200)")],
)
def test_column_type_rendering(type_name, max_length, rendered):
    assert mssql.column_type(type_name, max_length) == rendered


# -- call sequence against a fake pymssql connection ------------------------------------------------

# sys.columns rows of a table NServiceBus created: name, type, max_length, is_nullable, is_identity, is_computed
QUEUE_TABLE_COLUMNS = [
    ("Id", "uniqueidentifier", 16, False, False, False),
    ("CorrelationId", "varchar", 255, True, False, False),
    ("ReplyToAddress", "varchar", 255, True, False, False),
    ("Recoverable", "bit", 1, False, False, False),
    ("Expires", "datetime", 8, True, False, False),
    ("Headers", "nvarchar", -1, False, False, False),
    ("Body", "varbinary", -1, True, False, False),
    ("RowVersion", "bigint", 8, False, True, False),
]
QUEUE_TABLE_INDEXES = [
    (None, "HEAP", None),
    ("Index_RowVersion", "NONCLUSTERED", None),
    ("Index_Expires", "NONCLUSTERED", "([Expires] IS NOT NULL)"),
]


class FakeError(Exception):
    pass


class FakeCursor:
    def __init__(self, connection):
        self.connection = connection
        self.rows = []

    def execute(self, sql, params=None):
        self.connection.calls.append(("execute", sql) if params is None else ("execute", sql, params))
        self.rows = self.connection.answer(sql)

    def fetchall(self):
        return self.rows


class FakeConnection:
    def __init__(self, exists=False, depth=0, columns=None, create_error=None, insert_error=None):
        self.exists = exists
        self.depth = depth
        self.columns = columns or QUEUE_TABLE_COLUMNS
        self.create_error = create_error
        self.insert_error = insert_error
        self.calls = []

    def cursor(self):
        return FakeCursor(self)

    def commit(self):
        self.calls.append(("commit",))

    def rollback(self):
        self.calls.append(("rollback",))

    def close(self):
        self.calls.append(("close",))

    def answer(self, sql):
        readers = {
            "SELECT o.object_id": lambda: [(101, "U ")] if self.exists else [],
            "SELECT s.schema_id": lambda: [(5,)],
            "SELECT c.name": lambda: list(self.columns),
            "SELECT i.name": lambda: list(QUEUE_TABLE_INDEXES),
            "SELECT COUNT_BIG": lambda: [(self.depth,)],
        }
        for prefix, reader in readers.items():
            if sql.startswith(prefix):
                return reader()
        if sql.startswith("IF EXISTS"):
            if self.create_error is not None:
                raise self.create_error
            self.exists = True
        elif sql.startswith("IF OBJECT_ID"):
            self.exists = False
        elif sql.startswith("INSERT INTO"):
            if self.insert_error is not None:
                raise self.insert_error
        else:
            raise AssertionError("unexpected SQL: %s" % sql)
        return []


@pytest.fixture
def fake_pymssql(monkeypatch):
    """Replace the driver: connect() hands out the prepared FakeConnection and records its kwargs."""
    state = {"connection": FakeConnection(), "kwargs": None}

    def connect(**kwargs):
        state["kwargs"] = kwargs
        return state["connection"]

    monkeypatch.setattr(mssql, "pymssql", type("pymssql", (), {"connect": staticmethod(connect), "Error": FakeError}))
    monkeypatch.setattr(mssql, "HAS_PYMSSQL", True)
    return state


def lookups(catalog="ServiceControl", schema="queues", table="error"):
    return [("execute", mssql.object_sql(catalog, schema, table))]


def test_create_sequence_reads_creates_commits_and_rereads(fake_pymssql):
    connection = fake_pymssql["connection"]
    with make(validate_certs=False) as transport:
        result = transport.ensure("error")
    create = mssql.create_queue_sql("ServiceControl", "queues", "error")
    assert connection.calls == [
        *lookups(),
        ("execute", mssql.schema_sql("ServiceControl", "queues")),
        ("execute", create),
        ("commit",),
        *lookups(),
        ("execute", mssql.columns_sql("ServiceControl", 101)),
        ("execute", mssql.indexes_sql("ServiceControl", 101)),
        ("execute", mssql.depth_sql("ServiceControl", "queues", "error")),
        ("close",),
    ]
    assert result["changed"] is True
    assert result["commands"] == [create]
    assert result["after"]["properties"]["indexes"] == [
        {"name": "Index_RowVersion", "type": "NONCLUSTERED", "filter": None},
        {"name": "Index_Expires", "type": "NONCLUSTERED", "filter": "([Expires] IS NOT NULL)"},
    ]
    assert fake_pymssql["kwargs"]["password"] == "Secr3t"


def test_check_mode_predicts_the_real_after_without_writing(fake_pymssql):
    with make(validate_certs=False) as transport:
        dry = transport.ensure("error", check_mode=True)
    assert not any(call[0] == "commit" or call[1].startswith("IF ") for call in fake_pymssql["connection"].calls[:-1])
    fake_pymssql["connection"] = FakeConnection()
    with make(validate_certs=False) as transport:
        real = transport.ensure("error")
    assert dry["after"] == real["after"]
    assert dry["commands"] == real["commands"]


def test_existing_queue_is_skipped(fake_pymssql):
    fake_pymssql["connection"] = connection = FakeConnection(exists=True, depth=4)
    with make(validate_certs=False) as transport:
        result = transport.ensure("error")
    assert (result["changed"], result["action"], result["commands"]) == (False, "existed", [])
    assert result["after"]["depth"] == 4
    executed = [call[1] for call in connection.calls if call[0] == "execute"]
    assert not any(sql.startswith("IF ") for sql in executed)
    assert ("commit",) not in connection.calls


def test_other_shape_is_an_error_naming_the_columns(fake_pymssql):
    columns = [("Id", "int", 4, False, True, False)]
    fake_pymssql["connection"] = FakeConnection(exists=True, columns=columns)
    with make(validate_certs=False) as transport, pytest.raises(TransportError) as error:
        transport.ensure("error")
    assert "[ServiceControl].[queues].[error]" in str(error.value)
    assert "column Id is int IDENTITY NOT NULL (expected uniqueidentifier NOT NULL)" in str(error.value)
    assert "column Headers is missing" in str(error.value)


def test_race_with_servicecontrol_is_ignored_after_rollback(fake_pymssql):
    # Another process creates the table between our read and our batch: SQL Server reports 2714.
    fake_pymssql["connection"] = connection = FakeConnection(
        create_error=FakeError(2714, b"There is already an object named 'error' in the database.")
    )
    original = connection.answer

    def answer(sql):
        if sql.startswith("IF EXISTS"):
            connection.exists = True
        return original(sql)

    connection.answer = answer
    with make(validate_certs=False) as transport:
        result = transport.ensure("error")
    assert result["after"]["exists"] is True
    create = ("execute", mssql.create_queue_sql("ServiceControl", "queues", "error"))
    assert connection.calls[connection.calls.index(create) + 1] == ("rollback",)


def test_other_errors_roll_back_and_are_reported_without_secrets(fake_pymssql):
    fake_pymssql["connection"] = connection = FakeConnection(
        create_error=FakeError(262, b"CREATE TABLE permission denied in database 'ServiceControl'.")
    )
    with make(validate_certs=False) as transport, pytest.raises(TransportError) as error:
        transport.ensure("error")
    assert "CREATE TABLE permission denied" in str(error.value)
    assert "(error 262)" in str(error.value)
    assert "Secr3t" not in str(error.value)
    assert connection.calls[-2:] == [("rollback",), ("close",)]


def test_delete_drops_an_existing_queue(fake_pymssql):
    fake_pymssql["connection"] = connection = FakeConnection(exists=True)
    with make(validate_certs=False) as transport:
        result = transport.delete("error")
        again = transport.delete("error")
    drop = mssql.drop_table_sql("ServiceControl", "queues", "error")
    assert result["commands"] == [drop]
    assert ("execute", drop) in connection.calls
    assert connection.calls[connection.calls.index(("execute", drop)) + 1] == ("commit",)
    assert (again["changed"], again["action"]) == (False, "absent")


def test_verification_points_freetds_at_a_temporary_config(fake_pymssql, monkeypatch, tmp_path):
    ca_file = tmp_path / "sql-ca.pem"
    ca_file.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    seen = {}

    def connect(**kwargs):
        seen["path"] = os.environ.get("FREETDSCONF")
        with open(seen["path"]) as handle:
            seen["text"] = handle.read()
        return fake_pymssql["connection"]

    monkeypatch.delenv("FREETDSCONF", raising=False)
    monkeypatch.setattr(mssql.pymssql, "connect", staticmethod(connect))
    with make(ca_path=str(ca_file)):
        pass
    assert seen["text"] == mssql.freetds_tls_config(str(ca_file))
    assert "FREETDSCONF" not in os.environ
    assert not os.path.exists(seen["path"])


def test_missing_pymssql_is_reported_as_a_dependency(monkeypatch):
    monkeypatch.setattr(mssql, "HAS_PYMSSQL", False)
    with pytest.raises(TransportDependencyError) as error:
        make().open()
    assert error.value.library == "pymssql"


# -- send ---------------------------------------------------------------------------------------------

PROBE = Message("6f1c2d3e", {"NServiceBus.MessageId": "6f1c2d3e", "NServiceBus.ReplyToAddress": "Sales@[dbo]/x"}, b"")


def test_insert_is_the_transports_send_text_with_recoverable():
    assert mssql.insert_sql("ServiceControl", "queues", "error") == (
        "INSERT INTO [ServiceControl].[queues].[error] (Id, Recoverable, Expires, Headers, Body) VALUES (%(id)s, 1, "
        "CASE WHEN %(ttbr)s IS NOT NULL THEN DATEADD(ms, %(ttbr)s, GETUTCDATE()) END, %(headers)s, %(body)s)"
    )


def test_send_inserts_one_row_and_commits(fake_pymssql):
    fake_pymssql["connection"] = connection = FakeConnection(exists=True)
    with make(validate_certs=False) as transport:
        result = transport.send("error", PROBE)
    insert = mssql.insert_sql("ServiceControl", "queues", "error")
    ((_execute, sql, parameters),) = [call for call in connection.calls if len(call) == 3]
    assert sql == insert
    assert str(parameters["id"]) == result["native_message_id"]
    assert parameters["ttbr"] is None
    assert (
        parameters["headers"] == '{"NServiceBus.MessageId":"6f1c2d3e","NServiceBus.ReplyToAddress":"Sales@[dbo]\\/x"}'
    )
    # An empty body goes as an empty varbinary (pymssql writes a bytearray as 0x...).
    assert parameters["body"] == bytearray(b"") and isinstance(parameters["body"], bytearray)
    assert connection.calls[connection.calls.index(("execute", sql, parameters)) + 1] == ("commit",)
    assert result["commands"][0].startswith(insert + " -- id=")


def test_pymssql_writes_the_parameters_as_sql_server_literals():
    _mssql = pytest.importorskip("pymssql._mssql")
    parameters = {"id": uuid.UUID(int=1), "ttbr": None, "headers": "{\"a\":\"é'\"}", "body": bytearray(b"")}
    text = _mssql.substitute_params(mssql.insert_sql("c", "s", "t"), parameters).decode("utf-8")
    assert text == (
        "INSERT INTO [c].[s].[t] (Id, Recoverable, Expires, Headers, Body) VALUES "
        "(N'00000000-0000-0000-0000-000000000001', 1, CASE WHEN NULL IS NOT NULL THEN DATEADD(ms, NULL, GETUTCDATE()) "
        "END, N'{\"a\":\"é''\"}', 0x)"
    )


def test_send_in_check_mode_inserts_nothing(fake_pymssql):
    fake_pymssql["connection"] = connection = FakeConnection(exists=True)
    with make(validate_certs=False) as transport:
        result = transport.send("error", PROBE, check_mode=True)
    assert not [call for call in connection.calls if len(call) == 3] and ("commit",) not in connection.calls
    assert result["native_message_id"] is None


def test_send_to_a_missing_table_inserts_nothing(fake_pymssql):
    with make(validate_certs=False) as transport, pytest.raises(TransportError, match="does not exist on SQLServer"):
        transport.send("error", PROBE)
    assert not [call for call in fake_pymssql["connection"].calls if len(call) == 3]


def test_a_failed_insert_rolls_back(fake_pymssql):
    fake_pymssql["connection"] = connection = FakeConnection(
        exists=True, insert_error=FakeError(229, b"The INSERT permission was denied on the object 'error'.")
    )
    with make(validate_certs=False) as transport, pytest.raises(TransportError) as error:
        transport.send("error", PROBE)
    assert "INSERT permission was denied" in str(error.value) and "(error 229)" in str(error.value)
    assert "Secr3t" not in str(error.value)
    assert connection.calls[-2:] == [("rollback",), ("close",)]
