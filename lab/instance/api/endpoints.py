"""Known endpoints and heartbeats: ``/api/endpoints...``, ``/api/heartbeats/stats``.

ServiceControl/Monitoring/Web/EndpointsMonitoringController (the data: lab.instance.error.monitoring).
"""

from __future__ import annotations

from lab.instance import common as c
from lab.instance.api.controller import Controller, accepted
from lab.instance.error import ErrorInstance
from lab.instance.http import Request, Response

#: Seconds after the last heartbeat an endpoint still counts as beating.
HEARTBEAT_GRACE = 40.0


class EndpointsController(Controller):
    routes = (
        ("GET", "/api/endpoints/known", "endpoints_known"),
        ("GET", "/api/endpoints", "endpoints"),
        ("OPTIONS", "/api/endpoints", "supported_operations"),
        ("PATCH", "/api/endpoints/{endpointId}", "endpoint_patch"),
        ("DELETE", "/api/endpoints/{endpointId}", "endpoint_delete"),
        ("GET", "/api/heartbeats/stats", "heartbeat_stats"),
    )

    def __init__(self, instance: ErrorInstance) -> None:
        self.monitoring = instance.monitoring

    def _endpoint_views(self) -> list[dict]:
        views = []
        for doc in self.monitoring.all():
            last = doc.get("last_report_at")
            beating = last is not None and (c.utcnow() - c.parse_iso(last)).total_seconds() <= HEARTBEAT_GRACE
            views.append(
                c.compact(
                    id=doc["id"],
                    name=doc["name"],
                    host_display_name=doc.get("host_display_name"),
                    monitored=doc.get("monitored", False),
                    monitor_heartbeat=doc.get("monitor_heartbeat", False),
                    heartbeat_information=c.compact(
                        last_report_at=last, reported_status="beating" if beating else "dead"
                    )
                    if last
                    else None,
                    is_sending_heartbeats=last is not None,
                )
            )
        return views

    def endpoints(self, request: Request) -> Response:
        return Response(200, self._endpoint_views())

    def supported_operations(self, request: Request) -> Response:
        """For ServicePulse to see which operations the API supports (anonymous)."""
        allow = [("Allow", verb) for verb in ("GET", "DELETE", "PATCH")]
        return Response(200, None, [*allow, ("Access-Control-Expose-Headers", "Allow")])

    def endpoints_known(self, request: Request) -> Response:
        views = [
            {
                "id": d["id"],
                "endpoint_details": {"name": d["name"], "host_id": d["host_id"], "host": d.get("host_display_name")},
                "host_display_name": d.get("host_display_name"),
            }
            for d in self.monitoring.all()
        ]
        return Response(200, views, [("Total-Count", str(len(views)))])

    def endpoint_patch(self, request: Request, endpoint_id: str) -> Response:
        body = request.json() or {}
        if not self.monitoring.set_monitored(endpoint_id, bool(body.get("monitor_heartbeat"))):
            return Response(404)
        return accepted()

    def endpoint_delete(self, request: Request, endpoint_id: str) -> Response:
        return Response(204) if self.monitoring.delete(endpoint_id) else Response(404)

    def heartbeat_stats(self, request: Request) -> Response:
        monitored = [v for v in self._endpoint_views() if v["monitored"]]
        active = sum(1 for v in monitored if (v.get("heartbeat_information") or {}).get("reported_status") == "beating")
        return Response(200, {"active": active, "failing": len(monitored) - active})
