# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL transport: connection string, naming, SQL text and the read-compare-act flow (fake connection)."""

from __future__ import annotations

import re

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils import _transport_postgresql as pg
from ansible_collections.servicecontrol.platform.plugins.module_utils._messages import Message
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    TransportConfigurationError,
    TransportDependencyError,
    TransportError,
    open_transport,
)

CONNECTION = "Server=db.example.com;Port=5433;Database=sc;User Id=svc;Password=Secr3t;Queue Schema=queues"


def make(connection_string=CONNECTION, **options):
    return open_transport("PostgreSQL", connection_string, options)


# -- connection string ------------------------------------------------------------------------------


def test_parses_npgsql_keywords_and_servicecontrol_schema():
    settings = pg.parse_connection_string(CONNECTION)
    assert settings["host"] == "db.example.com"
    assert settings["port"] == 5433
    assert settings["database"] == "sc"
    assert settings["username"] == "svc"
    assert settings["password"] == "Secr3t"
    assert settings["queue_schema"] == "queues"


@pytest.mark.parametrize(
    "connection_string",
    [
        "Host=h;Database=d;Username=u;Password=p",
        "host=h;db=d;uid=u;pwd=p",
        "HOST = h ; DATABASE = d ; User Name = u ; PSW = p",
        "Server=h;Database=d;UserId=u;Password=p",
    ],
)
def test_keyword_aliases_and_defaults(connection_string):
    settings = pg.parse_connection_string(connection_string)
    assert (settings["host"], settings["database"], settings["username"], settings["password"]) == ("h", "d", "u", "p")
    assert settings["port"] == 5432
    assert settings["queue_schema"] == "public"


def test_quoted_queue_schema_is_unquoted():
    assert pg.parse_connection_string('Host=h;Database=d;Queue Schema="My Schema"')["queue_schema"] == "My Schema"


@pytest.mark.parametrize(
    ("connection_string", "message"),
    [
        ("Database=d;Password=Secr3t", "no Host"),
        ("Host=h;Password=Secr3t", "no Database"),
        ("Host=h;Database=d;Port=abc;Password=Secr3t", "Port=abc"),
        ("Host=h;Database=d;SSL Mode=Sometimes;Password=Secr3t", "SSL Mode=Sometimes"),
        ("Host=h;Database=d;Timeout=soon;Password=Secr3t", "Timeout"),
        ("Host=h;Database=d;Queue Schema=%s;Password=Secr3t" % ("s" * 64), "63 UTF-8 bytes"),
        ("", "needs a connection string"),
    ],
)
def test_bad_connection_strings_fail_clearly_without_the_password(connection_string, message):
    with pytest.raises(TransportConfigurationError) as error:
        pg.parse_connection_string(connection_string)
    assert message in str(error.value)
    assert "Secr3t" not in str(error.value)


def test_connect_kwargs_map_to_libpq_names():
    kwargs = pg.connect_kwargs(pg.parse_connection_string(CONNECTION + ";Application Name=ops;Timeout=7"))
    assert kwargs == {
        "host": "db.example.com",
        "port": 5433,
        "dbname": "sc",
        "user": "svc",
        "password": "Secr3t",
        "application_name": "ops",
        "autocommit": True,
        "connect_timeout": 7,
    }


def test_module_timeout_sets_connect_and_statement_timeouts():
    kwargs = pg.connect_kwargs(pg.parse_connection_string(CONNECTION), timeout=12)
    assert kwargs["connect_timeout"] == 12
    assert kwargs["options"] == "-c statement_timeout=12000"


@pytest.mark.parametrize(
    ("ssl_mode", "validate_certs", "expected"),
    [
        ("Require", True, "verify-full"),
        ("Require", False, "require"),
        ("VerifyCA", True, "verify-ca"),
        ("VerifyFull", False, "require"),
        ("Prefer", True, "prefer"),
        ("Disable", True, "disable"),
    ],
)
def test_tls_verification_follows_validate_certs(ssl_mode, validate_certs, expected):
    settings = pg.parse_connection_string(CONNECTION + ";SSL Mode=" + ssl_mode)
    assert pg.connect_kwargs(settings, validate_certs=validate_certs)["sslmode"] == expected


