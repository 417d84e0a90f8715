"""PostgreSQL transport against the real server: table shape, row format and queue behaviour."""

from __future__ import annotations

import json
import threading
import time
import uuid

import psycopg
import pytest
from psycopg import sql

from lab.transports import LabMessage, QueueNotFoundError, open_lab_transport, transport_address
from lab.transports.postgresql import MAX_IDLE_CONNECTIONS, connection_settings

pytestmark = pytest.mark.postgresql


@pytest.fixture
def raw(postgresql_connection_string):
    """A plain psycopg connection (independent of the code under test) that drops what tests made."""
    params, _ = connection_settings(postgresql_connection_string)
    connection = psycopg.connect(autocommit=True, **params)
    connection.created = []
    yield connection
    for schema, table in connection.created:
        connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, table)))
        if schema != "public":
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {}").format(sql.Identifier(schema)))
    connection.close()


def _table(raw, stem: str, schema: str = "public") -> str:
    # A dot in the name checks that ServiceControl's quoting keeps it one table name.
    name = "lab-test.%s.%s" % (stem, uuid.uuid4().hex[:8])
    raw.created.append((schema, name))
    return name


def _query(raw, template: str, name: str, params=(), schema: str = "public"):
    """Run ``template`` with ``{table}`` replaced by the quoted "schema"."name"."""
    return raw.execute(sql.SQL(template).format(table=sql.Identifier(schema, name)), params)


def _headers(n: int = 1) -> dict[str, str]:
    return {
        "NServiceBus.MessageId": "msg-%d-%s" % (n, uuid.uuid4()),
        "NServiceBus.ReplyToAddress": "Sales/Replies",
        "NServiceBus.FailedQ": "Sales",
    }


def test_table_shape_matches_the_transport(raw, postgresql_connection_string):
    name = _table(raw, "shape")
    with open_lab_transport("PostgreSQL", postgresql_connection_string) as transport:
        assert not transport.queue_exists(name)
        transport.create_queue(name)
        transport.create_queue(name)  # idempotent
        assert transport.queue_exists(name)

    columns = raw.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
        (name,),
    ).fetchall()
    assert columns == [
        ("id", "uuid", "NO"),
        ("expires", "timestamp without time zone", "YES"),
        ("headers", "text", "NO"),
        ("body", "bytea", "YES"),
        ("seq", "integer", "NO"),
    ]
    constraints = raw.execute(
        "SELECT c.contype, a.attname FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
        "WHERE c.conrelid = %s::regclass ORDER BY c.contype",
        ('"public"."%s"' % name,),
    ).fetchall()
    assert constraints == [("p", "id"), ("u", "seq")]
    default = raw.execute(
        "SELECT column_default FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name = %s AND column_name = 'seq'",
        (name,),
    ).fetchone()[0]
    assert default.startswith("nextval(")


def test_send_writes_a_native_row(raw, postgresql_connection_string):
    name = _table(raw, "row")
    headers = _headers()
    with open_lab_transport("PostgreSQL", postgresql_connection_string) as transport:
        transport.create_queue(name)
        message = LabMessage(headers=dict(headers), body=b'{"OrderId":1}')
        transport.send(name, message)

    rows = _query(raw, "SELECT id, expires, headers, body, seq FROM {table}", name).fetchall()
    assert len(rows) == 1
    row_id, expires, headers_text, body, seq = rows[0]
    assert str(row_id) == message.native_id
    assert row_id != headers["NServiceBus.MessageId"]  # a fresh random id, not the message id
    assert expires is None
    assert json.loads(headers_text) == headers
    assert "Sales\\/Replies" in headers_text  # '/' escaped like the transport does
    assert bytes(body) == b'{"OrderId":1}'
    assert seq >= 1


