# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""The instance layer: what a running ServiceControl instance is, read over its HTTP API.

Every module that needs to know an instance (``instance_info``, and the modules that configure, verify,
pause or replace instances) reads it here, so kind detection and the summary of ``/api/configuration``
exist once. Facts: docs/reference/servicecontrol.md §2 (routes and JSON shapes), §2.2 and §2.12 (instance kinds).

* An Error instance's configuration has ``transport.error_queue``; an Audit instance's has
  ``transport.audit_queue``.
* A Monitoring instance has no ``/api``: its root document says ``instanceType: monitoring`` (camelCase,
  its own serialiser), and ``/connection`` names its metrics queue.
"""

from __future__ import annotations

from ansible_collections.servicecontrol.platform.plugins.module_utils._api import ServiceControlApiError

# /api answers 404 on a Monitoring instance (its API lives at the root); with authentication enabled the
# fallback authorization policy answers 401/403 for the unknown route instead.
NOT_AN_API_ROOT = (401, 403, 404)

#: The queue settings each kind reports in its configuration, and the flag that says it forwards.
KIND_QUEUES = {
    "error": (("error_queue", "error_log_queue"), "forward_error_messages"),
    "audit": (("audit_queue", "audit_log_queue"), "forward_audit_messages"),
}


def kind_of(configuration):
    """``error``, ``audit`` or None, from an ``/api/configuration`` document."""
    transport = (configuration or {}).get("transport") or {}
    if "error_queue" in transport:
        return "error"
    if "audit_queue" in transport:
        return "audit"
    return None


def summarize_configuration(configuration):
    """The fields every kind of instance returns, taken from an Error or Audit ``/api/configuration``."""
    configuration = configuration if isinstance(configuration, dict) else {}
    kind = kind_of(configuration)
    host = configuration.get("host") or {}
    transport = configuration.get("transport") or {}
    queue_keys, forwarding_key = KIND_QUEUES.get(kind, ((), None))
    return {
        "instance_kind": kind,
        "instance_name": host.get("instance_name"),
        "transport": transport.get("transport_type"),
        "queues": {key: transport.get(key) for key in queue_keys},
        "forwarding": transport.get(forwarding_key) if forwarding_key else None,
        "data_retention": configuration.get("data_retention") or {},
    }


def summarize_remote(remote):
    """One entry of ``/api/configuration/remotes``, with the remote's kind and name when it answered."""
    configuration = remote.get("configuration") if isinstance(remote.get("configuration"), dict) else None
    summary = summarize_configuration(configuration) if configuration else {}
    return {
        "api_uri": remote.get("api_uri"),
        "status": remote.get("status"),
        "version": remote.get("version"),
        "instance_kind": summary.get("instance_kind"),
        "instance_name": summary.get("instance_name"),
        "transport": summary.get("transport"),
        "configuration": configuration,
    }


def monitoring_root(client):
    """The Monitoring root response, or None when the instance root is not a Monitoring instance's."""
    try:
        response = client.get("", root=True)
        document = response.body
    except ServiceControlApiError:
        return None
    if not isinstance(document, dict):
        return None
    kind = document.get("instanceType", document.get("instance_type"))
    return response if kind == "monitoring" else None


def read_monitoring(client, root_response, warn):
    """The description of a Monitoring instance from its root response and ``/connection``."""
    queues = {}
    try:
        connection = client.get("connection", root=True).body
    except ServiceControlApiError as exc:
        if exc.status not in (401, 403):
            raise
        warn("Could not read the Monitoring instance's metrics queue: %s" % exc)
    else:
        metrics = (connection or {}).get("Metrics") or {}
        if metrics.get("MetricsQueue"):
            queues["metrics_queue"] = metrics["MetricsQueue"]
    return {
        "url": client.instance_url,
        "version": root_response.version_text or root_response.body.get("version"),
        "instance_kind": "monitoring",
        "instance_name": None,
        "transport": None,
        "queues": queues,
        "forwarding": None,
        "data_retention": {},
        "license_status": None,
        "remotes": [],
        "configuration": {},
    }


def read_instance(client, include_remotes=True, warn=None):
    """Describe the instance behind ``client``: kind, name, version, queues, forwarding, remotes.

    Raises ServiceControlApiError when the instance cannot be read or is not a ServiceControl instance.
    """
    warn = warn or (lambda message: None)
    try:
        root = client.get("").body
    except ServiceControlApiError as exc:
        if exc.status in NOT_AN_API_ROOT:
            monitoring = monitoring_root(client)
            if monitoring is not None:
                return read_monitoring(client, monitoring, warn=warn)
        raise
    response = client.get("configuration")
    configuration = response.body
    if not isinstance(configuration, dict) or kind_of(configuration) is None:
        raise client.error(
            response,
            "the configuration has neither transport.error_queue nor transport.audit_queue, so this is not a "
            "ServiceControl Error or Audit instance; check url",
        )
    result = summarize_configuration(configuration)
    result.update(
        url=client.api_url,
        version=response.version_text,
        license_status=root.get("license_status")
        if isinstance(root, dict) and result["instance_kind"] == "error"
        else None,
        remotes=[],
        configuration=configuration,
    )
    if include_remotes and result["instance_kind"] == "error":
        remotes = client.get("configuration/remotes").expect(list, "the remote instances")
        result["remotes"] = [summarize_remote(remote) for remote in remotes if isinstance(remote, dict)]
    return result
