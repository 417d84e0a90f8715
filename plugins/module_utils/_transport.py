# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""The one interface every ServiceControl transport implements, and the registry that picks one.

A transport is named with ServiceControl's own TransportType value (``RabbitMQ.QuorumConventionalRouting``,
``SQLServer``, ``LearningTransport``, ...) and configured with a connection string in ServiceControl's
format for that transport, so the same pair describes both the queues and the instances.

Each transport family lives in its own file, ``_transport_<family>.py``, and is imported only when it
is used (``open_transport``), so a run against RabbitMQ never imports boto3 or the Azure SDKs.
"""

from __future__ import annotations

import abc
import re

from ansible.module_utils.basic import missing_required_lib

# ServiceControl TransportType name -> (family, variant). The family selects the implementation file;
# the variant carries what the name itself decides (RabbitMQ queue type and routing topology).
TRANSPORT_TYPES = {
    "RabbitMQ.QuorumConventionalRouting": ("rabbitmq", {"queue_type": "quorum", "routing_topology": "conventional"}),
    "RabbitMQ.ClassicConventionalRouting": ("rabbitmq", {"queue_type": "classic", "routing_topology": "conventional"}),
    "RabbitMQ.QuorumDirectRouting": ("rabbitmq", {"queue_type": "quorum", "routing_topology": "direct"}),
    "RabbitMQ.ClassicDirectRouting": ("rabbitmq", {"queue_type": "classic", "routing_topology": "direct"}),
    "SQLServer": ("sqlserver", {}),
    "PostgreSQL": ("postgresql", {}),
    "NetStandardAzureServiceBus": ("azureservicebus", {}),
    "AmazonSQS": ("amazonsqs", {}),
    "AzureStorageQueue": ("azurestoragequeue", {}),
    "MSMQ": ("msmq", {}),
    "LearningTransport": ("learning", {}),
}


#: Options every transport accepts (connection behaviour, not queue shape).
COMMON_OPTIONS = frozenset(("timeout", "validate_certs", "ca_path"))


class TransportError(Exception):
    """Anything that goes wrong talking to a transport. The message never contains a secret."""


class TransportConfigurationError(TransportError):
    """The transport name, connection string or options are wrong. Raised before anything is touched."""


class InvalidQueueNameError(TransportConfigurationError):
    """A queue name the transport cannot represent. Raised before anything is created."""


class TransportDependencyError(TransportConfigurationError):
    """A Python library the transport needs is not installed on the host running the module.

    ``library`` is the pip name to report with ``missing_required_lib``; ``import_error`` is the
    traceback text of the failed import (or None).
    """

    def __init__(self, library, import_error=None, transport_type=None):
        self.library = library
        self.import_error = import_error
        super().__init__(
            "Transport %s needs the Python library '%s' on the host that runs the module; install it there."
            % (transport_type or "(unknown)", library)
        )


class Transport(abc.ABC):
    """Base class of every transport implementation.

    Lifecycle: construct (parses and validates the connection string; no I/O), then use as a context
    manager, which opens exactly one connection (or client) for the whole module call.

    Every method takes *logical* queue names (what ServiceControl settings and NServiceBus endpoints
    use: ``error``, ``error.log``, ``Particular.ServiceControl.staging``); the transport maps them to
    its physical representation exactly as NServiceBus / ServiceControl do.
    """

    #: ServiceControl TransportType name, set by open_transport().
    transport_type = None
    #: Transport-specific option names this transport accepts in ``options`` besides COMMON_OPTIONS.
    #: A non-None value for any other option is a configuration error (options default to None and
    #: each transport applies its own default).
    supported_options = frozenset()

    def __init__(self, transport_type, connection_string, variant=None, options=None):
        self.transport_type = transport_type
        self.variant = dict(variant or {})
        self.options = dict(options or {})
        allowed = set(self.supported_options) | COMMON_OPTIONS
        unknown = sorted(k for k, v in self.options.items() if v is not None and k not in allowed)
        if unknown:
            raise TransportConfigurationError(
                "Option(s) %s do not apply to transport %s; it accepts: %s."
                % (", ".join(unknown), transport_type, ", ".join(sorted(allowed)))
            )
        self.connection_string = connection_string

    # -- naming (pure, no I/O) ------------------------------------------------------------------
    @abc.abstractmethod
    def physical_name(self, name):
        """Return the physical name for a logical queue name, or raise InvalidQueueNameError."""

    def validate_names(self, names):
        """Check every name before anything is touched; return {logical: physical}.

        Raises InvalidQueueNameError naming every bad queue at once, so a multi-queue call never
        leaves a half-made set because of validation. Also rejects two logical names that map to the
        same physical queue (e.g. ``error.log`` and ``error-log`` on SQS).
        """
        physical, problems, seen = {}, [], {}
        for name in names:
            try:
                physical[name] = self.physical_name(name)
            except InvalidQueueNameError as exc:
                problems.append(str(exc))
                continue
            other = seen.get(self.physical_key(physical[name]))
            if other is not None and other != name:
                problems.append(
                    "Queues '%s' and '%s' both map to the physical queue '%s' on %s; use names that differ "
                    "after the transport's name rules." % (other, name, physical[name], self.transport_type)
                )
            seen[self.physical_key(physical[name])] = name
        if problems:
            raise InvalidQueueNameError(" ".join(problems))
        return physical

    def physical_key(self, physical):
        """How the transport compares physical names (override for case-insensitive transports)."""
        return physical

    # -- I/O: one connection for the whole call ---------------------------------------------------
    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def open(self):
        """Open the single connection/client used by every call below."""

    def close(self):
        """Release the connection."""

    @abc.abstractmethod
    def describe(self, name):
        """Return the state of one queue as a dict.

        Keys: ``name`` (logical), ``physical_name``, ``exists`` (bool), ``depth`` (int, or None when the
        transport cannot tell), ``properties`` (dict of transport-specific facts that the ``ensure``
        comparison uses, e.g. RabbitMQ ``queue_type``/``durable``/``arguments``/``exchange``/``binding``).
        """

    @abc.abstractmethod
    def ensure(self, name, check_mode=False):
        """Make the queue exist exactly as NServiceBus / ServiceControl create it.

        Returns a dict: ``name``, ``physical_name``, ``action`` (``created``, ``existed`` or ``updated``),
        ``changed`` (bool), ``before`` and ``after`` (describe()-style dicts for --diff) and ``commands``
        (the native operations performed, or that would be performed in check mode; no secrets).
        An existing queue whose immutable properties differ raises TransportError naming the property,
        both values and what to do.
        """

    @abc.abstractmethod
    def delete(self, name, check_mode=False):
        """Remove the queue (and what ensure() created with it). Same return shape as ensure(),
        with ``action`` ``deleted`` or ``absent``."""

    @abc.abstractmethod
    def depth(self, name):
        """Number of messages waiting in the queue (int), or None if the transport cannot tell."""


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

    def ensure(self, name, check_mode=False):
        address = self._address(name)
        before = self.describe(name)
        result = {"name": name, "physical_name": before["physical_name"], "before": before, "commands": []}
        if before["exists"]:
            self._check_shape(before)
            result.update(action="existed", changed=False, after=before)
            return result
        if not self._schema_exists(address):
            schema = self._quote(address[-2])
            raise TransportError(
                "Schema %s does not exist in database %s, so queue %s cannot be created. Create the schema "
                "(CREATE SCHEMA %s) or set Queue Schema= in the connection string to an existing schema."
                % (schema, self._database_label(address), name, schema)
            )
        statement = self._create_sql(address)
        result["commands"].append(statement)
        if check_mode:
            after = dict(before, exists=True, depth=0, properties=self._expected_properties(address))
        else:
            self._execute(statement, "create queue table %s" % before["physical_name"])
            after = self.describe(name)
            self._check_shape(after)
        result.update(action="created", changed=True, after=after)
        return result

    def delete(self, name, check_mode=False):
        address = self._address(name)
        before = self.describe(name)
        result = {"name": name, "physical_name": before["physical_name"], "before": before, "commands": []}
        if not before["exists"]:
            result.update(action="absent", changed=False, after=before)
            return result
        # Never drop a table that is not a queue table just because its name matches.
        self._check_shape(before)
        statement = self._drop_sql(address)
        result["commands"].append(statement)
        if not check_mode:
            self._execute(statement, "drop queue table %s" % before["physical_name"])
        after = dict(before, exists=False, depth=None, properties=self._address_properties(address))
        result.update(action="deleted", changed=True, after=after)
        return result


def absent_state(name, physical):
    """describe() of a queue that does not exist."""
    return {"name": name, "physical_name": physical, "exists": False, "depth": None, "properties": {}}


def operation_result(action, before, after, commands, notes=None):
    """The ensure()/delete() result: before/after are describe()-shaped, commands the native operations."""
    return {
        "name": before["name"],
        "physical_name": before["physical_name"],
        "action": action,
        "changed": action in ("created", "updated", "deleted"),
        "before": before,
        "after": after,
        "commands": commands,
        "notes": list(notes or []),
    }


def family_of(transport_type):
    """Return (family, variant) for a ServiceControl TransportType name, or raise a clear error."""
    try:
        return TRANSPORT_TYPES[transport_type]
    except KeyError:
        close = [t for t in TRANSPORT_TYPES if t.lower() == str(transport_type).lower()]
        hint = " Did you mean '%s'?" % close[0] if close else ""
        raise TransportConfigurationError(
            "Unknown transport '%s'.%s Use one of ServiceControl's TransportType names: %s."
            % (transport_type, hint, ", ".join(sorted(TRANSPORT_TYPES)))
        ) from None


def open_transport(transport_type, connection_string, options=None):
    """Build the Transport for a TransportType name. Imports only that transport's file.

    The imports are written out one by one (not computed) so that Ansible's module packager sees them.
    """
    family, variant = family_of(transport_type)
    # pylint: disable=import-outside-toplevel
    if family == "rabbitmq":
        from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_rabbitmq import (
            RabbitMQTransport as implementation,
        )
    elif family == "sqlserver":
        from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_sqlserver import (
            SqlServerTransport as implementation,
        )
    elif family == "postgresql":
        from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_postgresql import (
            PostgreSqlTransport as implementation,
        )
    elif family == "azureservicebus":
        from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_azureservicebus import (
            AzureServiceBusTransport as implementation,
        )
    elif family == "amazonsqs":
        from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_amazonsqs import (
            AmazonSqsTransport as implementation,
        )
    elif family == "azurestoragequeue":
        from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_azurestoragequeue import (
            AzureStorageQueueTransport as implementation,
        )
    elif family == "msmq":
        from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_msmq import (
            MsmqTransport as implementation,
        )
    else:
        from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_learning import (
            LearningTransport as implementation,
        )
    return implementation(transport_type, connection_string, variant=variant, options=options)


# -- connection strings ------------------------------------------------------------------------------

_KEY_VALUE_SPLIT = re.compile(r";(?=(?:[^\"']*[\"'][^\"']*[\"'])*[^\"']*$)")


def parse_key_value_connection_string(connection_string, transport_type):
    """Parse an ADO.NET-style ``Key=Value;Key2=Value2`` string (quotes allowed around values).

    Returns {lower-cased key: value}. Raises TransportConfigurationError naming the transport and the
    position of a malformed part, never echoing the string itself (it may hold a password).
    """
    result = {}
    if connection_string is None or not str(connection_string).strip():
        raise TransportConfigurationError("Transport %s needs a connection string; none was given." % transport_type)
    for index, part in enumerate(_KEY_VALUE_SPLIT.split(str(connection_string)), start=1):
        if not part.strip():
            continue
        if "=" not in part:
            raise TransportConfigurationError(
                "The connection string for %s is malformed: part %d has no 'Key=Value' form. "
                "Write it as ServiceControl expects, e.g. %s."
                % (transport_type, index, SAMPLE_CONNECTION_STRINGS.get(transport_type, "Key=Value;Key2=Value2"))
            )
        key, value = part.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        result[key.strip().lower()] = value
    return result


#: ServiceControl's sample connection strings (transport manifests), used in error messages.
SAMPLE_CONNECTION_STRINGS = {
    "RabbitMQ.QuorumConventionalRouting": "host=<HOST>;username=<USERNAME>;password=<PASSWORD>",
    "RabbitMQ.ClassicConventionalRouting": "host=<HOST>;username=<USERNAME>;password=<PASSWORD>",
    "RabbitMQ.QuorumDirectRouting": "host=<HOST>;username=<USERNAME>;password=<PASSWORD>",
    "RabbitMQ.ClassicDirectRouting": "host=<HOST>;username=<USERNAME>;password=<PASSWORD>",
    "SQLServer": "Data Source=<SERVER>;Initial Catalog=<DATABASE>;Integrated Security=True;Queue Schema=dbo",
    "PostgreSQL": "Server=<SERVER>;Port=5432;Database=<DATABASE>;User Id=<USER>;Password=<PASSWORD>",
    "NetStandardAzureServiceBus": "Endpoint=sb://<NAMESPACE>.servicebus.windows.net/;SharedAccessKeyName=<KEYNAME>;"
    "SharedAccessKey=<KEY>",
    "AmazonSQS": "Region=<REGION>;QueueNamePrefix=<PREFIX>",
    "AzureStorageQueue": "DefaultEndpointsProtocol=https;AccountName=<ACCOUNT>;AccountKey=<KEY>",
    "MSMQ": "(none)",
    "LearningTransport": "C:\\ProgramData\\ServiceControl\\.learningtransport",
}


# -- module glue: the options every transport module shares -------------------------------------------

#: Transport-specific module options -> the transport family that accepts them. They all default to None
#: so that each transport applies its own default and rejects the options of other transports.
TRANSPORT_SPECIFIC_OPTIONS = {
    "rabbitmq_delivery_limit_policy": ("rabbitmq", dict(type="bool")),
    "sqs_message_retention_period": ("amazonsqs", dict(type="int")),
    "sqs_endpoint_url": ("amazonsqs", dict(type="str")),
    "azure_service_bus_max_size_in_megabytes": ("azureservicebus", dict(type="int")),
    "azure_service_bus_enable_partitioning": ("azureservicebus", dict(type="bool")),
    "azure_service_bus_max_delivery_count": ("azureservicebus", dict(type="int")),
}

#: Default for the ``timeout`` option (seconds), applied to every network call of one module run.
DEFAULT_TIMEOUT = 30


def transport_argument_spec():
    """Argument spec of the ``servicecontrol.platform.transport`` doc fragment (a fresh dict each call)."""
    spec = dict(
        transport=dict(type="str", required=True, choices=sorted(TRANSPORT_TYPES)),
        connection_string=dict(type="str", no_log=True),
        timeout=dict(type="int", default=DEFAULT_TIMEOUT),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
    )
    for name, (_family, option_spec) in TRANSPORT_SPECIFIC_OPTIONS.items():
        spec[name] = dict(option_spec)
    return spec


def transport_options_from_params(params):
    """The ``options`` dict for open_transport(): common options plus the transport-specific ones given."""
    options = {name: params.get(name) for name in sorted(COMMON_OPTIONS)}
    for name in TRANSPORT_SPECIFIC_OPTIONS:
        if params.get(name) is not None:
            options[name] = params[name]
    return options


def fail_on_transport_error(module, exc, **result):
    """fail_json for a TransportError: missing libraries through missing_required_lib, others verbatim."""
    if isinstance(exc, TransportDependencyError):
        module.fail_json(msg=missing_required_lib(exc.library), exception=exc.import_error, **result)
    module.fail_json(msg=str(exc), **result)


def open_transport_from_module(module):
    """open_transport() from an AnsibleModule's parameters; fails the module with a clear message on bad input.

    The transport is only constructed (connection string parsed, options checked); no I/O happens
    until it is used as a context manager.
    """
    params = module.params
    try:
        return open_transport(
            params["transport"], params.get("connection_string"), transport_options_from_params(params)
        )
    except TransportError as exc:
        fail_on_transport_error(module, exc)