def test_time_to_be_received_sets_expires_and_expired_rows_are_dropped(raw, postgresql_connection_string):
    name = _table(raw, "ttbr")
    with open_lab_transport("PostgreSQL", postgresql_connection_string) as transport:
        transport.create_queue(name)
        headers = _headers()
        headers["NServiceBus.TimeToBeReceived"] = "00:10:00"
        transport.send(name, LabMessage(headers=headers))
        in_ten = _query(raw, "SELECT expires - (now() AT TIME ZONE 'UTC') FROM {table}", name).fetchone()[0]
        assert 590 < in_ten.total_seconds() <= 600
        _query(raw, "UPDATE {table} SET expires = (now() AT TIME ZONE 'UTC') - interval '1 s'", name)
        assert transport.receive(name) is None
        assert transport.depth(name) == 0


def test_reads_a_row_written_by_the_transport(raw, postgresql_connection_string):
    name = _table(raw, "native")
    with open_lab_transport("PostgreSQL", postgresql_connection_string) as transport:
        transport.create_queue(name)
        _query(
            raw,
            "INSERT INTO {table} (id, expires, headers, body) VALUES (%s, NULL, %s, %s)",
            name,
            (uuid.uuid4(), '{"NServiceBus.MessageId":"abc","NServiceBus.FailedQ":"Billing\\/x"}', b"<x/>"),
        )
        received = transport.receive(name)
        assert received.headers == {"NServiceBus.MessageId": "abc", "NServiceBus.FailedQ": "Billing/x"}
        assert received.body == b"<x/>"
        transport.complete(received)


def test_receive_complete_abandon_depth(raw, postgresql_connection_string):
    name = _table(raw, "flow")
    with open_lab_transport("PostgreSQL", postgresql_connection_string) as transport:
        transport.create_queue(name)
        sent = [_headers(n) for n in range(3)]
        for headers in sent:
            transport.send(name, LabMessage(headers=headers, body=b"b"))
        assert transport.depth(name) == 3

        first = transport.receive(name)
        assert first.message_id == sent[0]["NServiceBus.MessageId"]  # lowest seq first
        assert transport.depth(name) == 3  # the delete is not committed yet
        second = transport.receive(name)
        assert second.message_id == sent[1]["NServiceBus.MessageId"]  # the locked row is skipped
        transport.abandon(first)
        transport.complete(second)
        assert transport.depth(name) == 2

        seen = []
        while (received := transport.receive(name)) is not None:
            seen.append(received.message_id)
            transport.complete(received)
        assert seen == [sent[0]["NServiceBus.MessageId"], sent[2]["NServiceBus.MessageId"]]
        assert transport.depth(name) == 0
        assert _query(raw, "SELECT count(*) FROM {table}", name).fetchone()[0] == 0
        with pytest.raises(ValueError, match="already completed"):
            transport.complete(second)


def test_close_returns_in_flight_messages(raw, postgresql_connection_string):
    name = _table(raw, "close")
    with open_lab_transport("PostgreSQL", postgresql_connection_string) as transport:
        transport.create_queue(name)
        transport.send(name, LabMessage(headers=_headers()))
        assert transport.receive(name) is not None
    assert _query(raw, "SELECT count(*) FROM {table}", name).fetchone()[0] == 1


def test_queue_schema_from_connection_string(raw, postgresql_connection_string):
    schema = "lab_schema_%s" % uuid.uuid4().hex[:8]
    raw.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    name = _table(raw, "schema", schema=schema)
    with open_lab_transport("PostgreSQL", postgresql_connection_string + ";Queue Schema=" + schema) as transport:
        transport.create_queue(name)
        transport.send(name, LabMessage(headers=_headers()))
        assert transport.depth(name) == 1
    assert _query(raw, "SELECT count(*) FROM {table}", name, schema=schema).fetchone()[0] == 1


