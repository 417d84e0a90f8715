"""The lab's Error (primary) instance, one module per ServiceControl component (see lab/README.md).

Behaviour follows docs/reference/servicecontrol.md §5/§6 and ServiceControl 6.19.2's ErrorIngestion,
ErrorIngestor, RetryProcessor, ReturnToSender(Dequeuer) and the persistence patches they use.
API requests that change state send ServiceControl's internal commands to the instance's own input
queue, and the input-queue handler does the work, so (as in ServiceControl) the API answers 202 and
the change shows up a moment later.

The names below are the package's public surface (``lab.instance.error.ErrorInstance`` and friends).
"""

from __future__ import annotations

from lab.instance.error.archive import (
    CMD_ARCHIVE,
    CMD_ARCHIVE_GROUP,
    CMD_UNARCHIVE,
    CMD_UNARCHIVE_GROUP,
    CMD_UNARCHIVE_RANGE,
    ArchiveOperation,
)
from lab.instance.error.custom_checks import (
    CUSTOM_CHECKS,
    FAILED_IMPORT_CHECK,
    FAILED_IMPORT_MESSAGE,
    INGESTION_PROCESS_CHECK,
    MSG_CUSTOM_CHECK,
    REMOTES_CHECK,
    compact_endpoint,
)
from lab.instance.error.failed_messages import (
    ARCHIVED,
    FAILED_MESSAGES,
    RESOLVED,
    RETRY_ISSUED,
    STATUS_NAMES,
    STATUS_VALUES,
    UNRESOLVED,
    failed_message_document,
    failed_message_view,
    last_attempt,
    messages_view,
    queue_address_of,
    receiving_of,
)
from lab.instance.error.groups import GROUP_COMMENTS
from lab.instance.error.ingestion import FAILED_IMPORTS, MAX_PROCESSING_ATTEMPTS
from lab.instance.error.instance import ErrorInstance
from lab.instance.error.monitoring import KNOWN_ENDPOINTS, MSG_HEARTBEAT, MSG_REGISTER_NEW_ENDPOINT, MSG_STARTUP
from lab.instance.error.retries import (
    CMD_RESOLVE_PENDING,
    CMD_RESOLVE_PENDING_RANGE,
    CMD_RETRY_ALL,
    CMD_RETRY_BY_IDS,
    CMD_RETRY_BY_QUEUE,
    CMD_RETRY_GROUP,
    CMD_RETRY_MESSAGE,
    CMD_RETRY_PENDING,
    CMD_RETRY_PENDING_BY_IDS,
    RETRY_BATCH_SIZE,
    RETRY_HISTORY,
    RETRY_TYPES,
    RetryBatch,
    RetryOperation,
)
from lab.instance.runtime import command_message

__all__ = [
    "ARCHIVED",
    "CMD_ARCHIVE",
    "CMD_ARCHIVE_GROUP",
    "CMD_RESOLVE_PENDING",
    "CMD_RESOLVE_PENDING_RANGE",
    "CMD_RETRY_ALL",
    "CMD_RETRY_BY_IDS",
    "CMD_RETRY_BY_QUEUE",
    "CMD_RETRY_GROUP",
    "CMD_RETRY_MESSAGE",
    "CMD_RETRY_PENDING",
    "CMD_RETRY_PENDING_BY_IDS",
    "CMD_UNARCHIVE",
    "CMD_UNARCHIVE_GROUP",
    "CMD_UNARCHIVE_RANGE",
    "CUSTOM_CHECKS",
    "FAILED_IMPORTS",
    "FAILED_IMPORT_CHECK",
    "FAILED_IMPORT_MESSAGE",
    "FAILED_MESSAGES",
    "GROUP_COMMENTS",
    "INGESTION_PROCESS_CHECK",
    "KNOWN_ENDPOINTS",
    "MAX_PROCESSING_ATTEMPTS",
    "MSG_CUSTOM_CHECK",
    "MSG_HEARTBEAT",
    "MSG_REGISTER_NEW_ENDPOINT",
    "MSG_STARTUP",
    "REMOTES_CHECK",
    "RESOLVED",
    "RETRY_BATCH_SIZE",
    "RETRY_HISTORY",
    "RETRY_ISSUED",
    "RETRY_TYPES",
    "STATUS_NAMES",
    "STATUS_VALUES",
    "UNRESOLVED",
    "ArchiveOperation",
    "ErrorInstance",
    "RetryBatch",
    "RetryOperation",
    "command_message",
    "compact_endpoint",
    "failed_message_document",
    "failed_message_view",
    "last_attempt",
    "messages_view",
    "queue_address_of",
    "receiving_of",
]
