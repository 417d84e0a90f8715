# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""Azure Service Bus transport (ServiceControl TransportType ``NetStandardAzureServiceBus``).

Uses azure-servicebus's ``ServiceBusAdministrationClient``. Queues get the options the NServiceBus
transport builds for every queue (``BuildDefaultCreateQueueOptions``): 5120 MB, partitioning as configured
(default off), a 5-minute lock, an unlimited delivery count, batched operations on, and SDK defaults for
everything else. Names are used as they are, behind the optional ``HierarchyNamespace`` prefix.

A message is sent with the data-plane ``ServiceBusClient`` as the transport sends it (docs/reference/transports.md
§4.3): the body bytes, a new GUID as MessageId, every header as an application property, CorrelationId, ContentType and
ReplyTo from their headers, and the stack trace and exception message cut to the property size limit.
"""

from __future__ import annotations

import datetime
import re
import traceback
import uuid

from ansible_collections.servicecontrol.platform.plugins.module_utils._connection_string import (
    ConnectionString,
    ConnectionStringError,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._messages import Message
from ansible_collections.servicecontrol.platform.plugins.module_utils._results import (
    absent_state,
    operation_result,
    queue_state,
    send_result,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    Transport,
    TransportConfigurationError,
    TransportDependencyError,
    TransportError,
    parse_transport_connection_string,
)

try:
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ResourceExistsError,
        ResourceNotFoundError,
    )
    from azure.servicebus import ServiceBusClient, ServiceBusMessage, TransportType
    from azure.servicebus.management import ServiceBusAdministrationClient
except ImportError:
    HAS_AZURE_SERVICEBUS = False
    AZURE_SERVICEBUS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_AZURE_SERVICEBUS = True
    AZURE_SERVICEBUS_IMPORT_ERROR = None

try:
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
except ImportError:
    HAS_AZURE_IDENTITY = False
    AZURE_IDENTITY_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_AZURE_IDENTITY = True
    AZURE_IDENTITY_IMPORT_ERROR = None

#: NServiceBus transport defaults (AzureServiceBusTransport.BuildDefaultCreateQueueOptions).
DEFAULT_MAX_SIZE_IN_MEGABYTES = 5 * 1024
DEFAULT_MAX_DELIVERY_COUNT = 2147483647
#: The transport forces this delivery count when the connection string targets the emulator.
EMULATOR_MAX_DELIVERY_COUNT = 10
LOCK_DURATION = datetime.timedelta(minutes=5)
ENABLE_BATCHED_OPERATIONS = True
#: A partitioned queue on a Standard namespace has 16 partitions and reports 16 times the requested size.
STANDARD_PARTITION_COUNT = 16
RETRY_TOTAL = 2

#: The transport cuts these headers to fit Azure's property size limit (OutgoingMessageExtensions, ASB@6.4.3).
TRIMMED_HEADERS = ("NServiceBus.ExceptionInfo.StackTrace", "NServiceBus.ExceptionInfo.Message")
MAX_PROPERTY_UTF8_BYTES = 32767 - 2048

#: Keys understood by the Azure SDK, lower-cased -> canonical spelling.
SDK_KEYS = {
    "endpoint": "Endpoint",
    "sharedaccesskeyname": "SharedAccessKeyName",
    "sharedaccesskey": "SharedAccessKey",
    "sharedaccesssignature": "SharedAccessSignature",
    "usedevelopmentemulator": "UseDevelopmentEmulator",
}
#: Keys ServiceControl reads itself (ConnectionStringParser); they never reach the SDK.
SERVICECONTROL_KEYS = {
    "authentication": "Authentication",
    "clientid": "ClientId",
    "topicname": "TopicName",
    "enablepartitioning": "EnablePartitioning",
    "hierarchynamespace": "HierarchyNamespace",
    "transporttype": "TransportType",
    "queuelengthquerydelayinterval": "QueueLengthQueryDelayInterval",
}
MANAGED_IDENTITY = "Managed Identity"

# Azure's entity-name rule, as the NServiceBus transport validates it (EntityValidator): 1-260 characters,
# letters, digits, '.', '-', '_' and '/', starting and ending with a letter or digit.
_QUEUE_NAME = re.compile(r"^(?=.{1,260}$)[A-Za-z0-9](?:[A-Za-z0-9./_-]*[A-Za-z0-9])?$")
_HOST_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d+)?$")

#: Properties compared against the desired state; the rest are reported for information.
MUTABLE_PROPERTIES = ("lock_duration", "max_delivery_count", "enable_batched_operations", "max_size_in_megabytes")
IMMUTABLE_PROPERTIES = ("enable_partitioning", "requires_session", "requires_duplicate_detection")


def _parse_bool(value, key):
    """.NET bool.TryParse: 'true' or 'false' in any case, surrounding spaces allowed."""
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise TransportConfigurationError(
        "The NetStandardAzureServiceBus connection string has %s='%s'; use true or false." % (key, value)
    )


def iso8601_duration(delta):
    """Format a timedelta the way Azure shows durations, e.g. PT5M, PT1M30S, P1DT2H."""
    total = int(delta.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = "".join("%d%s" % (v, u) for v, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if v)
    text = "P" + ("%dD" % days if days else "") + ("T" + clock if clock else "")
    return text if text != "P" else "PT0S"


def parse_servicebus_connection_string(connection_string):
    """Parse ServiceControl's Azure Service Bus connection string.

    Returns a dict: ``authentication`` (``shared_access``, ``managed_identity`` or ``default_credential``),
    ``fully_qualified_namespace``, ``sdk_connection_string`` (shared access only: the string without
    ServiceControl's own keys), ``client_id``, ``topic_name``, ``enable_partitioning`` (None when absent),
    ``hierarchy_namespace``, ``use_development_emulator``.
    """
    if connection_string is None or not str(connection_string).strip():
        raise TransportConfigurationError(
            "Transport NetStandardAzureServiceBus needs a connection string (Endpoint=sb://<NAMESPACE>.servicebus."
            "windows.net/;SharedAccessKeyName=<KEYNAME>;SharedAccessKey=<KEY>, or a fully-qualified namespace); "
            "none was given."
        )
    text = str(connection_string).strip()
    settings = {
        "authentication": "default_credential",
        "fully_qualified_namespace": None,
        "sdk_connection_string": None,
        "client_id": None,
        "topic_name": None,
        "enable_partitioning": None,
        "hierarchy_namespace": None,
        "use_development_emulator": False,
        "amqp_websockets": False,
    }
    if "=" not in text:
        settings["fully_qualified_namespace"] = _bare_namespace(text)
        return settings

    pairs = parse_transport_connection_string(text, "NetStandardAzureServiceBus")
    settings["secrets"] = pairs.secrets()
    parsed = pairs.lowered()
    unknown = sorted(key for key in parsed if key not in SDK_KEYS and key not in SERVICECONTROL_KEYS)
    if unknown:
        raise TransportConfigurationError(
            "The NetStandardAzureServiceBus connection string has unknown key(s): %s. Accepted keys: %s."
            % (", ".join(unknown), ", ".join(list(SDK_KEYS.values()) + list(SERVICECONTROL_KEYS.values())))
        )
    settings["fully_qualified_namespace"] = _endpoint_host(parsed.get("endpoint", "").strip())
    settings["use_development_emulator"] = parsed.get("usedevelopmentemulator", "").strip().lower() == "true"
    settings["topic_name"] = parsed.get("topicname")
    settings["hierarchy_namespace"] = (parsed.get("hierarchynamespace") or "").strip() or None
    settings["client_id"] = parsed.get("clientid") or None
    # ServiceControl's TransportType=AmqpWebSockets: AMQP over port 443 for the data plane.
    settings["amqp_websockets"] = parsed.get("transporttype", "").strip().lower() == "amqpwebsockets"
    if "enablepartitioning" in parsed:
        settings["enable_partitioning"] = _parse_bool(parsed["enablepartitioning"], "EnablePartitioning")
    if "queuelengthquerydelayinterval" in parsed and not re.match(
        r"^\s*[+-]?\d+\s*$", parsed["queuelengthquerydelayinterval"]
    ):
        raise TransportConfigurationError(
            "The NetStandardAzureServiceBus connection string has QueueLengthQueryDelayInterval='%s'; ServiceControl "
            "needs a whole number of milliseconds." % parsed["queuelengthquerydelayinterval"]
        )
    settings["authentication"] = _authentication(parsed)
    if settings["authentication"] == "shared_access":
        # Only the SDK's own keys: ServiceControl's extras would confuse (or be rejected by) the SDK.
        sdk = ConnectionString((SDK_KEYS[key], value) for key, value in parsed.items() if key in SDK_KEYS)
        try:
            settings["sdk_connection_string"] = sdk.sdk_string("the Azure Service Bus SDK")
        except ConnectionStringError as exc:
            raise TransportConfigurationError(
                "The NetStandardAzureServiceBus connection string is not usable: %s." % exc
            ) from None
    return settings


def _bare_namespace(text):
    """A connection string that is only a fully-qualified namespace (Azure token credentials)."""
    if "sb://" in text:
        raise TransportConfigurationError(
            "When the NetStandardAzureServiceBus connection string is a fully-qualified namespace, the 'sb://' "
            "prefix is not allowed; write <NAMESPACE>.servicebus.windows.net."
        )
    if text.endswith("/"):
        raise TransportConfigurationError(
            "When the NetStandardAzureServiceBus connection string is a fully-qualified namespace, a trailing "
            "'/' is not allowed; write <NAMESPACE>.servicebus.windows.net."
        )
    if not _HOST_NAME.match(text):
        raise TransportConfigurationError(
            "The NetStandardAzureServiceBus connection string is neither Key=Value pairs nor a fully-qualified "
            "namespace such as <NAMESPACE>.servicebus.windows.net."
        )
    return text


def _endpoint_host(endpoint):
    if not endpoint:
        raise TransportConfigurationError(
            "The NetStandardAzureServiceBus connection string has no Endpoint; ServiceControl requires "
            "Endpoint=sb://<NAMESPACE>.servicebus.windows.net/."
        )
    host = (endpoint.split("://", 1)[1] if "://" in endpoint else endpoint).rstrip("/")
    if not _HOST_NAME.match(host):
        raise TransportConfigurationError(
            "The NetStandardAzureServiceBus connection string has Endpoint '%s', which is not of the form "
            "sb://<NAMESPACE>.servicebus.windows.net/." % endpoint
        )
    return host


def _authentication(parsed):
    """How ServiceControl authenticates with this Key=Value connection string (ConnectionStringParser)."""
    authentication = parsed.get("authentication")
    if authentication is not None:
        if authentication.strip().lower() != MANAGED_IDENTITY.lower():
            raise TransportConfigurationError(
                "The NetStandardAzureServiceBus connection string has Authentication='%s'; ServiceControl only "
                "knows Authentication=%s. Remove the key to authenticate with SharedAccessKeyName/SharedAccessKey."
                % (authentication, MANAGED_IDENTITY)
            )
        return "managed_identity"
    if parsed.get("clientid"):
        raise TransportConfigurationError(
            "The NetStandardAzureServiceBus connection string has ClientId, which ServiceControl only allows with "
            "Authentication=%s." % MANAGED_IDENTITY
        )
    has_key = bool(parsed.get("sharedaccesskeyname")) and bool(parsed.get("sharedaccesskey"))
    has_signature = bool(parsed.get("sharedaccesssignature"))
    if has_key == has_signature:
        raise TransportConfigurationError(
            "The NetStandardAzureServiceBus connection string needs either SharedAccessKeyName and SharedAccessKey, "
            "or SharedAccessSignature (or Authentication=%s, or just the fully-qualified namespace for Azure token "
            "credentials)." % MANAGED_IDENTITY
        )
    return "shared_access"


def trimmed_headers(headers):
    """The headers as the transport sends them: the stack trace and exception message cut to 30719 UTF-8 bytes,
    never inside a character (TrimTooLongKnownHeadersInPlace)."""
    result = dict(headers)
    for key in TRIMMED_HEADERS:
        encoded = result.get(key, "").encode("utf-8")
        if len(encoded) > MAX_PROPERTY_UTF8_BYTES:
            result[key] = encoded[:MAX_PROPERTY_UTF8_BYTES].decode("utf-8", "ignore")
    return result


def message_fields(message, native_id):
    """The ServiceBusMessage keyword arguments of ToAzureServiceBusMessage: the body, a new GUID as MessageId (not the
    NServiceBus id, so native duplicate detection never collides), every header as an application property, and
    CorrelationId, ContentType and ReplyTo copied from their headers."""
    headers = trimmed_headers(message.headers)
    fields = {"body": message.body, "message_id": native_id, "application_properties": headers}
    for header, field in (
        ("NServiceBus.CorrelationId", "correlation_id"),
        ("NServiceBus.ContentType", "content_type"),
        ("NServiceBus.ReplyToAddress", "reply_to"),
    ):
        if header in headers:
            fields[field] = headers[header]
    return fields


def _positive_int(value, option, minimum, maximum):
    if isinstance(value, bool):
        value = None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or str(number) != str(value).strip() or not minimum <= number <= maximum:
        raise TransportConfigurationError(
            "%s must be a whole number from %d to %d; got '%s'." % (option, minimum, maximum, value)
        )
    return number


class AzureServiceBusTransport(Transport):
    """ServiceControl's ``NetStandardAzureServiceBus`` transport."""

    supported_options = frozenset(
        (
            "azure_service_bus_max_size_in_megabytes",
            "azure_service_bus_enable_partitioning",
            "azure_service_bus_max_delivery_count",
        )
    )

    def __init__(self, transport_type, connection_string, variant=None, options=None):
        super().__init__(transport_type, connection_string, variant=variant, options=options)
        self.settings = parse_servicebus_connection_string(connection_string)
        self.redactor.add(*self.settings.get("secrets", ()))
        self.desired = self._desired_properties()

    def _desired_properties(self):
        size = self.options.get("azure_service_bus_max_size_in_megabytes")
        size = DEFAULT_MAX_SIZE_IN_MEGABYTES if size is None else size
        size = _positive_int(size, "azure_service_bus_max_size_in_megabytes", 1024, 100 * 1024)
        if size % 1024:
            raise TransportConfigurationError(
                "azure_service_bus_max_size_in_megabytes is %d; NServiceBus sizes queues in whole gigabytes "
                "(EntityMaximumSize x 1024), so use a multiple of 1024 such as 5120." % size
            )
        delivery = self.options.get("azure_service_bus_max_delivery_count")
        if delivery is None:
            delivery = (
                EMULATOR_MAX_DELIVERY_COUNT if self.settings["use_development_emulator"] else DEFAULT_MAX_DELIVERY_COUNT
            )
        delivery = _positive_int(delivery, "azure_service_bus_max_delivery_count", 1, DEFAULT_MAX_DELIVERY_COUNT)
        partitioning = self.options.get("azure_service_bus_enable_partitioning")
        if partitioning is None:
            partitioning = bool(self.settings["enable_partitioning"])
        elif not isinstance(partitioning, bool):
            raise TransportConfigurationError(
                "azure_service_bus_enable_partitioning must be true or false; got '%s'." % (partitioning,)
            )
        return {
            "max_size_in_megabytes": size,
            "enable_partitioning": partitioning,
            "lock_duration": iso8601_duration(LOCK_DURATION),
            "max_delivery_count": delivery,
            "enable_batched_operations": ENABLE_BATCHED_OPERATIONS,
        }

    # -- naming --------------------------------------------------------------------------------------
    def physical_name(self, name):
        if name is None or not str(name).strip():
            raise InvalidQueueNameError("An Azure Service Bus queue name must not be empty.")
        name = str(name)
        physical = name
        namespace = self.settings["hierarchy_namespace"]
        if namespace:
            prefix = namespace if namespace.endswith("/") else namespace + "/"
            physical = name if name.startswith(prefix) else prefix + name
        if not _QUEUE_NAME.match(physical):
            raise InvalidQueueNameError(
                "Queue '%s' maps to the Azure Service Bus entity '%s', which Azure rejects: entity paths are 1 to 260 "
                "characters of letters, digits, '.', '-', '_' and '/', and start and end with a letter or digit. "
                "Choose a different queue name%s." % (name, physical, " or HierarchyNamespace" if namespace else "")
            )
        return physical

    def physical_key(self, physical):
        # Service Bus entity names are case-insensitive.
        return physical.lower()

    # -- connection ----------------------------------------------------------------------------------
    def open(self):
        if not HAS_AZURE_SERVICEBUS:
            raise TransportDependencyError("azure-servicebus", AZURE_SERVICEBUS_IMPORT_ERROR, self.transport_type)
        client_options = {
            "retry_total": RETRY_TOTAL,
            "retry_backoff_factor": 0.5,
            "connection_timeout": self.timeout,
            "read_timeout": self.timeout,
            "connection_verify": self.tls.requests_verify(),
            "connection_cert": self.tls.requests_cert(),
        }
        try:
            if self.settings["authentication"] == "shared_access":
                self.client = ServiceBusAdministrationClient.from_connection_string(
                    self.settings["sdk_connection_string"], **client_options
                )
            else:
                self.client = ServiceBusAdministrationClient(
                    self.settings["fully_qualified_namespace"], self._token_credential(), **client_options
                )
        except (ValueError, AzureError) as exc:
            raise TransportConfigurationError(
                "Could not set up the Azure Service Bus administration client from the connection string: %s"
                % self.redactor(str(exc))
            ) from None

    def _token_credential(self):
        if not HAS_AZURE_IDENTITY:
            # Managed identity and bare namespaces need token credentials from azure-identity.
            raise TransportDependencyError("azure-identity", AZURE_IDENTITY_IMPORT_ERROR, self.transport_type)
        if self.settings["authentication"] == "managed_identity":
            return ManagedIdentityCredential(client_id=self.settings["client_id"])
        return DefaultAzureCredential()

    # -- queue operations ----------------------------------------------------------------------------
    def describe(self, name):
        physical = self.physical_name(name)
        queue = self._get_queue(physical)
        if queue is None:
            return absent_state(name, physical)
        runtime = self._call("get_queue_runtime_properties", physical, self._client().get_queue_runtime_properties)
        return queue_state(
            name,
            physical,
            exists=True,
            depth=runtime.active_message_count,
            properties=dict(
                _queue_properties(queue),
                dead_letter_message_count=runtime.dead_letter_message_count,
                scheduled_message_count=runtime.scheduled_message_count,
            ),
        )

    def ensure(self, name, check_mode=False):
        before = self.describe(name)
        physical = before["physical_name"]
        if not before["exists"]:
            create_options = self._create_options()
            if not check_mode:
                try:
                    self._client().create_queue(physical, **create_options)
                except ResourceExistsError:
                    pass  # created concurrently; the transport ignores MessagingEntityAlreadyExists too
                except AzureError as exc:
                    raise self._error("create_queue", physical, exc) from None
            after = queue_state(
                name,
                physical,
                exists=True,
                depth=0,
                properties=dict(
                    self.desired,
                    requires_session=False,
                    requires_duplicate_detection=False,
                    dead_letter_message_count=0,
                    scheduled_message_count=0,
                ),
            )
            return operation_result("created", before, after, [_command("create_queue", physical, self.desired)])

        current = before["properties"]
        self._check_immutable(name, physical, current)
        changes = {
            key: self.desired[key]
            for key in MUTABLE_PROPERTIES
            if not self._matches(key, current.get(key), current.get("enable_partitioning"))
        }
        if not changes:
            return operation_result("existed", before, before, [])
        if not check_mode:
            queue = self._get_queue(physical, must_exist=True)
            for key, value in changes.items():
                setattr(queue, key, LOCK_DURATION if key == "lock_duration" else value)
            try:
                self._client().update_queue(queue)
            except AzureError as exc:
                raise self._error("update_queue", physical, exc) from None
        after = dict(before, properties=dict(current, **changes))
        return operation_result("updated", before, after, [_command("update_queue", physical, changes)])

    def delete(self, name, check_mode=False):
        before = self.describe(name)
        physical = before["physical_name"]
        if not before["exists"]:
            return operation_result("absent", before, before, [])
        if not check_mode:
            try:
                self._client().delete_queue(physical)
            except ResourceNotFoundError:
                pass
            except AzureError as exc:
                raise self._error("delete_queue", physical, exc) from None
        return operation_result("deleted", before, absent_state(name, physical), ["delete_queue %s" % physical])

    def depth(self, name):
        physical = self.physical_name(name)
        if self._get_queue(physical) is None:
            return None
        runtime = self._call("get_queue_runtime_properties", physical, self._client().get_queue_runtime_properties)
        return runtime.active_message_count

    def send(self, name, message, check_mode=False):
        physical = self.physical_name(name)
        if self._get_queue(physical) is None:
            raise self.missing_queue_error(name, physical)
        native_id = None if check_mode else str(uuid.uuid4())
        fields = message_fields(message, native_id)
        sent = Message(message.message_id, fields["application_properties"], message.body)
        command = "send_messages %s MessageId=%s (%d application properties, %d bytes)" % (
            physical,
            native_id or "<new GUID>",
            len(fields["application_properties"]),
            len(message.body),
        )
        if not check_mode:
            try:
                with self._sender_client() as client, client.get_queue_sender(physical) as sender:
                    sender.send_messages(ServiceBusMessage(**fields))
            except AzureError as exc:
                raise self._error("send_messages", physical, exc) from None
        return send_result(name, physical, sent, native_message_id=native_id, commands=[command])

    def _sender_client(self):
        """The data-plane client (AMQP, or AMQP over WebSockets), made for the one send."""
        options = {"retry_total": RETRY_TOTAL, "retry_backoff_factor": 0.5}
        if self.settings["amqp_websockets"]:
            options["transport_type"] = TransportType.AmqpOverWebsocket
        try:
            if self.settings["authentication"] == "shared_access":
                return ServiceBusClient.from_connection_string(self.settings["sdk_connection_string"], **options)
            return ServiceBusClient(self.settings["fully_qualified_namespace"], self._token_credential(), **options)
        except (ValueError, AzureError) as exc:
            raise TransportConfigurationError(
                "Could not set up the Azure Service Bus client from the connection string: %s" % self.redactor(str(exc))
            ) from None

    # -- helpers -------------------------------------------------------------------------------------
    def _create_options(self):
        """Keyword arguments for create_queue: exactly the transport's CreateQueueOptions that differ from SDK
        defaults; everything else is left to the SDK."""
        return {
            "max_size_in_megabytes": self.desired["max_size_in_megabytes"],
            "enable_partitioning": self.desired["enable_partitioning"],
            "lock_duration": LOCK_DURATION,
            "max_delivery_count": self.desired["max_delivery_count"],
            "enable_batched_operations": ENABLE_BATCHED_OPERATIONS,
        }

    def _matches(self, key, actual, partitioned):
        desired = self.desired[key]
        if key == "max_size_in_megabytes" and partitioned:
            return actual in (desired, desired * STANDARD_PARTITION_COUNT)
        return actual == desired

    def _check_immutable(self, name, physical, current):
        wanted = {"enable_partitioning": self.desired["enable_partitioning"]}
        wanted.update(requires_session=False, requires_duplicate_detection=False)
        for key in IMMUTABLE_PROPERTIES:
            if current.get(key) is not None and current.get(key) != wanted[key]:
                if key == "enable_partitioning":
                    remedy = (
                        "Set EnablePartitioning in the connection string (or azure_service_bus_enable_partitioning) "
                        "to match the queue, or drain and delete the queue and run again to recreate it"
                    )
                else:
                    remedy = "NServiceBus never sets it; drain and delete the queue and run again to recreate it"
                raise TransportError(
                    "Azure Service Bus queue '%s' (for '%s') has %s=%s, but ServiceControl's transport needs "
                    "%s=%s, and Azure cannot change %s on an existing queue. %s (deleting loses its messages)."
                    % (
                        physical,
                        name,
                        key,
                        _bool_text(current.get(key)),
                        key,
                        _bool_text(wanted[key]),
                        key,
                        remedy,
                    )
                )

    def _client(self):
        if self.client is None:
            raise TransportError("The Azure Service Bus transport is not open; use it as a context manager.")
        return self.client

    def _get_queue(self, physical, must_exist=False):
        try:
            return self._client().get_queue(physical)
        except ResourceNotFoundError:
            if must_exist:
                raise TransportError(
                    "Azure Service Bus queue '%s' disappeared while it was being updated; run again." % physical
                ) from None
            return None
        except AzureError as exc:
            raise self._error("get_queue", physical, exc) from None

    def _call(self, operation, physical, method):
        try:
            return method(physical)
        except AzureError as exc:
            raise self._error(operation, physical, exc) from None

    def _error(self, operation, physical, exc):
        if isinstance(exc, ClientAuthenticationError) or getattr(exc, "status_code", None) in (401, 403):
            detail = "access denied (HTTP %s); the credentials need the 'Manage' right on the namespace" % (
                getattr(exc, "status_code", None) or 401
            )
        elif isinstance(exc, HttpResponseError) and getattr(exc, "status_code", None):
            detail = "HTTP %s %s" % (exc.status_code, exc.reason or "")
        else:
            detail = "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "no detail")
        return TransportError(
            "Azure Service Bus %s for queue '%s' failed: %s." % (operation, physical, self.redactor(detail).strip())
        )


def _queue_properties(queue):
    lock = queue.lock_duration
    if isinstance(lock, datetime.timedelta):
        lock = iso8601_duration(lock)
    return {
        "max_size_in_megabytes": queue.max_size_in_megabytes,
        "enable_partitioning": queue.enable_partitioning,
        "lock_duration": lock,
        "max_delivery_count": queue.max_delivery_count,
        "enable_batched_operations": queue.enable_batched_operations,
        "requires_session": queue.requires_session,
        "requires_duplicate_detection": queue.requires_duplicate_detection,
    }


def _bool_text(value):
    return str(value).lower() if isinstance(value, bool) else str(value)


def _command(operation, physical, properties):
    return "%s %s %s" % (
        operation,
        physical,
        " ".join("%s=%s" % (key, _bool_text(value)) for key, value in properties.items()),
    )
