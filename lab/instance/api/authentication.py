"""``GET /api/authentication/configuration`` (anonymous): how ServicePulse should sign in.

ServiceControl/Authentication/AuthenticationController (6.11+, docs/reference/servicecontrol.md §2.2). The lab
does not emulate authentication, so it answers as an instance with ``Authentication.Enabled=false``: both
switches false and the ServicePulse settings (client id, authority, audience, scopes) null, hence left out.
"""

from __future__ import annotations

from lab.instance.api.controller import Controller
from lab.instance.http import Request, Response


class AuthenticationController(Controller):
    routes = (("GET", "/api/authentication/configuration", "configuration"),)

    def configuration(self, request: Request) -> Response:
        return Response(200, {"enabled": False, "role_based_authorization_enabled": False})
