"""``/api/endpointssettings``: whether ServicePulse tracks every instance of an endpoint.

ServiceControl/Monitoring/Web/EndpointsSettingsController (docs/reference/servicecontrol.md §2.8); the data and its
sync with the known endpoints: lab.instance.error.endpoint_settings.
"""

from __future__ import annotations

from lab.instance.api.controller import Controller, accepted
from lab.instance.error import ErrorInstance
from lab.instance.http import HttpError, Request, Response


class EndpointSettingsController(Controller):
    routes = (
        ("GET", "/api/endpointssettings", "settings"),
        ("PATCH", "/api/endpointssettings/{endpointName?}", "update"),
    )

    def __init__(self, instance: ErrorInstance) -> None:
        self.endpoint_settings = instance.endpoint_settings

    def settings(self, request: Request) -> Response:
        return Response(200, self.endpoint_settings.views())

    def update(self, request: Request, endpoint_name: str | None = None) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "A non-empty request body is required.")
        # System.Text.Json binds snake_case names case-insensitively; a missing value is false.
        values = {k.lower(): v for k, v in body.items()}
        self.endpoint_settings.update(endpoint_name, bool(values.get("track_instances", False)))
        return accepted()
