"""The discovery routes: ``/api``, the instance's configuration, its remotes, and the connection details.

ServiceControl/Infrastructure/WebApi/RootController and ServiceControl/Connection/ConnectionController (Error),
ServiceControl.Audit/Infrastructure/WebApi/RootController and ServiceControl.Audit/Connection (Audit).
"""

from __future__ import annotations

from lab.instance import common as c
from lab.instance.api.controller import Controller
from lab.instance.api.remotes import RemoteInstances
from lab.instance.audit import AuditInstance
from lab.instance.error import ErrorInstance
from lab.instance.http import Request, Response
from lab.instance.licence import lab_licence
from lab.settings import AuditSettings, ErrorSettings, format_timespan

SEARCH_URL = "endpoints/{name}/messages/search/{keyword}/{?page,per_page,direction,sort}"
MESSAGE_SEARCH_URL = "messages/search/{keyword}/{?page,per_page,direction,sort}"
ENDPOINT_MESSAGES_URL = "endpoints/{name}/messages/{?page,per_page,direction,sort}"
AUDIT_COUNT_URL = "endpoints/{name}/audit-count"


def _base_url(request: Request) -> str:
    host = request.headers.get("host", "localhost")
    return "http://%s%s/" % (host, request.path.rstrip("/"))


def _configuration_root(request: Request, name: str, extra: dict, description: str) -> dict:
    base = _base_url(request)
    urls = {
        "description": description,
        "name": name,
        "configuration": base + "configuration",
    }
    urls.update({k: (base + v if not v.startswith("/") else v) for k, v in extra.items()})
    return urls


def _host(settings: ErrorSettings | AuditSettings) -> dict:
    return {
        "instance_name": settings.instance_name,
        "logging": c.compact(log_path=settings.log_path, logging_level="Info"),
    }


class RootController(Controller):
    """The Error instance's RootController."""

    routes = (
        ("GET", "/api", "root"),
        ("GET", "/api/configuration", "configuration"),
        ("GET", "/api/instance-info", "configuration"),
        ("GET", "/api/configuration/remotes", "remote_configuration"),
    )

    def __init__(self, instance: ErrorInstance, remotes: RemoteInstances) -> None:
        self.instance = instance
        self.settings = instance.settings
        self.remotes = remotes

    def root(self, request: Request) -> Response:
        return Response(
            200,
            _configuration_root(
                request,
                "ServiceControl",
                {
                    "endpoints_error_url": "endpoints/{name}/errors/{?page,per_page,direction,sort}",
                    "known_endpoints_url": "/endpoints/known",
                    "endpoints_message_search_url": SEARCH_URL,
                    "endpoints_messages_url": ENDPOINT_MESSAGES_URL,
                    "audit_count_url": AUDIT_COUNT_URL,
                    "endpoints_url": "endpoints",
                    "errors_url": "errors/{?page,per_page,direction,sort}",
                    "remote_configuration": "configuration/remotes",
                    "message_search_url": MESSAGE_SEARCH_URL,
                    "license_details": "license",
                    "sagas_url": "sagas",
                    "event_log_items": "eventlogitems",
                    "archived_groups_url": "errors/groups/{classifier?}",
                    "get_archive_group": "archive/groups/id/{groupId}",
                    "my_routes_url": "my/routes",
                },
                "The management backend for the Particular Service Platform",
            )
            | {"license_status": "valid" if lab_licence(self.settings.features.license).valid else "invalid"},
        )

    def configuration(self, request: Request) -> Response:
        s = self.settings
        return Response(
            200,
            {
                "host": _host(s),
                "data_retention": c.compact(
                    audit_retention_period=format_timespan(s.audit_retention_period)
                    if s.audit_retention_period
                    else None,
                    error_retention_period=format_timespan(s.error_retention_period),
                ),
                "performance_tunning": {
                    "external_integrations_dispatching_batch_size": s.external_integrations_dispatching_batch_size
                },
                "persistence_settings": c.compact(database_path=str(self.instance.store.path.parent)),
                "transport": c.compact(
                    transport_type=s.transport_type,
                    error_log_queue=s.error_log_queue,
                    error_queue=s.error_queue,
                    forward_error_messages=s.forward_error_messages,
                ),
                "plugins": {"heartbeat_grace_period": s.heartbeat_grace_period},
            },
        )

    def remote_configuration(self, request: Request) -> Response:
        return Response(200, self.remotes.configurations())


class ConnectionController(Controller):
    """The Error instance's ConnectionController (platform connection details: none are provided)."""

    routes = (("GET", "/api/connection", "connection"),)

    def connection(self, request: Request) -> Response:
        return Response(200, {"settings": {}, "errors": []})


class AuditRootController(Controller):
    """The Audit instance's RootController."""

    routes = (
        ("GET", "/api", "root"),
        ("GET", "/api/configuration", "configuration"),
        ("GET", "/api/instance-info", "configuration"),
    )

    def __init__(self, instance: AuditInstance) -> None:
        self.settings = instance.settings

    def root(self, request: Request) -> Response:
        return Response(
            200,
            _configuration_root(
                request,
                "ServiceControl.Audit",
                {
                    "known_endpoints_url": "/endpoints/known",
                    "message_search_url": MESSAGE_SEARCH_URL,
                    "endpoints_message_search_url": SEARCH_URL,
                    "endpoints_messages_url": ENDPOINT_MESSAGES_URL,
                    "audit_count_url": AUDIT_COUNT_URL,
                },
                "The audit backend for the Particular Service Platform",
            ),
        )

    def configuration(self, request: Request) -> Response:
        s = self.settings
        return Response(
            200,
            {
                "host": _host(s),
                "data_retention": {"audit_retention_period": format_timespan(s.audit_retention_period)},
                "performance_tunning": {"max_body_size_to_store": s.max_body_size_to_store},
                "transport": c.compact(
                    transport_type=s.transport_type,
                    audit_log_queue=s.audit_log_queue,
                    audit_queue=s.audit_queue,
                    forward_audit_messages=s.forward_audit_messages,
                ),
                "persistence": {"persistence_type": "RavenDB"},
                "plugins": {},
            },
        )


class AuditConnectionController(Controller):
    """The Audit instance's ConnectionController: where endpoints send audits and saga audits."""

    routes = (("GET", "/api/connection", "connection"),)

    def __init__(self, instance: AuditInstance) -> None:
        self.settings = instance.settings

    def connection(self, request: Request) -> Response:
        return Response(
            200,
            {
                "MessageAudit": {"Enabled": True, "AuditQueue": self.settings.audit_queue},
                "SagaAudit": {"Enabled": True, "SagaAuditQueue": self.settings.audit_queue},
            },
        )
