"""``GET /api/my/routes``: the routes the caller may call (ServiceControl.Hosting/Auth/MyRoutesController, 6.18+).

Every instance kind serves it. Without role-based authorization every permission is held
(Infrastructure/Auth/EffectivePermissions), so the manifest lists every route of the instance, one entry per
verb, its template normalised as RouteTemplateNormalizer does (constraints and ``?`` dropped, one leading
``/``); the caller's roles are those of its token, none without authentication. The lab lists its routes in the
order its controllers add them; ServiceControl lists them in endpoint order.
"""

from __future__ import annotations

import re

from lab.instance.api.controller import Controller
from lab.instance.http import Request, Response, Router

_PARAMETER = re.compile(r"\{\*{0,2}(?P<name>[A-Za-z0-9_]+)[^}]*\}")


def normalize(template: str) -> str:
    stripped = _PARAMETER.sub(lambda m: "{%s}" % m.group("name"), template)
    return stripped if stripped.startswith("/") else "/" + stripped


class MyRoutesController(Controller):
    routes = (("GET", "/api/my/routes", "my_routes"),)

    def __init__(self) -> None:
        self.router: Router | None = None

    def my_routes(self, request: Request) -> Response:
        entries = [
            {"method": method, "url_template": normalize(template)}
            for methods, template in (self.router.templates if self.router else [])
            for method in methods.split(",")
        ]
        return Response(200, {"roles": [], "routes": entries})
