# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""Azure Storage Queues transport (ServiceControl TransportType ``AzureStorageQueue``), on azure-storage-queue.

ServiceControl registers its ``BackwardsCompatibleQueueNameSanitizer`` with the transport, so queue
names are lower-cased, characters Azure does not accept become ``-``, and names longer than 63
characters are shortened with an MD5-derived GUID. Queues are created with CreateIfNotExists semantics
and no metadata, exactly as the transport does.

A message is the base64 of the JSON MessageWrapper the transport writes with ServiceControl's System.Text.Json wrapper
serializer, kept for 30 days (docs/reference/transports.md §6.3).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import traceback
import uuid

from ansible_collections.servicecontrol.platform.plugins.module_utils._connection_string import ConnectionStringError
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
    from azure.storage.queue import LinearRetry, QueueServiceClient
except ImportError:
    HAS_AZURE_STORAGE_QUEUE = False
    AZURE_STORAGE_QUEUE_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_AZURE_STORAGE_QUEUE = True
    AZURE_STORAGE_QUEUE_IMPORT_ERROR = None

MAX_QUEUE_NAME_LENGTH = 63
MIN_QUEUE_NAME_LENGTH = 3
GUID_STRING_LENGTH = 36
#: Few, quick retries (1 s apart): the SDK default (exponential from 15 s) takes about 87 s against a dead endpoint.
RETRY_TOTAL = 2

#: NServiceBus's MessageIntent values (NSB@10.2.7 MessageIntent.cs), written as numbers by System.Text.Json.
MESSAGE_INTENTS = {"send": 1, "publish": 2, "subscribe": 3, "unsubscribe": 4, "reply": 5}
#: The dispatcher's time to live without a time-to-be-received (CloudQueueMessageMaxTimeToLive).
MESSAGE_TIME_TO_LIVE = 30 * 24 * 3600
#: An Azure Storage queue message holds at most 64 KiB of text.
MAX_MESSAGE_TEXT = 64 * 1024

#: ServiceControl's own connection-string key (the subscription table); the storage SDK must not see it.
SUBSCRIPTIONS_TABLE_KEY = "subscriptions table"

_INVALID_CHARACTERS = re.compile(r"[^a-zA-Z0-9-]")
_DASH_RUNS = re.compile(r"-+")
_AZURE_QUEUE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$")


def _lower_invariant(text):
    """.NET ToLowerInvariant: simple one-to-one case mapping (Python's lower() expands U+0130 to two chars)."""
    return "".join("i" if char == "\u0130" else char.lower() for char in text)


def _dotnet_guid_string(digest):
    """A 16-byte digest formatted like .NET ``new Guid(bytes).ToString()`` (first three fields little-endian)."""
    return str(uuid.UUID(bytes_le=digest))


def sanitize_queue_name(address):
    """ServiceControl's BackwardsCompatibleQueueNameSanitizer.Sanitize for Azure Storage Queues.

    Lower-case; every character outside ``[a-zA-Z0-9-]`` becomes ``-``; runs of ``-`` collapse to one.
    When the result is longer than 63 characters: the first 26 characters of it, with leading and trailing
    ``-`` trimmed, then ``-`` and the MD5 of the lower-cased original (UTF-8) formatted as a .NET GUID.
    """
    lowered = _lower_invariant(str(address))
    sanitized = _DASH_RUNS.sub("-", _INVALID_CHARACTERS.sub("-", lowered))
    if len(sanitized) <= MAX_QUEUE_NAME_LENGTH:
        return sanitized
    # MD5 is what ServiceControl uses to derive the name, not a security measure.
    guid = _dotnet_guid_string(hashlib.md5(lowered.encode("utf-8")).digest())  # noqa: S324
    keep = MAX_QUEUE_NAME_LENGTH - GUID_STRING_LENGTH - 1
    return "%s-%s" % (sanitized[:keep].strip("-"), guid)


def azure_queue_name_problem(physical):
    """Return why Azure Storage would reject a queue name, or None when it is valid."""
    if not MIN_QUEUE_NAME_LENGTH <= len(physical) <= MAX_QUEUE_NAME_LENGTH:
        return "Azure Storage queue names are %d to %d characters long" % (MIN_QUEUE_NAME_LENGTH, MAX_QUEUE_NAME_LENGTH)
    if not _AZURE_QUEUE_NAME.match(physical):
        return (
            "Azure Storage queue names must start and end with a letter or digit and must not contain consecutive "
            "'-' characters"
        )
    return None


def message_intent(headers):
    """The wrapper's MessageIntent: the ``NServiceBus.MessageIntent`` header parsed like .NET Enum.TryParse (a name in
    any case, or a number); 0 (``default(MessageIntent)``) when absent or not parsable."""
    text = (headers.get("NServiceBus.MessageIntent") or "").strip()
    if re.match(r"^[+-]?\d+$", text):
        return int(text)
    return MESSAGE_INTENTS.get(text.lower(), 0)