def test_trust_server_certificate_in_connection_string_opts_out_of_verification():
    settings = pg.parse_connection_string(CONNECTION + ";SSL Mode=Require;Trust Server Certificate=true")
    assert pg.connect_kwargs(settings, validate_certs=True)["sslmode"] == "require"


def test_ca_path_wins_over_root_certificate():
    settings = pg.parse_connection_string(CONNECTION + ";SSL Mode=VerifyFull;Root Certificate=/etc/a.pem")
    assert pg.connect_kwargs(settings)["sslrootcert"] == "/etc/a.pem"
    assert pg.connect_kwargs(settings, ca_path="/etc/b.pem")["sslrootcert"] == "/etc/b.pem"


# -- naming and SQL text ----------------------------------------------------------------------------


def test_error_log_is_one_quoted_table_in_the_queue_schema():
    transport = make()
    assert transport.physical_name("error.log") == '"queues"."error.log"'
    assert transport.physical_name("Particular.ServiceControl") == '"queues"."Particular.ServiceControl"'


def test_embedded_double_quotes_are_doubled():
    assert pg.qualified_table_name('s"x', 'a"b') == '"s""x"."a""b"'


def test_already_quoted_name_is_an_address_with_schema():
    assert pg.split_queue_name('"other"."error"', "public") == ("other", "error")
    assert pg.split_queue_name('"error.log"', "public") == ("public", "error.log")


def test_create_table_sql_matches_the_transport_shape():
    assert pg.create_table_sql("public", "error.log") == (
        'CREATE TABLE IF NOT EXISTS "public"."error.log" (id uuid NOT NULL PRIMARY KEY, expires timestamp NULL, '
        "headers text NOT NULL, body bytea NULL, seq serial NOT NULL UNIQUE)"
    )
    assert pg.drop_table_sql("public", "error.log") == 'DROP TABLE IF EXISTS "public"."error.log"'
    assert pg.depth_sql("public", "error.log") == 'SELECT count(*) FROM "public"."error.log"'


def test_55_byte_limit_counts_utf8_bytes():
    transport = make()
    assert transport.physical_name("q" * 55) == '"queues"."%s"' % ("q" * 55)
    with pytest.raises(InvalidQueueNameError) as error:
        transport.physical_name("q" * 56)
    assert "56 UTF-8 bytes" in str(error.value)
    assert "at most 55 bytes" in str(error.value)
    # 28 two-byte characters = 56 bytes, although only 28 characters.
    with pytest.raises(InvalidQueueNameError, match="56 UTF-8 bytes"):
        transport.physical_name("\u00e9" * 28)


def test_validate_names_reports_every_bad_name_at_once():
    with pytest.raises(InvalidQueueNameError) as error:
        make().validate_names(["error", "x" * 60, "", "audit"])
    assert "'%s'" % ("x" * 60) in str(error.value)
    assert "empty" in str(error.value)


def test_unknown_option_is_rejected():
    with pytest.raises(TransportConfigurationError, match="do not apply"):
        make(queue_type="quorum")


# -- read, compare, act against a fake connection ---------------------------------------------------


class FakeCursor:
    def __init__(self, connection):
        self.connection = connection
        self.rows = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def execute(self, sql, params=None):
        self.connection.executed.append((sql, params))
        self.rows = self.connection.answer(sql, params)

    def fetchall(self):
        return self.rows


class FakeTransaction:
    def __init__(self, connection):
        self.connection = connection

    def __enter__(self):
        self.connection.executed.append(("BEGIN", None))

    def __exit__(self, exc_type, *rest):
        self.connection.executed.append(("ROLLBACK" if exc_type else "COMMIT", None))
        return False


