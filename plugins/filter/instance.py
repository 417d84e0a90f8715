# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that decide, on the controller, how one instance of the topology is deployed (see instance_plan.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.servicecontrol.platform.plugins.module_utils._deployment import (
    TARGET_TYPES,
    DeploymentError,
    config_file_settings,
    container_definitions,
    deployment_problems,
    desired_settings,
    ingestion_settings,
    instance_url,
    lab_definition,
    mask,
    secret_keys,
    settings_changes,
    verification_problems,
    windows_create,
    windows_remove,
    windows_upgrade,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._exe_config import (
    EXE_CONFIG_TEMPLATE,
    ExeConfigError,
    read_config,
    update_config,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import (
    TopologyError,
    find_instance,
    validate_topology,
)


def _instance(topology, name, ingestion=None):
    normalised = validate_topology(topology)
    problems = deployment_problems(normalised["instances"])
    if problems:
        raise DeploymentError("The topology cannot be deployed: " + " ".join(problems))
    instance = find_instance(normalised, name)
    if ingestion is not None:
        # Ingestion on/off is a setting whose key depends on the kind and version (IngestErrorMessages 4.33+).
        instance["settings"].update(ingestion_settings(instance, bool(ingestion)))
    return normalised, instance


def _instance_plan(topology, name, ingestion=None):
    try:
        normalised, instance = _instance(topology, name, ingestion)
        transport = normalised["transport"]
        target = dict(instance.get("target") or {})
        target_type = target.get("type")
        if target_type not in TARGET_TYPES:
            raise DeploymentError(
                "Instance %s has target.type '%s'; use one of: %s." % (name, target_type, ", ".join(TARGET_TYPES))
            )
        secrets = secret_keys(instance)
        settings = desired_settings(instance, transport)
        plan = {
            "name": instance["name"],
            "kind": instance["kind"],
            "role": instance["role"],
            "version": instance.get("version"),
            "target_type": target_type,
            "host": instance.get("host") or target.get("host"),
            "target": target,
            "url": instance_url(instance, target),
            "settings": settings,
            "settings_shown": {key: mask(key, value, secrets) for key, value in settings.items()},
        }
        if target_type == "windows":
            plan["windows"] = windows_create(instance, transport, target, target.get("skip_queue_creation", True))
            plan["windows"]["remove"] = windows_remove(
                instance, target.get("remove_database", False), target.get("remove_logs", False)
            )
        elif target_type == "container":
            plan["container"] = container_definitions(instance, transport, target)
            plan["container"]["engine"] = target.get("engine", "podman")
            plan["container"]["remove_database"] = bool(target.get("remove_database", False))
        else:
            plan["lab"] = lab_definition(instance, transport, target)
        return plan
    except (TopologyError, DeploymentError) as exc:
        raise AnsibleFilterError(str(exc)) from None


def _instance_upgrade(current_version, topology, name):
    """The upgrade cmdlet and parameters from ``current_version`` to the topology's version, or None when equal.

    Fails with the path Particular's tooling requires when the upgrade is not allowed.
    """
    try:
        normalised, instance = _instance(topology, name)
        if not current_version or str(current_version) == str(instance.get("version")):
            return None
        target = instance.get("target") or {}
        return windows_upgrade(
            instance, str(current_version), normalised["transport"]["type"], target.get("skip_queue_creation", True)
        )
    except (TopologyError, DeploymentError) as exc:
        raise AnsibleFilterError(str(exc)) from None


def _exe_config_update(text, topology, name, ingestion=None):
    """The instance's .exe.config with its settings applied: {content, changed, changes (secrets masked)}."""
    try:
        normalised, instance = _instance(topology, name, ingestion)
        app_settings, connection_strings = config_file_settings(instance, normalised["transport"])
        current = text if text and str(text).strip() else EXE_CONFIG_TEMPLATE
        content, changes = update_config(current, app_settings, connection_strings)
    except (TopologyError, DeploymentError, ExeConfigError) as exc:
        raise AnsibleFilterError("%s: %s" % (name, exc)) from None
    secrets = secret_keys(instance) | {"nservicebus/transport"}
    shown = [
        dict(
            change,
            before=mask(change["key"], change["before"], secrets),
            after=mask(change["key"], change["after"], secrets),
        )
        for change in changes
    ]
    return {"content": content, "changed": content != current or not (text and str(text).strip()), "changes": shown}


def _exe_config_settings(text):
    """The appSettings and connection strings of an .exe.config (for reports; holds secrets)."""
    try:
        return read_config(text)
    except ExeConfigError as exc:
        raise AnsibleFilterError(str(exc)) from None


def _instance_verification(described, topology, name):
    """What the running instance reports that differs from the topology (empty list when it matches)."""
    try:
        _normalised, instance = _instance(topology, name)
    except (TopologyError, DeploymentError) as exc:
        raise AnsibleFilterError(str(exc)) from None
    return verification_problems(instance, described or {})


def _settings_changes(current, desired, secrets=()):
    return settings_changes(current, desired, {s.lower() for s in secrets})


class FilterModule:
    def filters(self):
        return {
            "instance_plan": _instance_plan,
            "exe_config_update": _exe_config_update,
            "exe_config_settings": _exe_config_settings,
            "instance_verification": _instance_verification,
            "instance_upgrade": _instance_upgrade,
            "settings_changes": _settings_changes,
        }
