"""Editing a failed message before retrying it: ``GET /api/edit/config``, ``POST /api/edit/{failedMessageId}``.

ServiceControl/MessageFailures/Api/EditFailedMessagesController (docs/reference/servicecontrol.md §2.3). The
configuration reports ``ServiceControl/AllowMessageEditing`` and the fixed lists of locked and sensitive headers
(NServiceBus' Headers constants). The lab does not emulate editing itself: with editing off (the default) an
edit answers 404 as ServiceControl does; with it on, the lab answers 501 (lab/README.md).
"""

from __future__ import annotations

from lab.instance.api.controller import Controller
from lab.instance.error import ErrorInstance
from lab.instance.http import Request, Response

LOCKED_HEADERS = (
    "NServiceBus.MessageId",
    "NServiceBus.SagaId",
    "NServiceBus.CorrelationId",
    "NServiceBus.ControlMessage",
    "NServiceBus.OriginatingSagaId",
    "NServiceBus.RelatedTo",
    "NServiceBus.ConversationId",
    "NServiceBus.MessageIntent",
    "NServiceBus.Version",
    "NServiceBus.IsSagaTimeoutMessage",
    "NServiceBus.IsDeferredMessage",
    "NServiceBus.Retries",
    "NServiceBus.Retries.Timestamp",
    "NServiceBus.FLRetries",
    "NServiceBus.ProcessingStarted",
    "NServiceBus.ProcessingEnded",
    "NServiceBus.ExceptionInfo.ExceptionType",
    "NServiceBus.ExceptionInfo.HelpLink",
    "NServiceBus.ExceptionInfo.Message",
    "NServiceBus.ExceptionInfo.Source",
    "NServiceBus.ExceptionInfo.StackTrace",
    "NServiceBus.TimeOfFailure",
    "NServiceBus.FailedQ",
)
SENSITIVE_HEADERS = (
    "NServiceBus.Header.RouteTo",
    "NServiceBus.DestinationSites",
    "NServiceBus.OriginatingSite",
    "NServiceBus.To",
    "NServiceBus.ReplyToAddress",
    "NServiceBus.ReturnMessage.ErrorCode",
    "NServiceBus.SagaType",
    "NServiceBus.OriginatingSagaType",
    "NServiceBus.TimeSent",
    "Header",
)


class EditingController(Controller):
    routes = (
        ("GET", "/api/edit/config", "config"),
        ("POST", "/api/edit/{failedMessageId}", "edit"),
    )

    def __init__(self, instance: ErrorInstance) -> None:
        self.enabled = instance.settings.features.allow_message_editing

    def config(self, request: Request) -> Response:
        return Response(
            200,
            {
                "enabled": self.enabled,
                "sensitive_headers": list(SENSITIVE_HEADERS),
                "locked_headers": list(LOCKED_HEADERS),
            },
        )

    def edit(self, request: Request, failed_message_id: str) -> Response:
        if not self.enabled:
            return Response(404)
        return Response(501, {"message": "The lab does not emulate message editing."})