class FakeConnection:
    """Answers the catalog queries from a dict of tables {(schema, table): depth}."""

    def __init__(self, tables=None, schemas=("queues",), columns=None):
        self.tables = dict(tables or {})
        self.schemas = set(schemas)
        self.columns = columns
        self.executed = []
        self.inserted = []

    def cursor(self):
        return FakeCursor(self)

    def transaction(self):
        return FakeTransaction(self)

    def answer(self, sql, params):
        default_columns = [(c["name"], c["type"], not c["nullable"]) for c in pg.QUEUE_COLUMNS]
        readers = {
            pg.SCHEMA_EXISTS_SQL: lambda: [(1,)] if params[0] in self.schemas else [],
            pg.RELATION_SQL: lambda: [(42, "r")] if tuple(params or ()) in self.tables else [],
            pg.COLUMNS_SQL: lambda: self.columns if self.columns is not None else default_columns,
            pg.CONSTRAINTS_SQL: lambda: [("p", ["id"]), ("u", ["seq"])],
        }
        if sql in readers:
            return readers[sql]()
        if sql.startswith("SELECT count(*)"):
            return [(next(iter(self.tables.values())),)]
        if sql.startswith("CREATE TABLE"):
            self.tables[("queues", "error.log")] = 0
        elif sql.startswith("DROP TABLE"):
            self.tables.clear()
        elif sql.startswith("INSERT INTO"):
            self.inserted.append(params)
        else:
            raise AssertionError("unexpected SQL: %s" % sql)
        return []


def opened(connection):
    transport = make()
    transport._connection = connection
    return transport


def statements(connection):
    return [sql for sql, _params in connection.executed]


def test_check_mode_predicts_the_real_run_and_changes_nothing():
    dry_connection = FakeConnection()
    dry = opened(dry_connection).ensure("error.log", check_mode=True)
    assert not any(s.startswith("CREATE") for s in statements(dry_connection))

    real_connection = FakeConnection()
    real = opened(real_connection).ensure("error.log")
    assert dry["changed"] is real["changed"] is True
    assert dry["action"] == real["action"] == "created"
    assert dry["commands"] == real["commands"] == [pg.create_table_sql("queues", "error.log")]
    assert dry["after"] == real["after"]
    creation = statements(real_connection).index(pg.create_table_sql("queues", "error.log"))
    assert statements(real_connection)[creation - 1 : creation + 2] == [
        "BEGIN",
        pg.create_table_sql("queues", "error.log"),
        "COMMIT",
    ]


def test_existing_queue_is_left_alone():
    connection = FakeConnection(tables={("queues", "error.log"): 3})
    result = opened(connection).ensure("error.log")
    assert result["changed"] is False
    assert result["action"] == "existed"
    assert result["commands"] == []
    assert result["after"]["depth"] == 3
    assert not any(s.startswith(("CREATE", "DROP")) for s in statements(connection))


def test_table_with_another_shape_is_an_error_and_untouched():
    columns = [("id", "integer", True), ("payload", "text", False)]
    connection = FakeConnection(tables={("queues", "error.log"): 0}, columns=columns)
    with pytest.raises(TransportError) as error:
        opened(connection).ensure("error.log")
    message = str(error.value)
    assert '"queues"."error.log"' in message
    assert "column id is integer NOT NULL (expected uuid NOT NULL)" in message
    assert "column headers is missing" in message
    assert "unexpected column payload" in message
    with pytest.raises(TransportError, match="not a ServiceControl queue table"):
        opened(connection).delete("error.log")
    assert not any(s.startswith(("CREATE", "DROP")) for s in statements(connection))


def test_missing_schema_fails_before_creating():
    connection = FakeConnection(schemas=())
    with pytest.raises(TransportError, match='Schema "queues" does not exist'):
        opened(connection).ensure("error", check_mode=True)
    assert not any(s.startswith("CREATE") for s in statements(connection))


def test_delete_drops_only_an_existing_queue_table():
    connection = FakeConnection(tables={("queues", "error.log"): 0})
    dry = opened(connection).delete("error.log", check_mode=True)
    assert dry["changed"] is True
    assert not any(s.startswith("DROP") for s in statements(connection))
    real = opened(connection).delete("error.log")
    assert real["commands"] == dry["commands"] == ['DROP TABLE IF EXISTS "queues"."error.log"']
    assert real["after"] == dry["after"]
    again = opened(connection).delete("error.log")
    assert (again["changed"], again["action"], again["commands"]) == (False, "absent", [])


def test_concurrent_creation_by_servicecontrol_is_not_an_error(monkeypatch):
    class DuplicateTable(Exception):
        sqlstate = "42P07"

    connection = FakeConnection()
    original = connection.answer

    def racing(sql, params):
        if sql.startswith("CREATE TABLE"):
            connection.tables[("queues", "error.log")] = 0
            raise DuplicateTable("relation already exists")
        return original(sql, params)

    connection.answer = racing
    monkeypatch.setattr(pg, "psycopg", type("psycopg", (), {"Error": DuplicateTable}))
    result = opened(connection).ensure("error.log")
    assert result["changed"] is True
    assert result["after"]["exists"] is True


