"""The license route (ServiceControl/Licensing/LicenseController). Licensing is not emulated: always valid."""

from __future__ import annotations

from lab.instance.api.controller import Controller
from lab.instance.http import Request, Response


class LicenseController(Controller):
    routes = (("GET", "/api/license", "license"),)

    def license(self, request: Request) -> Response:
        return Response(200, {"trial_license": True, "edition": "Lab", "license_status": "Valid", "status": "valid"})
