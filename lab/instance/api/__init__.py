"""The HTTP APIs of the lab Error and Audit instances (routes as in ServiceControl 6.19.2's controllers).

One module per API area, one controller class per ServiceControl controller (or a few serving one area), each
with its route table (lab.instance.api.controller). ``ErrorApi`` and ``AuditApi`` list the controllers their
instance kind serves and build the router from them.
"""

from __future__ import annotations

from lab.instance.api.archive import ArchiveMessagesController
from lab.instance.api.audit import AuditKnownEndpointsController, AuditMessagesController
from lab.instance.api.controller import Controller, router_for
from lab.instance.api.custom_checks import CustomChecksController
from lab.instance.api.endpoints import EndpointsController
from lab.instance.api.failed_messages import FailedMessagesController
from lab.instance.api.groups import FailureGroupsController
from lab.instance.api.license import LicenseController
from lab.instance.api.messages import MessagesController
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
        self.controllers: list[Controller] = [
            RootController(instance, self.remote_instances),
            ConnectionController(),
            LicenseController(),
            FailedMessagesController(instance),
            RetryMessagesController(instance, self.remote_instances),
            PendingRetriesController(instance),
            ArchiveMessagesController(instance),
            FailureGroupsController(instance),
            EndpointsController(instance),
            CustomChecksController(instance),
            MessagesController(instance, self.remote_instances),
        ]
        self.router = router_for(self.controllers)

    @property
    def remotes(self) -> list[dict]:
        return self.remote_instances.remotes

    def check_remotes(self) -> None:
        self.remote_instances.check()


class AuditApi:
    def __init__(self, instance: AuditInstance) -> None:
        self.instance = instance
        self.settings = instance.settings
        self.controllers: list[Controller] = [
            AuditRootController(instance),
            AuditConnectionController(instance),
            AuditKnownEndpointsController(instance),
            AuditMessagesController(instance),
        ]
        self.router = router_for(self.controllers)


__all__ = ["AuditApi", "ErrorApi", "instance_id_for", "remote_checker"]