def test_missing_psycopg_is_reported_as_a_dependency(monkeypatch):
    monkeypatch.setattr(pg, "HAS_PSYCOPG", False)
    with pytest.raises(TransportDependencyError) as error:
        make().open()
    assert error.value.library == "psycopg"


# -- send ---------------------------------------------------------------------------------------------

PROBE = Message(
    "6f1c2d3e", {"NServiceBus.MessageId": "6f1c2d3e", "NServiceBus.FailedQ": '"public"."Sales"', "U": "é/x"}, b"{}"
)


def test_insert_is_the_transports_send_text():
    assert pg.insert_sql("queues", "error.log") == (
        'INSERT INTO "queues"."error.log" (id, expires, headers, body) VALUES (%(id)s, '
        "(now() AT TIME ZONE 'UTC') + (%(ttbr)s || ' ms')::INTERVAL, %(headers)s, %(body)s)"
    )
    # psycopg reads the statement as a template: a '%' in a name is doubled.
    assert pg.insert_sql("public", "100%").startswith('INSERT INTO "public"."100%%" (')


def test_send_inserts_a_row_as_nservicebus_does_in_one_transaction():
    connection = FakeConnection(tables={("queues", "error.log"): 0})
    result = opened(connection).send("error.log", PROBE)
    (parameters,) = connection.inserted
    assert set(parameters) == {"id", "ttbr", "headers", "body"}
    assert str(parameters["id"]) == result["native_message_id"] != PROBE.message_id
    assert parameters["ttbr"] is None
    # Compact JSON, non-ASCII kept, every '/' written as '\/' (DictionarySerializer).
    assert (
        parameters["headers"]
        == '{"NServiceBus.MessageId":"6f1c2d3e","NServiceBus.FailedQ":"\\"public\\".\\"Sales\\"","U":"é\\/x"}'
    )
    assert parameters["body"] == b"{}"
    insert = pg.insert_sql("queues", "error.log")
    assert statements(connection)[-3:] == ["BEGIN", insert, "COMMIT"]
    assert result["commands"] == [
        "%s -- id=%s, headers=%d characters of JSON, body=2 bytes"
        % (insert, parameters["id"], len(parameters["headers"]))
    ]
    assert (result["name"], result["physical_name"]) == ("error.log", '"queues"."error.log"')


def test_send_in_check_mode_inserts_nothing():
    connection = FakeConnection(tables={("queues", "error"): 0})
    result = opened(connection).send("error", PROBE, check_mode=True)
    assert connection.inserted == [] and "BEGIN" not in statements(connection)
    assert result["native_message_id"] is None
    assert "id=<new GUID>" in result["commands"][0]


def test_send_refuses_a_missing_table_and_a_table_that_is_not_a_queue():
    with pytest.raises(TransportError, match=re.escape('Queue \'error\' ("queues"."error") does not exist')):
        opened(FakeConnection()).send("error", PROBE)
    columns = [("id", "integer", True), ("payload", "text", False)]
    connection = FakeConnection(tables={("queues", "error"): 0}, columns=columns)
    with pytest.raises(TransportError, match="not a ServiceControl queue table"):
        opened(connection).send("error", PROBE)
    assert connection.inserted == []


def test_a_failed_insert_is_reported_without_the_password(monkeypatch):
    class InsertFailed(Exception):
        sqlstate = "42501"

    connection = FakeConnection(tables={("queues", "error"): 0})
    original = connection.answer

    def refuse(sql, params):
        if sql.startswith("INSERT"):
            raise InsertFailed("permission denied for table error")
        return original(sql, params)

    connection.answer = refuse
    monkeypatch.setattr(pg, "psycopg", type("psycopg", (), {"Error": InsertFailed}))
    with pytest.raises(TransportError) as error:
        opened(connection).send("error", PROBE)
    assert "permission denied for table error (SQLSTATE 42501)" in str(error.value)
    assert "Secr3t" not in str(error.value)
    assert statements(connection)[-1] == "ROLLBACK"
