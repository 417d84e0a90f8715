"""The HTTP APIs of the lab Error and Audit instances (routes as in ServiceControl 6.19.2's controllers).

One module per API area, one controller class per ServiceControl controller (or a few serving one area), each
with its route table (lab.instance.api.controller). ``ErrorApi`` and ``AuditApi`` list the controllers their
instance kind serves and build the router from them.
"""

from __future__ import annotations

from lab.instance.api.archive import ArchiveMessagesController
from lab.instance.api.audit import AuditKnownEndpointsController, AuditMessagesController, AuditSagasController
from lab.instance.api.authentication import AuthenticationController
from lab.instance.api.composite import CompositeViewsController
from lab.instance.api.controller import Controller, conventions_for, router_for
from lab.instance.api.custom_checks import CustomChecksController
from lab.instance.api.editing import EditingController
from lab.instance.api.endpoint_settings import EndpointSettingsController
from lab.instance.api.endpoints import EndpointsController
from lab.instance.api.event_log import EventLogController
from lab.instance.api.failed_messages import FailedMessagesController
from lab.instance.api.groups import FailureGroupsController
from lab.instance.api.license import LicenseController
from lab.instance.api.licensing import LicensingController
from lab.instance.api.messages import MessagesController
from lab.instance.api.my_routes import MyRoutesController
from lab.instance.api.notifications import NotificationsController
from lab.instance.api.redirects import RedirectsController
from lab.instance.api.remotes import RemoteInstances, instance_id_for, remote_checker
from lab.instance.api.retries import PendingRetriesController, RetryMessagesController
from lab.instance.api.root import AuditConnectionController, AuditRootController, ConnectionController, RootController
from lab.instance.audit import AuditInstance
from lab.instance.error import ErrorInstance


class ErrorApi:
    def __init__(self, instance: ErrorInstance) -> None:
        self.instance = instance
        self.settings = instance.settings
        self.remote_instances = RemoteInstances(self.settings, instance.unavailable_remotes)
        self.instance_id = self.remote_instances.instance_id
        self.my_routes = MyRoutesController()
        self.controllers: list[Controller] = [
            RootController(instance, self.remote_instances),
            ConnectionController(),
            AuthenticationController(),
            LicenseController(self.settings),
            LicensingController(instance, self.remote_instances),
            FailedMessagesController(instance),
            RetryMessagesController(instance, self.remote_instances),
            PendingRetriesController(instance),
            ArchiveMessagesController(instance),
            EditingController(instance),
            FailureGroupsController(instance),
            EndpointsController(instance),
            EndpointSettingsController(instance),
            CustomChecksController(instance),
            EventLogController(instance),
            RedirectsController(instance),
            NotificationsController(instance),
            MessagesController(instance, self.remote_instances),
            CompositeViewsController(instance, self.remote_instances),
            self.my_routes,
        ]
        self.router = router_for(self.controllers)
        self.my_routes.router = self.router
        self.router.conventions = conventions_for(self.settings)

    @property
    def remotes(self) -> list[dict]:
        return self.remote_instances.remotes

    def check_remotes(self) -> None:
        self.remote_instances.check()


class AuditApi:
    def __init__(self, instance: AuditInstance) -> None:
        self.instance = instance
        self.settings = instance.settings
        self.my_routes = MyRoutesController()
        self.controllers: list[Controller] = [
            AuditRootController(instance),
            AuditConnectionController(instance),
            AuditKnownEndpointsController(),
            AuditMessagesController(instance),
            AuditSagasController(instance),
            self.my_routes,
        ]
        self.router = router_for(self.controllers)
        self.my_routes.router = self.router
        self.router.conventions = conventions_for(self.settings)


__all__ = ["AuditApi", "ErrorApi", "instance_id_for", "remote_checker"]
