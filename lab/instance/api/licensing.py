"""The licensing component's routes: ``/api/licensing/...`` (Particular.LicensingComponent/WebApi/LicensingController).

Throughput comes from the Monitoring instances' reports (lab.instance.error.throughput). The lab collects no
broker statistics, so it answers as ServiceControl does for a transport without a broker throughput query: no
broker settings, a broker connection test that did not run, and a report state that needs one complete day of
usage data in the last 30 days. It does not produce the signed throughput report: ``report/file`` answers 400
with ServiceControl's text while no report can be generated, and 501 once one could (lab/README.md).
"""

from __future__ import annotations

from lab.instance.api.controller import Controller
from lab.instance.api.remotes import RemoteInstances
from lab.instance.error import ErrorInstance
from lab.instance.error.throughput import audit_connection
from lab.instance.http import HttpError, Request, Response

NO_DATA = "Need at least one day of usage data in the last 30 days."


class LicensingController(Controller):
    routes = (
        ("GET", "/api/licensing/endpoints", "endpoints"),
        ("POST", "/api/licensing/endpoints/update", "update_endpoints"),
        ("GET", "/api/licensing/report/available", "report_available"),
        ("GET", "/api/licensing/report/file", "report_file"),
        ("GET", "/api/licensing/settings/info", "settings_info"),
        ("GET", "/api/licensing/settings/test", "settings_test"),
        ("GET", "/api/licensing/settings/masks", "masks"),
        ("POST", "/api/licensing/settings/masks/update", "update_masks"),
    )

    def __init__(self, instance: ErrorInstance, remotes: RemoteInstances) -> None:
        self.throughput = instance.throughput
        self.transport = instance.settings.transport_type or ""
        self.remotes = remotes

    def endpoints(self, request: Request) -> Response:
        return Response(200, self.throughput.summaries())

    def update_endpoints(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, list):
            raise HttpError(400, "A non-empty request body is required.")
        self.throughput.update_user_indicators({k.lower(): v for k, v in item.items()} for item in body)
        return Response(200)

    def _state(self) -> dict:
        available = self.throughput.has_throughput(30, include_today=False)
        return {
            "transport": self.transport,
            "report_can_be_generated": available,
            "reason": "" if available else NO_DATA,
        }

    def report_available(self, request: Request) -> Response:
        return Response(200, self._state())

    def report_file(self, request: Request) -> Response:
        state = self._state()
        if not state["report_can_be_generated"]:
            text = "Report cannot be generated \u2013 %s" % state["reason"]
            return Response(400, raw=text.encode("utf-8"), content_type="text/plain; charset=utf-8")
        return Response(501, {"message": "The lab does not produce signed throughput reports."})

    def settings_info(self, request: Request) -> Response:
        # Only MSMQ lists the Monitoring queue setting, and only transports with a broker query list theirs.
        return Response(200, {"service_control_settings": [], "monitoring_settings": [], "broker_settings": []})

    def settings_test(self, request: Request) -> Response:
        broker = {"connection_successful": False, "connection_error_messages": [], "diagnostics": ""}
        return Response(
            200,
            {
                "transport": self.transport,
                "audit_connection_result": audit_connection(self.remotes.configurations()),
                "monitoring_connection_result": self.throughput.monitoring_connection(),
                "broker_connection_result": broker,
            },
        )

    def masks(self, request: Request) -> Response:
        return Response(200, self.throughput.masks())

    def update_masks(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, list) or not all(isinstance(m, str) for m in body):
            raise HttpError(400, "A non-empty request body is required.")
        self.throughput.save_masks(body)
        return Response(200)
