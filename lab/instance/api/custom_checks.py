"""Custom checks: ``/api/customchecks``. ServiceControl/CustomChecks/Web/CustomCheckController
(the data: lab.instance.error.custom_checks)."""

from __future__ import annotations

from lab.instance.api.controller import Controller, accepted, paged_list
from lab.instance.error import ErrorInstance
from lab.instance.http import Request, Response


class CustomChecksController(Controller):
    routes = (
        ("GET", "/api/customchecks", "custom_checks"),
        ("DELETE", "/api/customchecks/{id}", "custom_check_delete"),
    )

    def __init__(self, instance: ErrorInstance) -> None:
        self.checks = instance.custom_checks

    def custom_checks(self, request: Request) -> Response:
        checks = self.checks.all()
        status = request.query("status")
        if status in ("fail", "pass"):
            checks = [check for check in checks if check["status"] == status]
        return paged_list(request, checks)

    def custom_check_delete(self, request: Request, id: str) -> Response:
        self.checks.delete(id)
        return accepted()
