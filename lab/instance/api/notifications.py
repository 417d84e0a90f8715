"""E-mail notifications: ``/api/notifications/email`` (ServiceControl/Notifications/Api/NotificationsController).

The settings are stored as ServiceControl stores them (one NotificationsSettings document whose ``Email`` starts
empty: disabled, no server). The lab sends no e-mail: the test route answers as ServiceControl does when sending
fails (500, ``X-Particular-Reason``) — there is no SMTP server to reach (lab/README.md).
"""

from __future__ import annotations

from lab.instance import common as c
from lab.instance.api.controller import Controller
from lab.instance.error import ErrorInstance
from lab.instance.http import HttpError, Request, Response

NOTIFICATIONS = "NotificationsSettings"
SETTINGS_ID = "NotificationsSettings/All"


def _lowered(request: Request) -> dict:
    body = request.json()
    if not isinstance(body, dict):
        raise HttpError(400, "A non-empty request body is required.")
    return {k.lower(): v for k, v in body.items()}


class NotificationsController(Controller):
    routes = (
        ("GET", "/api/notifications/email", "email"),
        ("POST", "/api/notifications/email", "update"),
        ("POST", "/api/notifications/email/toggle", "toggle"),
        ("POST", "/api/notifications/email/test", "test"),
    )

    def __init__(self, instance: ErrorInstance) -> None:
        self.store = instance.store

    def _email(self) -> dict:
        stored = self.store.get(NOTIFICATIONS, SETTINGS_ID) or {}
        return stored.get("email") or {"enabled": False, "enable_tls": False}

    def _save(self, email: dict) -> None:
        self.store.put(NOTIFICATIONS, SETTINGS_ID, {"id": SETTINGS_ID, "email": email})

    def email(self, request: Request) -> Response:
        return Response(200, c.compact(**self._email()))

    def toggle(self, request: Request) -> Response:
        email = self._email()
        email["enabled"] = bool(_lowered(request).get("enabled", False))
        self._save(email)
        return Response(200)

    def update(self, request: Request) -> Response:
        # UpdateEmailNotificationsSettingsRequest: note the request's authorization_* names.
        body = _lowered(request)
        email = self._email()
        email.update(
            smtp_server=body.get("smtp_server"),
            smtp_port=int(body.get("smtp_port") or 0),
            authentication_account=body.get("authorization_account"),
            authentication_password=body.get("authorization_password"),
            enable_tls=bool(body.get("enable_tls", False)),
            to=body.get("to"),
            **{"from": body.get("from")},
        )
        self._save(email)
        return Response(200)

    def test(self, request: Request) -> Response:
        # ServiceControl writes the exception's message (and its inner one's); the lab's says why it failed.
        reason = "The lab does not send e-mail. "
        return Response(
            500,
            raw=reason.encode("utf-8"),
            headers=[("X-Particular-Reason", "Error sending test email notification")],
            content_type="text/plain; charset=utf-8",
        )
