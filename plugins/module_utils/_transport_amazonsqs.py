# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""Amazon SQS transport (ServiceControl TransportType ``AmazonSQS``), on boto3.

Queues are created the way NServiceBus.AmazonSQS creates a sending address: ``CreateQueue`` with no
attributes, then a separate ``SetQueueAttributes`` call for ``MessageRetentionPeriod`` (the transport's
MaxTimeToLive, 4 days by default). Every other attribute keeps the AWS default. Names follow the
transport's ``GetSqsQueueName``: the ``QueueNamePrefix``, an 80-character limit and the replacement of
every character SQS does not accept by ``-``.

A message is sent in the transport's default (wrapped) format: a JSON body holding the base64 body and every header,
with the NServiceBus message id as the message attribute ``NServiceBus.MessageId`` (docs/reference/transports.md §5.3).
"""

from __future__ import annotations

import base64
import json
import re
import traceback
import unicodedata

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
    parse_key_value_connection_string,
)

try:
    import boto3
    import botocore.config
    import botocore.exceptions
except ImportError:
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None

#: NServiceBus.AmazonSQS default MaxTimeToLive (4 days), applied as MessageRetentionPeriod.
DEFAULT_MESSAGE_RETENTION_PERIOD = 345600
#: The transport accepts a MaxTimeToLive above one minute and up to 14 days (the SQS maximum).
MIN_MESSAGE_RETENTION_PERIOD_EXCLUSIVE = 60
MAX_MESSAGE_RETENTION_PERIOD = 1209600
#: GetSqsQueueName rejects longer names (prefix included); SQS's own limit is also 80.
MAX_QUEUE_NAME_LENGTH = 80
FIFO_SUFFIX = ".fifo"

#: Body plus attributes above this go to S3 in NServiceBus.AmazonSQS 8.1+ (TransportConstraints.SqsMaximumMessageSize).
MAX_MESSAGE_SIZE = 1024 * 1024
#: SQS refuses an empty body; NServiceBus sends this text for an empty message (TransportMessage.EmptyMessage).
EMPTY_MESSAGE = "empty message"
MESSAGE_ID_ATTRIBUTE = "NServiceBus.MessageId"

#: Keys ServiceControl reads from an AmazonSQS connection string (SQSTransportConnectionString), lower-cased.
CONNECTION_STRING_KEYS = {
    "region": "Region",
    "queuenameprefix": "QueueNamePrefix",
    "topicnameprefix": "TopicNamePrefix",
    "accesskeyid": "AccessKeyId",
    "secretaccesskey": "SecretAccessKey",
    "s3bucketforlargemessages": "S3BucketForLargeMessages",
    "s3keyprefix": "S3KeyPrefix",
    "donotwrapoutgoingmessages": "DoNotWrapOutgoingMessages",
    "reservedbytesinmessagesize": "ReservedBytesInMessageSize",
}

_REGION_FORMAT = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_SQS_NAME_CHARACTERS = re.compile(r"^[A-Za-z0-9_-]+$")

_RETENTION_NOTE = (
    "SQS deletes every message older than message_retention_period seconds, including failed messages "
    "waiting in an error queue that ServiceControl has not ingested yet."
)


def _is_letter_or_digit(char):
    """.NET char.IsLetterOrDigit: any Unicode letter (L*) or decimal digit (Nd)."""
    category = unicodedata.category(char)
    return category.startswith("L") or category == "Nd"


def _utf16_length(text):
    """Length as .NET counts it (UTF-16 code units), which is what the 80-character check uses."""
    return len(text.encode("utf-16-le")) // 2


def sqs_queue_name(address, queue_name_prefix=None):
    """NServiceBus.AmazonSQS GetSqsQueueName: the physical SQS queue name of a logical address.

    The prefix is prepended unless the address already starts with it; a result longer than 80
    characters is an error (no truncation or hashing); then every character that is not a letter,
    digit, ``-`` or ``_`` becomes ``-``, except a trailing ``.fifo``.
    """
    if address is None or not str(address).strip():
        raise InvalidQueueNameError("An Amazon SQS queue name must not be empty.")
    address = str(address)
    prefix = queue_name_prefix or ""
    name = address if prefix and address.startswith(prefix) else prefix + address
    if _utf16_length(name) > MAX_QUEUE_NAME_LENGTH:
        raise InvalidQueueNameError(
            "Queue '%s' with the QueueNamePrefix '%s' is %d characters long; Amazon SQS queue names are limited to "
            "%d characters and NServiceBus does not shorten them. Use a shorter queue name or prefix."
            % (address, prefix, _utf16_length(name), MAX_QUEUE_NAME_LENGTH)
        )
    keep_tail = len(FIFO_SUFFIX) if name.endswith(FIFO_SUFFIX) else 0
    head, tail = name[: len(name) - keep_tail], name[len(name) - keep_tail :]
    return "".join(c if _is_letter_or_digit(c) or c in "-_" else "-" for c in head) + tail


def parse_sqs_connection_string(connection_string):
    """Parse ServiceControl's AmazonSQS connection string into {CanonicalKey: value}.

    An empty string is valid: ServiceControl then takes region and credentials from the environment.
    """
    if connection_string is None or not str(connection_string).strip():
        return {}
    parsed = parse_key_value_connection_string(connection_string, "AmazonSQS")
    unknown = sorted(key for key in parsed if key not in CONNECTION_STRING_KEYS)
    if unknown:
        raise TransportConfigurationError(
            "The AmazonSQS connection string has unknown key(s): %s. ServiceControl accepts: %s."
            % (", ".join(unknown), ", ".join(CONNECTION_STRING_KEYS.values()))
        )
    settings = {CONNECTION_STRING_KEYS[key]: value for key, value in parsed.items()}
    has_key_id = bool(settings.get("AccessKeyId"))
    has_secret = bool(settings.get("SecretAccessKey"))
    if has_key_id != has_secret:
        raise TransportConfigurationError(
            "The AmazonSQS connection string sets %s without %s. Give both, or neither to use the standard AWS "
            "credential chain (environment, shared config, instance role)."
            % (("AccessKeyId", "SecretAccessKey") if has_key_id else ("SecretAccessKey", "AccessKeyId"))
        )
    region = settings.get("Region")
    if region and not _REGION_FORMAT.match(region):
        raise TransportConfigurationError(
            "The AmazonSQS connection string has Region '%s', which is not an AWS region name such as "
            "'us-east-1' or 'eu-west-2'." % region
        )
    if has_key_id and not region:
        raise TransportConfigurationError(
            "The AmazonSQS connection string gives AccessKeyId/SecretAccessKey but no Region; ServiceControl "
            "requires Region with explicit credentials. Add Region=<aws-region>."
        )
    return settings


def transport_message_json(message):
    """The wrapped SQS body NServiceBus.AmazonSQS sends (TransportMessage written by ReducedPayloadSerializerConverter):
    ``{"Body": <base64 of the body, or "empty message">, "S3BodyKey": null, "Headers": {...}}``.

    The headers always carry ``NServiceBus.MessageId`` (the transport adds it when missing; the receiver reads it).
    """
    headers = dict(message.headers)
    if not headers.get(MESSAGE_ID_ATTRIBUTE):
        headers[MESSAGE_ID_ATTRIBUTE] = message.message_id
    body = base64.b64encode(message.body).decode("ascii") if message.body else EMPTY_MESSAGE
    return json.dumps({"Body": body, "S3BodyKey": None, "Headers": headers}, separators=(",", ":"))


def send_message_request(queue_url, message):
    """The SendMessage arguments: the wrapped body and the ``NServiceBus.MessageId`` string attribute."""
    return {
        "QueueUrl": queue_url,
        "MessageBody": transport_message_json(message),
        "MessageAttributes": {MESSAGE_ID_ATTRIBUTE: {"DataType": "String", "StringValue": message.message_id}},
    }


def message_size(request):
    """The size NServiceBus compares with the limit (SqsPreparedMessage.CalculateSize): body and attribute lengths."""
    size = len(request["MessageBody"])
    for key, value in request["MessageAttributes"].items():
        size += len(key) + len(value["DataType"]) + len(value["StringValue"])
    return size


def validate_retention_period(value):
    """Return the MessageRetentionPeriod to apply (seconds), or raise a configuration error."""
    if value is None:
        return DEFAULT_MESSAGE_RETENTION_PERIOD
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds = None
    if seconds is None or isinstance(value, bool) or str(seconds) != str(value).strip():
        raise TransportConfigurationError(
            "sqs_message_retention_period must be a whole number of seconds; got '%s'." % (value,)
        )
    if not MIN_MESSAGE_RETENTION_PERIOD_EXCLUSIVE < seconds <= MAX_MESSAGE_RETENTION_PERIOD:
        raise TransportConfigurationError(
            "sqs_message_retention_period is %d seconds; NServiceBus.AmazonSQS accepts more than %d seconds and at "
            "most %d seconds (14 days). The transport's default is %d (4 days)."
            % (
                seconds,
                MIN_MESSAGE_RETENTION_PERIOD_EXCLUSIVE,
                MAX_MESSAGE_RETENTION_PERIOD,
                DEFAULT_MESSAGE_RETENTION_PERIOD,
            )
        )
    return seconds


class AmazonSqsTransport(Transport):
    """ServiceControl's ``AmazonSQS`` transport: standard SQS queues."""

    supported_options = frozenset(("sqs_message_retention_period", "sqs_endpoint_url"))

    def __init__(self, transport_type, connection_string, variant=None, options=None):
        super().__init__(transport_type, connection_string, variant=variant, options=options)
        self.settings = parse_sqs_connection_string(connection_string)
        self.redactor.add(self.settings.get("SecretAccessKey"))
        self.queue_name_prefix = self.settings.get("QueueNamePrefix") or ""
        self.retention_period = validate_retention_period(self.options.get("sqs_message_retention_period"))
        self.endpoint_url = self.options.get("sqs_endpoint_url") or None

    # -- naming --------------------------------------------------------------------------------------
    def physical_name(self, name):
        physical = sqs_queue_name(name, self.queue_name_prefix)
        if physical.endswith(FIFO_SUFFIX):
            raise InvalidQueueNameError(
                "Queue '%s' maps to '%s', a FIFO queue name. ServiceControl's queues are standard SQS queues: "
                "NServiceBus creates them without the FifoQueue attribute, which SQS requires for a '.fifo' name. "
                "Use a name without the '.fifo' suffix." % (name, physical)
            )
        if not _SQS_NAME_CHARACTERS.match(physical):
            raise InvalidQueueNameError(
                "Queue '%s' maps to '%s', which SQS rejects: NServiceBus keeps non-ASCII letters and digits, but SQS "
                "queue names may only contain ASCII letters, digits, '-' and '_'. Use an ASCII name." % (name, physical)
            )
        return physical

    # -- connection ----------------------------------------------------------------------------------
    def open(self):
        if not HAS_BOTO3:
            raise TransportDependencyError("boto3", BOTO3_IMPORT_ERROR, self.transport_type)
        try:
            verify = self.tls.requests_verify()
        except ValueError as exc:
            raise TransportConfigurationError("Transport AmazonSQS: %s." % exc) from None
        config = botocore.config.Config(
            connect_timeout=self.timeout,
            read_timeout=self.timeout,
            retries={"max_attempts": 2, "mode": "standard"},
            client_cert=self.tls.requests_cert(),
        )
        try:
            session = boto3.session.Session(
                aws_access_key_id=self.settings.get("AccessKeyId") or None,
                aws_secret_access_key=self.settings.get("SecretAccessKey") or None,
                region_name=self.settings.get("Region") or None,
            )
            region = session.region_name
            # endpoint_url=None lets botocore apply AWS_ENDPOINT_URL(_SQS) itself.
            client = (
                session.client("sqs", endpoint_url=self.endpoint_url, verify=verify, config=config) if region else None
            )
        except (botocore.exceptions.BotoCoreError, ValueError) as exc:
            # e.g. AWS_PROFILE naming a profile that does not exist, or a malformed endpoint URL.
            raise TransportConfigurationError(
                "Could not set up the Amazon SQS client: %s" % self.redactor(str(exc))
            ) from None
        if client is None:
            raise TransportConfigurationError(
                "No AWS region for the AmazonSQS transport: add Region=<aws-region> to the connection string or "
                "configure a default region (AWS_REGION / AWS_DEFAULT_REGION or the shared AWS config)."
            )
        self.client = client

    # -- queue operations ----------------------------------------------------------------------------
    def describe(self, name):
        physical = self.physical_name(name)
        url = self._queue_url(physical)
        if url is None:
            return absent_state(name, physical)
        attributes = self._call(
            "GetQueueAttributes",
            physical,
            self._client().get_queue_attributes,
            QueueUrl=url,
            AttributeNames=[
                "MessageRetentionPeriod",
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        ).get("Attributes", {})
        return queue_state(
            name,
            physical,
            exists=True,
            depth=_int_or_none(attributes.get("ApproximateNumberOfMessages")),
            properties={
                "message_retention_period": _int_or_none(attributes.get("MessageRetentionPeriod")),
                "approximate_number_of_messages_not_visible": _int_or_none(
                    attributes.get("ApproximateNumberOfMessagesNotVisible")
                ),
                "approximate_number_of_messages_delayed": _int_or_none(
                    attributes.get("ApproximateNumberOfMessagesDelayed")
                ),
                "message_retention_note": _RETENTION_NOTE,
            },
        )

    def ensure(self, name, check_mode=False):
        before = self.describe(name)
        physical = before["physical_name"]
        retention_command = "SetQueueAttributes QueueName=%s MessageRetentionPeriod=%d" % (
            physical,
            self.retention_period,
        )
        if not before["exists"]:
            commands = ["CreateQueue QueueName=%s" % physical, retention_command]
            if not check_mode:
                response = self._call("CreateQueue", physical, self._client().create_queue, QueueName=physical)
                self._set_retention(physical, response["QueueUrl"])
            after = queue_state(
                name,
                physical,
                exists=True,
                depth=0,
                properties={
                    "message_retention_period": self.retention_period,
                    "approximate_number_of_messages_not_visible": 0,
                    "approximate_number_of_messages_delayed": 0,
                    "message_retention_note": _RETENTION_NOTE,
                },
            )
            return operation_result("created", before, after, commands, self._notes(physical))
        if before["properties"]["message_retention_period"] == self.retention_period:
            return operation_result("existed", before, before, [], self._notes(physical))
        if not check_mode:
            self._set_retention(physical, self._queue_url(physical, must_exist=True))
        after = _copy_state(before)
        after["properties"]["message_retention_period"] = self.retention_period
        return operation_result("updated", before, after, [retention_command], self._notes(physical))

    def delete(self, name, check_mode=False):
        before = self.describe(name)
        physical = before["physical_name"]
        if not before["exists"]:
            return operation_result("absent", before, before, [])
        if not check_mode:
            url = self._queue_url(physical)
            if url is not None:
                self._call("DeleteQueue", physical, self._client().delete_queue, QueueUrl=url)
        return operation_result(
            "deleted", before, absent_state(name, physical), ["DeleteQueue QueueName=%s" % physical]
        )

    def depth(self, name):
        physical = self.physical_name(name)
        url = self._queue_url(physical)
        if url is None:
            return None
        attributes = self._call(
            "GetQueueAttributes",
            physical,
            self._client().get_queue_attributes,
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages"],
        ).get("Attributes", {})
        return _int_or_none(attributes.get("ApproximateNumberOfMessages"))

    def send(self, name, message, check_mode=False):
        physical = self.physical_name(name)
        url = self._queue_url(physical)
        if url is None:
            raise self.missing_queue_error(name, physical)
        request = send_message_request(url, message)
        size = message_size(request)
        if size > MAX_MESSAGE_SIZE:
            raise TransportError(
                "The message for queue '%s' is %d bytes as an SQS message; above %d NServiceBus stores the body in S3, "
                "which this module does not do. Send a smaller body." % (physical, size, MAX_MESSAGE_SIZE)
            )
        notes = []
        if str(self.settings.get("DoNotWrapOutgoingMessages", "")).strip().lower() == "true":
            notes.append(
                "Sent in the wrapped format although the connection string sets DoNotWrapOutgoingMessages=true: every "
                "NServiceBus.AmazonSQS receiver reads the wrapped format, older ones only that one."
            )
        command = "SendMessage QueueName=%s MessageAttributes=%s=%s (wrapped transport message, %d characters)" % (
            physical,
            MESSAGE_ID_ATTRIBUTE,
            message.message_id,
            len(request["MessageBody"]),
        )
        native_id = None
        if not check_mode:
            native_id = self._call("SendMessage", physical, self._client().send_message, **request).get("MessageId")
        return send_result(name, physical, message, native_message_id=native_id, commands=[command], notes=notes)

    # -- helpers -------------------------------------------------------------------------------------
    def _notes(self, physical):
        return [
            "SQS deletes messages in '%s' after %d seconds (%g days), including failed messages waiting in an error "
            "queue; ServiceControl must ingest them before then."
            % (physical, self.retention_period, self.retention_period / 86400.0)
        ]

    def _client(self):
        if self.client is None:
            raise TransportError("The Amazon SQS transport is not open; use it as a context manager.")
        return self.client

    def _queue_url(self, physical, must_exist=False):
        try:
            return self._client().get_queue_url(QueueName=physical)["QueueUrl"]
        except botocore.exceptions.ClientError as exc:
            if _error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist") and not must_exist:
                return None
            raise self._error("GetQueueUrl", physical, exc) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise self._error("GetQueueUrl", physical, exc) from None

    def _set_retention(self, physical, url):
        self._call(
            "SetQueueAttributes",
            physical,
            self._client().set_queue_attributes,
            QueueUrl=url,
            Attributes={"MessageRetentionPeriod": str(self.retention_period)},
        )

    def _call(self, operation, physical, method, **kwargs):
        try:
            return method(**kwargs)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._error(operation, physical, exc) from None

    def _error(self, operation, physical, exc):
        if isinstance(exc, botocore.exceptions.NoCredentialsError):
            detail = (
                "no AWS credentials found. Add AccessKeyId and SecretAccessKey to the connection string or "
                "configure the standard AWS credential chain"
            )
        elif isinstance(exc, botocore.exceptions.ClientError):
            error = exc.response.get("Error", {})
            detail = "%s: %s" % (error.get("Code", "error"), error.get("Message", ""))
        else:
            detail = str(exc)
        return TransportError(
            "Amazon SQS %s for queue '%s' failed: %s." % (operation, physical, self.redactor(detail).rstrip("."))
        )


def _error_code(exc):
    return exc.response.get("Error", {}).get("Code", "")


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _copy_state(state):
    copied = dict(state)
    copied["properties"] = dict(state.get("properties") or {})
    return copied