def test_missing_queue_fails(postgresql_connection_string):
    missing = "lab-test-missing-%s" % uuid.uuid4().hex[:8]
    with open_lab_transport("PostgreSQL", postgresql_connection_string) as transport:
        for action in (
            lambda: transport.send(missing, LabMessage(headers=_headers())),
            lambda: transport.receive(missing),
        ):
            with pytest.raises(QueueNotFoundError, match="does not exist"):
                action()
        with pytest.raises(QueueNotFoundError):
            transport.depth(missing)
        assert transport.queue_exists(missing) is False  # the connection is still usable


def test_native_addresses_are_understood(raw, postgresql_connection_string):
    name = _table(raw, "address")
    with open_lab_transport("PostgreSQL", postgresql_connection_string) as transport:
        address = transport_address(transport, name)
        assert address == '"public"."%s"' % name
        transport.create_queue(name)
        # What an endpoint writes in NServiceBus.FailedQ reaches the same table.
        transport.send(address, LabMessage(headers=_headers()))
        transport.send('"%s"' % name, LabMessage(headers=_headers()))
        assert transport.depth(name) == 2
        assert transport.queue_exists(address)
        assert transport.split_address('"my ""odd"" schema"."a.b"') == ('my "odd" schema', "a.b")
        assert transport.split_address("error.log") == ("public", "error.log")


def test_long_names_are_refused(postgresql_connection_string):
    with open_lab_transport("PostgreSQL", postgresql_connection_string) as transport:
        with pytest.raises(ValueError, match="at most 55"):
            transport.create_queue("x" * 56)


def test_concurrent_receivers_never_get_the_same_message(raw, postgresql_connection_string):
    name = _table(raw, "compete")
    total = 100
    with open_lab_transport("PostgreSQL", postgresql_connection_string) as sender:
        sender.create_queue(name)
        for n in range(total):
            sender.send(name, LabMessage(headers=_headers(n)))

    buckets: list[list[str]] = [[] for _ in range(3)]

    def drain(bucket: list[str]) -> None:
        with open_lab_transport("PostgreSQL", postgresql_connection_string) as receiver:
            while (received := receiver.receive(name)) is not None:
                bucket.append(received.message_id)
                receiver.complete(received)

    threads = [threading.Thread(target=drain, args=(bucket,)) for bucket in buckets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [message_id for bucket in buckets for message_id in bucket]
    assert len(everything) == total
    assert len(set(everything)) == total


def test_in_flight_messages_hold_connections_only_while_unsettled(raw, postgresql_connection_string):
    name = _table(raw, "pool")
    app = "lab-test-%s" % uuid.uuid4().hex[:8]

    def server_connections(expected: int) -> int:
        # A closed connection's backend leaves pg_stat_activity a moment later.
        query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        deadline = time.monotonic() + 5
        while (count := raw.execute(query, (app,)).fetchone()[0]) != expected and time.monotonic() < deadline:
            time.sleep(0.02)
        return count

    with open_lab_transport("PostgreSQL", postgresql_connection_string + ";Application Name=" + app) as transport:
        transport.create_queue(name)
        for n in range(10):
            transport.send(name, LabMessage(headers=_headers(n)))
        in_flight = [transport.receive(name) for _ in range(10)]
        assert server_connections(1 + 10) == 1 + 10  # one transaction (connection) per unsettled message
        for message in in_flight:
            transport.complete(message)
        assert server_connections(1 + MAX_IDLE_CONNECTIONS) == 1 + MAX_IDLE_CONNECTIONS
        assert transport.depth(name) == 0
    assert server_connections(0) == 0


def test_npgsql_connection_string_is_translated():
    params, schema = connection_settings(
        "Server=db;Port=5433;Database=sc;User Id=svc;Password='p;w';SSL Mode=VerifyFull;Queue Schema=nsb"
    )
    assert params == {
        "host": "db",
        "port": "5433",
        "dbname": "sc",
        "user": "svc",
        "password": "p;w",
        "sslmode": "verify-full",
    }
    assert schema == "nsb"
    with pytest.raises(ValueError, match="'Host'"):
        connection_settings("Database=x")
