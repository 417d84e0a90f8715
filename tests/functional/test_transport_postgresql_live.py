# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSqlTransport against the real PostgreSQL from tests/endpoints.env (plain pytest).

Each test works in a fresh schema named with a uuid and drops it afterwards. The checks read
PostgreSQL's catalog with their own queries, not with the transport's describe().
"""

from __future__ import annotations

import pathlib
import uuid

import pytest

psycopg = pytest.importorskip("psycopg")
pytest.importorskip("psycopg.sql")

from functional_support import connect_postgresql  # noqa: E402

from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (  # noqa: E402
    InvalidQueueNameError,
    TransportError,
    open_transport,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_postgresql import (  # noqa: E402
    parse_connection_string,
)

pytestmark = pytest.mark.postgresql

ENDPOINTS = pathlib.Path(__file__).resolve().parents[1] / "endpoints.env"


def connection_string():
    for line in ENDPOINTS.read_text().splitlines():
        if line.startswith("SCTEST_POSTGRESQL_CONNECTION_STRING="):
            return line.split("=", 1)[1]
    raise AssertionError("SCTEST_POSTGRESQL_CONNECTION_STRING is missing from %s" % ENDPOINTS)


@pytest.fixture(scope="module")
def admin():
    connection = connect_postgresql(parse_connection_string(connection_string()))
    yield connection
    connection.close()


@pytest.fixture
def schema(admin):
    name = "sc_test_%s" % uuid.uuid4().hex[:12]
    admin.execute('CREATE SCHEMA "%s"' % name)
    yield name
    admin.execute('DROP SCHEMA "%s" CASCADE' % name)


def transport_for(schema):
    return open_transport("PostgreSQL", connection_string() + ";Queue Schema=" + schema, {"timeout": 10})


def catalog_columns(admin, schema, table):
    return admin.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (schema, table),
    ).fetchall()


def tables_in(admin, schema):
    rows = admin.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", (schema,))
    return [row[0] for row in rows.fetchall()]


QUEUES = ["error", "audit", "error_backup", "audit_backup", "error.log", "Particular.ServiceControl"]


def test_creates_servicecontrol_queues_as_single_tables(admin, schema):
    with transport_for(schema) as transport:
        dry = [transport.ensure(name, check_mode=True) for name in QUEUES]
        assert tables_in(admin, schema) == []
        real = [transport.ensure(name) for name in QUEUES]
        again = [transport.ensure(name) for name in QUEUES]
    assert [r["changed"] for r in dry] == [r["changed"] for r in real] == [True] * len(QUEUES)
    assert [r["after"] for r in dry] == [r["after"] for r in real]
    assert [r["commands"] for r in dry] == [r["commands"] for r in real]
    assert [r["changed"] for r in again] == [False] * len(QUEUES)
    assert tables_in(admin, schema) == sorted(QUEUES)
    # error.log is one table in the queue schema, not table "log" in schema "error".
    assert catalog_columns(admin, schema, "error.log") == [
        ("id", "uuid", "NO"),
        ("expires", "timestamp without time zone", "YES"),
        ("headers", "text", "NO"),
        ("body", "bytea", "YES"),
        ("seq", "integer", "NO"),
    ]
    assert admin.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'error'").fetchall() == []


def test_depth_counts_rows(admin, schema):
    with transport_for(schema) as transport:
        transport.ensure("error")
        insert = psycopg.sql.SQL(
            "INSERT INTO {}.{} (id, headers, body) VALUES (gen_random_uuid(), %s, %s), (gen_random_uuid(), %s, NULL)"
        ).format(psycopg.sql.Identifier(schema), psycopg.sql.Identifier("error"))
        admin.execute(
            insert,
            ('{"NServiceBus.MessageId":"1"}', b"body", '{"NServiceBus.MessageId":"2"}'),
        )
        assert transport.depth("error") == 2
        assert transport.describe("missing")["depth"] is None


def test_delete_check_mode_then_real_then_repeat(admin, schema):
    with transport_for(schema) as transport:
        transport.ensure("error.log")
        dry = transport.delete("error.log", check_mode=True)
        assert tables_in(admin, schema) == ["error.log"]
        real = transport.delete("error.log")
        again = transport.delete("error.log")
    assert dry == real
    assert real["commands"] == ['DROP TABLE IF EXISTS "%s"."error.log"' % schema]
    assert (again["changed"], again["action"]) == (False, "absent")
    assert tables_in(admin, schema) == []


def test_foreign_table_with_the_queue_name_is_left_untouched(admin, schema):
    admin.execute('CREATE TABLE "%s"."audit" (id integer PRIMARY KEY, note text)' % schema)
    with transport_for(schema) as transport:
        with pytest.raises(TransportError) as error:
            transport.ensure("audit")
        assert '"%s"."audit"' % schema in str(error.value)
        assert "column id is integer NOT NULL (expected uuid NOT NULL)" in str(error.value)
        assert "unexpected column note" in str(error.value)
        with pytest.raises(TransportError, match="not a ServiceControl queue table"):
            transport.delete("audit")
    assert [c[0] for c in catalog_columns(admin, schema, "audit")] == ["id", "note"]


def test_56_byte_name_fails_before_anything_is_created(admin, schema):
    with transport_for(schema) as transport, pytest.raises(InvalidQueueNameError, match="at most 55 bytes"):
        transport.validate_names(["error", "e" * 56])
    assert tables_in(admin, schema) == []


def test_missing_schema_is_a_clear_error(admin):
    missing = "sc_missing_%s" % uuid.uuid4().hex[:8]
    with transport_for(missing) as transport, pytest.raises(TransportError, match="does not exist in database"):
        transport.ensure("error", check_mode=True)


def test_unreachable_server_error_has_no_password():
    transport = open_transport(
        "PostgreSQL", "Host=127.0.0.1;Port=1;Database=x;Username=u;Password=Secr3t-live", {"timeout": 2}
    )
    with pytest.raises(TransportError) as error:
        transport.open()
    assert "Cannot connect to PostgreSQL at 127.0.0.1:1" in str(error.value)
    assert "Secr3t-live" not in str(error.value)
