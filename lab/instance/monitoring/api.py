"""The Monitoring instance's HTTP API: at the root, no ``/api`` prefix, camelCase JSON (docs/reference §2.12).

ServiceControl.Monitoring 6.19.2: Http/RootController (``GET /``, ``OPTIONS /``), Connection/ConnectionController
(``/connection``, System.Text.Json defaults: PascalCase), Http/LicenseController (``/license``),
Http/Diagrams/DiagramApiController (``monitored-endpoints``, one endpoint, ``monitored-endpoints/disconnected``,
``DELETE monitored-instance/{endpointName}/{instanceId}``) and the shared ``api/my/routes``. Its result filters
add ``X-Particular-Version`` and the no-cache headers of Infrastructure/WebApi/CachingHttpHandler.
"""

from __future__ import annotations

import email.utils

from lab.instance.api.controller import Controller, conventions_for, router_for
from lab.instance.api.my_routes import MyRoutesController
from lab.instance.http import HttpError, Request, Response
from lab.instance.licence import lab_licence
from lab.instance.monitoring.instance import MonitoringInstance
from lab.instance.monitoring.metrics import disconnected_count, endpoint_details, monitored_endpoints

#: Monitoring's CachingHttpHandler.
NO_CACHE_HEADERS = (
    ("Expires", "Tue, 03 Jul 2001 06:00:00 GMT"),
    ("Last-Modified", lambda: email.utils.formatdate(usegmt=True)),
    ("Cache-Control", "private, max-age=0, no-cache, must-revalidate, proxy-revalidate, no-store"),
    ("Pragma", "no-cache"),
    ("Vary", "Accept"),
)


def _history(request: Request) -> int | None:
    text = request.query("history")
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        # [ApiController] model validation: 400 with the validation problem.
        raise HttpError(400, "The value '%s' is not valid for history." % text) from None


def _metrics_call(function, *args):
    try:
        return function(*args)
    except ValueError as exc:  # HistoryPeriod.FromMinutes throws for an unknown period: 500
        raise HttpError(500, str(exc)) from None


class MonitoringController(Controller):
    routes = (
        ("GET", "/", "root"),
        ("OPTIONS", "/", "supported_operations"),
        ("GET", "/connection", "connection"),
        ("GET", "/license", "license"),
        ("GET", "/monitored-endpoints", "endpoints"),
        ("GET", "/monitored-endpoints/disconnected", "disconnected"),
        ("GET", "/monitored-endpoints/{endpointName}", "endpoint"),
        ("DELETE", "/monitored-instance/{endpointName}/{instanceId}", "delete_instance"),
    )

    def __init__(self, instance: MonitoringInstance, metrics_queue: str) -> None:
        self.instance = instance
        self.settings = instance.settings
        self.metrics_queue = metrics_queue

    def root(self, request: Request) -> Response:
        return Response(200, {"instanceType": "monitoring", "version": self.settings.version_text})

    def supported_operations(self, request: Request) -> Response:
        headers = [("Allow", verb) for verb in ("GET", "DELETE", "PATCH")]
        return Response(200, None, [*headers, ("Access-Control-Expose-Headers", "Allow")])

    def connection(self, request: Request) -> Response:
        metrics = {"Enabled": True, "MetricsQueue": self.metrics_queue, "Interval": "00:00:01"}
        return Response(200, {"Metrics": metrics})

    def license(self, request: Request) -> Response:
        licence = lab_licence(self.settings.features.license)
        return Response(
            200,
            {
                "trialLicense": licence.trial,
                "edition": licence.edition,
                "registeredTo": licence.registered_to,
                "upgradeProtectionExpiration": licence.upgrade_protection,
                "expirationDate": licence.expiration,
                "status": "valid" if licence.valid else "invalid",
            },
        )

    def endpoints(self, request: Request) -> Response:
        return Response(200, _metrics_call(monitored_endpoints, self.instance.model, _history(request)))

    def endpoint(self, request: Request, endpoint_name: str) -> Response:
        details = _metrics_call(endpoint_details, self.instance.model, endpoint_name, _history(request))
        return Response(200, details)

    def disconnected(self, request: Request) -> Response:
        return Response(200, disconnected_count(self.instance.model))

    def delete_instance(self, request: Request, endpoint_name: str, instance_id: str) -> Response:
        self.instance.model.delete_instance(endpoint_name, instance_id)
        return Response(200)


class MonitoringApi:
    def __init__(self, instance: MonitoringInstance, metrics_queue: str) -> None:
        self.instance = instance
        self.settings = instance.settings
        self.my_routes = MyRoutesController()
        self.controllers: list[Controller] = [MonitoringController(instance, metrics_queue), self.my_routes]
        self.router = router_for(self.controllers)
        self.my_routes.router = self.router
        self.router.conventions = conventions_for(self.settings, NO_CACHE_HEADERS)