def message_wrapper(message):
    """The MessageWrapper the dispatcher builds (BuildMessageWrapper), fields in their declaration order.

    A receiver copies its ReplyToAddress, CorrelationId and MessageIntent back over the headers, so they are taken
    from the headers here.
    """
    headers = dict(message.headers)
    return {
        "IdForCorrelation": None,
        "Id": message.message_id,
        "MessageIntent": message_intent(headers),
        "ReplyToAddress": headers.get("NServiceBus.ReplyToAddress"),
        "TimeToBeReceived": "00:00:00",
        "Headers": headers,
        "Body": base64.b64encode(message.body).decode("ascii"),
        "CorrelationId": headers.get("NServiceBus.CorrelationId"),
        "Recoverable": False,
    }


def message_text(message):
    """The queue message text: base64 of the wrapper's JSON (UTF-8)."""
    wrapper = json.dumps(message_wrapper(message), separators=(",", ":"))
    return base64.b64encode(wrapper.encode("utf-8")).decode("ascii")


def split_connection_string(connection_string):
    """Split ServiceControl's connection string into (storage connection string, subscriptions table)."""
    storage_connection_string, subscriptions_table, _secrets = parse_storage_connection_string(connection_string)
    return storage_connection_string, subscriptions_table


def parse_storage_connection_string(connection_string):
    """(storage connection string, subscriptions table, secret values) of ServiceControl's connection string.

    The string is parsed once with ServiceControl's quote-aware rules; ``Subscriptions Table`` is removed and
    the rest is handed to the storage SDK in its plain form (account keys contain '=' and stay as they are).
    A value holding ';' is refused by key: the SDK would cut it apart.
    """
    if connection_string is None or not str(connection_string).strip():
        raise TransportConfigurationError(
            "Transport AzureStorageQueue needs a connection string (an Azure Storage connection string); none was "
            "given."
        )
    parsed = parse_transport_connection_string(connection_string, "AzureStorageQueue")
    subscriptions_table = parsed.get(SUBSCRIPTIONS_TABLE_KEY)
    storage = parsed.without(SUBSCRIPTIONS_TABLE_KEY)
    if not len(storage):
        raise TransportConfigurationError(
            "The AzureStorageQueue connection string has no storage account settings, only 'Subscriptions Table'. "
            "Give an Azure Storage connection string, e.g. DefaultEndpointsProtocol=https;AccountName=<ACCOUNT>;"
            "AccountKey=<KEY>."
        )
    try:
        storage_connection_string = storage.sdk_string("the Azure Storage SDK")
    except ConnectionStringError as exc:
        raise TransportConfigurationError("The AzureStorageQueue connection string is not usable: %s." % exc) from None
    return storage_connection_string, subscriptions_table, storage.secrets()


