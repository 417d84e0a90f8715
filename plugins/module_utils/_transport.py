# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""The one interface every ServiceControl transport implements, and the registry that picks one.

The interface: ``ensure``, ``delete``, ``describe``, ``depth`` for queues and ``send`` for one message.

A transport is named with ServiceControl's own TransportType value (``RabbitMQ.QuorumConventionalRouting``,
``SQLServer``, ``LearningTransport``, ...) and configured with a connection string in ServiceControl's
format for that transport, so the same pair describes both the queues and the instances.

Each transport family lives in its own file, ``_transport_<family>.py``, and is imported only when it
is used (``open_transport``), so a run against RabbitMQ never imports boto3 or the Azure SDKs.
"""

from __future__ import annotations

import abc

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.servicecontrol.platform.plugins.module_utils._connection_string import (
    ConnectionStringError,
    parse_connection_string,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._options import (
    TLS_OPTIONS,
    checked_timeout,
    timeout_argument_spec,
    tls_argument_spec,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._redact import Redactor
from ansible_collections.servicecontrol.platform.plugins.module_utils._tls import TlsConfigurationError, TlsSettings

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
COMMON_OPTIONS = frozenset(("timeout", *TLS_OPTIONS))


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
        try:
            #: Seconds for every network call (float), and the checked TLS options.
            self.timeout = checked_timeout(self.options.get("timeout"))
            self.tls = TlsSettings.from_options(self.options)
        except (ValueError, TlsConfigurationError) as exc:
            raise TransportConfigurationError("Transport %s: %s." % (transport_type, exc)) from None
        #: Masks the connection string's secrets in every message; subclasses add what they parse.
        self.redactor = Redactor()

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

    #: The one connection or SDK client of the module call; open() sets it, close() releases it.
    client = None

    def open(self):
        """Open the single connection/client used by every call below (and set ``self.client``)."""

    def close(self):
        """Release the connection."""
        if self.client is not None:
            self.client.close()
            self.client = None

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

    @abc.abstractmethod
    def send(self, name, message, check_mode=False):
        """Put one message into an existing queue in the transport's native format, as NServiceBus sends it.

        ``message`` is a ``_messages.Message`` (NServiceBus message id, headers, body bytes). The queue must exist
        (a missing one raises ``missing_queue_error``, in check mode too); nothing is created. Check mode reads
        but sends nothing. Returns ``_results.send_result``: ``commands`` name the native operation (performed, or
        that check mode would perform; no secrets) and ``native_message_id`` the transport's own id once sent.
        """

    def missing_queue_error(self, name, physical):
        """The one error for sending to a queue that does not exist."""
        return TransportError(
            "Queue '%s' (%s) does not exist on %s, so nothing was sent. Create it first "
            "(servicecontrol.platform.queue) or check the queue name." % (name, physical, self.transport_type)
        )


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


def parse_transport_connection_string(connection_string, transport_type):
    """The ConnectionString of a ``Key=Value`` transport connection string (ServiceControl's rules).

    Raises TransportConfigurationError naming the transport and the position of a malformed part, never
    echoing the string itself (it may hold a password).
    """
    if connection_string is None or not str(connection_string).strip():
        raise TransportConfigurationError("Transport %s needs a connection string; none was given." % transport_type)
    sample = SAMPLE_CONNECTION_STRINGS.get(transport_type, "Key=Value;Key2=Value2")
    try:
        return parse_connection_string(connection_string, sample)
    except ConnectionStringError as exc:
        raise TransportConfigurationError(
            "The connection string for %s is malformed: %s." % (transport_type, exc)
        ) from None


def parse_key_value_connection_string(connection_string, transport_type):
    """{lower-cased key: value} of a ``Key=Value`` connection string; see parse_transport_connection_string()."""
    return parse_transport_connection_string(connection_string, transport_type).lowered()


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


def transport_options_for(transport_type):
    """The option names a TransportType accepts: the common ones plus its family's own."""
    family, _variant = family_of(transport_type)
    specific = {name for name, (owner, _spec) in TRANSPORT_SPECIFIC_OPTIONS.items() if owner == family}
    return frozenset(COMMON_OPTIONS | specific)


def transport_argument_spec():
    """Argument spec of the ``servicecontrol.platform.transport`` doc fragment (a fresh dict each call)."""
    spec = dict(
        transport=dict(type="str", required=True, choices=sorted(TRANSPORT_TYPES)),
        connection_string=dict(type="str", no_log=True),
        timeout=timeout_argument_spec(),
        **tls_argument_spec(),
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
