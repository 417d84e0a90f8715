# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""The base of the transports whose queues are database tables: SQLServer and PostgreSQL."""

from __future__ import annotations

import abc
import json
import uuid

from ansible_collections.servicecontrol.platform.plugins.module_utils._results import (
    absent_state,
    operation_result,
    send_result,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import Transport, TransportError


def headers_json(headers):
    """The Headers column as both transports' DictionarySerializer writes it: a compact JSON object, relaxed escaping
    (non-ASCII kept), and every ``/`` written as ``\\/`` for DataContractJsonSerializer readers
    (docs/reference/transports.md §2.3, §3.3)."""
    return json.dumps(headers, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")


def insert_parameters(native_id, message):
    """The parameters of the INSERT: a new random row id (not the message id), no time-to-be-received (so no
    Expires), the headers JSON and the body bytes."""
    return {"id": native_id, "ttbr": None, "headers": headers_json(message.headers), "body": message.body}


class TableTransport(Transport):
    """Read-compare-act shared by the transports whose queue is a database table (SQLServer, PostgreSQL).

    A subclass gives the table's address (a tuple ending in schema and table), the SQL text, and how it
    looks up a schema and runs a statement; ensure() and delete() are the same for both databases: never
    touch a table that is not a queue table, report the exact statements, predict the result in check mode.
    """

    @abc.abstractmethod
    def _address(self, name):
        """The table's address for a logical queue name: (schema, table) or (catalog, schema, table)."""

    @abc.abstractmethod
    def _address_properties(self, address):
        """describe()'s ``properties`` of a table that does not exist."""

    @abc.abstractmethod
    def _expected_properties(self, address):
        """describe()'s ``properties`` of a freshly created queue table (check-mode prediction)."""

    @abc.abstractmethod
    def _check_shape(self, state):
        """Raise TransportError when an existing table is not a ServiceControl queue table."""

    @abc.abstractmethod
    def _schema_exists(self, address):
        """True when the address's schema exists."""

    @abc.abstractmethod
    def _database_label(self, address):
        """How messages name the database that holds the table."""

    @abc.abstractmethod
    def _quote(self, identifier):
        """The database's quoting of one identifier."""

    @abc.abstractmethod
    def _create_sql(self, address):
        """The statement (or batch) that creates the queue table."""

    @abc.abstractmethod
    def _drop_sql(self, address):
        """The statement that drops the queue table."""

    @abc.abstractmethod
    def _execute(self, statement, what):
        """Run a changing statement and commit it; ``what`` names it in errors."""

    @abc.abstractmethod
    def _insert_sql(self, address):
        """The INSERT a send runs, with the named parameters of insert_parameters()."""

    @abc.abstractmethod
    def _insert(self, statement, parameters, what):
        """Run the INSERT with its parameters in a transaction and commit it; ``what`` names it in errors."""

    def ensure(self, name, check_mode=False):
        address = self._address(name)
        before = self.describe(name)
        if before["exists"]:
            self._check_shape(before)
            return operation_result("existed", before, before, [])
        if not self._schema_exists(address):
            schema = self._quote(address[-2])
            raise TransportError(
                "Schema %s does not exist in database %s, so queue %s cannot be created. Create the schema "
                "(CREATE SCHEMA %s) or set Queue Schema= in the connection string to an existing schema."
                % (schema, self._database_label(address), name, schema)
            )
        statement = self._create_sql(address)
        if check_mode:
            after = dict(before, exists=True, depth=0, properties=self._expected_properties(address))
        else:
            self._execute(statement, "create queue table %s" % before["physical_name"])
            after = self.describe(name)
            self._check_shape(after)
        return operation_result("created", before, after, [statement])

    def delete(self, name, check_mode=False):
        address = self._address(name)
        before = self.describe(name)
        if not before["exists"]:
            return operation_result("absent", before, before, [])
        # Never drop a table that is not a queue table just because its name matches.
        self._check_shape(before)
        statement = self._drop_sql(address)
        if not check_mode:
            self._execute(statement, "drop queue table %s" % before["physical_name"])
        after = absent_state(name, before["physical_name"], self._address_properties(address))
        return operation_result("deleted", before, after, [statement])

    def send(self, name, message, check_mode=False):
        address = self._address(name)
        state = self.describe(name)
        physical = state["physical_name"]
        if not state["exists"]:
            raise self.missing_queue_error(name, physical)
        # Never insert into a table that is not a queue table just because its name matches.
        self._check_shape(state)
        statement = self._insert_sql(address)
        native_id = None if check_mode else uuid.uuid4()
        parameters = insert_parameters(native_id, message)
        command = "%s -- id=%s, headers=%d characters of JSON, body=%d bytes" % (
            statement,
            native_id or "<new GUID>",
            len(parameters["headers"]),
            len(message.body),
        )
        if not check_mode:
            self._insert(statement, parameters, "send to queue table %s" % physical)
        return send_result(
            name, physical, message, native_message_id=None if native_id is None else str(native_id), commands=[command]
        )