class AzureStorageQueueTransport(Transport):
    """ServiceControl's ``AzureStorageQueue`` transport."""

    supported_options = frozenset()

    def __init__(self, transport_type, connection_string, variant=None, options=None):
        super().__init__(transport_type, connection_string, variant=variant, options=options)
        self.storage_connection_string, self.subscriptions_table, secrets = parse_storage_connection_string(
            connection_string
        )
        self.redactor.add(*secrets)

    # -- naming --------------------------------------------------------------------------------------
    def physical_name(self, name):
        if name is None or not str(name).strip():
            raise InvalidQueueNameError("An Azure Storage queue name must not be empty.")
        # An address may carry '@<account alias>'; the queue is the part before it. Aliases route to
        # other storage accounts, which this connection string does not reach.
        if "@" in str(name):
            raise InvalidQueueNameError(
                "Queue '%s' uses the '<queue>@<account alias>' form; give the plain queue name and the connection "
                "string of the storage account that holds it." % name
            )
        physical = sanitize_queue_name(name)
        problem = azure_queue_name_problem(physical)
        if problem:
            raise InvalidQueueNameError(
                "Queue '%s' becomes '%s' after ServiceControl's name sanitizer, which Azure Storage rejects: %s. "
                "Choose a different queue name." % (name, physical, problem)
            )
        return physical

    # -- connection ----------------------------------------------------------------------------------
    def open(self):
        if not HAS_AZURE_STORAGE_QUEUE:
            raise TransportDependencyError("azure-storage-queue", AZURE_STORAGE_QUEUE_IMPORT_ERROR, self.transport_type)
        try:
            self.client = QueueServiceClient.from_connection_string(
                self.storage_connection_string,
                retry_policy=LinearRetry(backoff=1, retry_total=RETRY_TOTAL, random_jitter_range=0),
                connection_timeout=self.timeout,
                read_timeout=self.timeout,
                connection_verify=self.tls.requests_verify(),
                connection_cert=self.tls.requests_cert(),
            )
        except (ValueError, AzureError) as exc:
            raise TransportConfigurationError(
                "The AzureStorageQueue connection string is not a usable Azure Storage connection string (%s). "
                "Write it as DefaultEndpointsProtocol=https;AccountName=<ACCOUNT>;AccountKey=<KEY> (optionally with "
                "QueueEndpoint=... and ServiceControl's Subscriptions Table=...)." % self.redactor(str(exc))
            ) from None

    # -- queue operations ----------------------------------------------------------------------------
    def describe(self, name):
        physical = self.physical_name(name)
        properties = self._properties(physical)
        if properties is None:
            return absent_state(name, physical)
        return queue_state(
            name,
            physical,
            exists=True,
            depth=properties.approximate_message_count,
            properties={"metadata": dict(properties.metadata or {})},
        )

    def ensure(self, name, check_mode=False):
        before = self.describe(name)
        physical = before["physical_name"]
        if before["exists"]:
            # CreateIfNotExists leaves an existing queue (and its metadata) alone; so do we.
            return operation_result("existed", before, before, [])
        if not check_mode:
            try:
                self._queue(physical).create_queue()
            except ResourceExistsError as exc:
                if getattr(exc, "error_code", None) == "QueueBeingDeleted":
                    raise TransportError(
                        "Azure Storage queue '%s' is still being deleted, so it cannot be created yet. Azure needs at "
                        "least 30 seconds after a delete; run again in a minute." % physical
                    ) from None
                # Created by someone else in the meantime (409 QueueAlreadyExists): the transport ignores it too.
            except AzureError as exc:
                raise self._error("Create Queue", physical, exc) from None
        after = queue_state(name, physical, exists=True, depth=0, properties={"metadata": {}})
        return operation_result("created", before, after, ["Create Queue %s" % physical])

    def delete(self, name, check_mode=False):
        before = self.describe(name)
        physical = before["physical_name"]
        if not before["exists"]:
            return operation_result("absent", before, before, [])
        if not check_mode:
            try:
                self._queue(physical).delete_queue()
            except ResourceNotFoundError:
                pass
            except AzureError as exc:
                raise self._error("Delete Queue", physical, exc) from None
        return operation_result("deleted", before, absent_state(name, physical), ["Delete Queue %s" % physical])

    def depth(self, name):
        properties = self._properties(self.physical_name(name))
        return None if properties is None else properties.approximate_message_count

    def send(self, name, message, check_mode=False):
        physical = self.physical_name(name)
        if self._properties(physical) is None:
            raise self.missing_queue_error(name, physical)
        text = message_text(message)
        if len(text) > MAX_MESSAGE_TEXT:
            raise TransportError(
                "The message for queue '%s' is %d characters as an Azure Storage queue message; the limit is %d. Send "
                "a smaller body or fewer headers." % (physical, len(text), MAX_MESSAGE_TEXT)
            )
        command = "Put Message %s time-to-live=%ds (MessageWrapper Id=%s, %d characters of base64)" % (
            physical,
            MESSAGE_TIME_TO_LIVE,
            message.message_id,
            len(text),
        )
        native_id = None
        if not check_mode:
            try:
                sent = self._queue(physical).send_message(text, time_to_live=MESSAGE_TIME_TO_LIVE)
            except AzureError as exc:
                raise self._error("Put Message", physical, exc) from None
            native_id = getattr(sent, "id", None)
        return send_result(name, physical, message, native_message_id=native_id, commands=[command])

    # -- helpers -------------------------------------------------------------------------------------
    def _queue(self, physical):
        if self.client is None:
            raise TransportError("The Azure Storage Queues transport is not open; use it as a context manager.")
        return self.client.get_queue_client(physical)

    def _properties(self, physical):
        try:
            return self._queue(physical).get_queue_properties()
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise self._error("Get Queue Metadata", physical, exc) from None

    def _error(self, operation, physical, exc):
        if isinstance(exc, ClientAuthenticationError):
            detail = (
                "authentication failed; check AccountName and AccountKey (or the SAS token) in the connection string"
            )
        elif isinstance(exc, HttpResponseError) and getattr(exc, "status_code", None):
            detail = "HTTP %s %s" % (exc.status_code, getattr(exc, "error_code", None) or exc.reason or "")
        else:
            # Connection problems: the first line names the cause without the request URL's query.
            detail = "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "no detail")
        return TransportError(
            "Azure Storage Queues %s for queue '%s' failed: %s." % (operation, physical, self.redactor(detail).strip())
        )
