# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: not a public API; other collections must not import it.
"""The one description of a ServiceControl topology, validated once and read by every role.

A topology is a dict::

    transport:
      type: RabbitMQ.QuorumConventionalRouting     # ServiceControl TransportType name
      connection_string: host=rabbit;username=...  # ServiceControl's format (secret)
    instances:
      - name: Particular.ServiceControl            # InstanceName: Windows service name and input queue
        kind: error                                # error | audit | monitoring
        role: primary                              # primary | backup
        settings:                                  # ServiceControl's own keys
          ServiceControl/ForwardErrorMessages: true
          ServiceBus/ErrorLogQueue: error_backup

Everything derived from it (queue names, forwarding pairs) is computed here, on the controller, so it
is unit-tested once and the same for Windows, container and lab targets.
"""

from __future__ import annotations

from ansible_collections.servicecontrol.platform.plugins.module_utils._backups import derive_backups
from ansible_collections.servicecontrol.platform.plugins.module_utils._deployment import instance_url
from ansible_collections.servicecontrol.platform.plugins.module_utils._settings import (
    KIND_NAMESPACES,
    effective_settings,
    environment_name,
    format_value,
    validate_settings,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    TRANSPORT_TYPES,
    transport_options_for,
)

ROLES = ("primary", "backup")
TOPOLOGY_KEYS = frozenset(("transport", "instances", "servicepulse"))
INSTANCE_KEYS = frozenset(("name", "kind", "role", "settings", "host", "url", "version", "target", "backup_of"))
TRANSPORT_KEYS = frozenset(("type", "connection_string", "options"))
# ServicePulse installations pointed at an Error instance (docs/topology.md, docs/reference/servicecontrol.md §3.3):
# the keys every kind takes, and those of each kind.
SERVICEPULSE_KINDS = {
    "standalone": frozenset(("path", "os")),
    "container": frozenset(("engine", "container", "image", "port", "env")),
    "integrated": frozenset(("instance",)),
}
SERVICEPULSE_COMMON_KEYS = frozenset(("name", "kind", "host", "url"))
SERVICEPULSE_REQUIRED = {
    "standalone": ("path", "url"),
    "container": ("container", "image", "url"),
    "integrated": ("instance",),
}


class TopologyError(ValueError):
    """The topology description is wrong. The message names every problem and never contains a secret."""


def _instance_label(instance, index):
    name = instance.get("name") if isinstance(instance, dict) else None
    return "instances[%d]%s" % (index, " (%s)" % name if name else "")


def _check_transport(transport, problems):
    if not isinstance(transport, dict):
        problems.append("'transport' must be a mapping with 'type' and 'connection_string'.")
        return
    unknown = sorted(set(transport) - TRANSPORT_KEYS)
    if unknown:
        problems.append(
            "transport has unknown key(s) %s; allowed: %s." % (", ".join(unknown), ", ".join(sorted(TRANSPORT_KEYS)))
        )
    if transport.get("type") not in TRANSPORT_TYPES:
        problems.append(
            "transport.type '%s' is not a ServiceControl TransportType; use one of: %s."
            % (transport.get("type"), ", ".join(sorted(TRANSPORT_TYPES)))
        )
    options = transport.get("options")
    if options is not None and not isinstance(options, dict):
        problems.append("transport.options must be a mapping of queue module options.")
    elif options and transport.get("type") in TRANSPORT_TYPES:
        # The queues role hands every option to the queue module: a misspelt one must not vanish silently.
        valid = transport_options_for(transport["type"])
        unknown = sorted(str(key) for key in options if key not in valid)
        if unknown:
            problems.append(
                "transport.options has option(s) %s that do not apply to %s; valid options: %s."
                % (", ".join(unknown), transport["type"], ", ".join(sorted(valid)))
            )


def _check_instance(instance, index, problems):
    label = _instance_label(instance, index)
    if not isinstance(instance, dict):
        problems.append("%s must be a mapping with at least 'name' and 'kind'." % label)
        return None
    unknown = sorted(set(instance) - INSTANCE_KEYS)
    if unknown:
        problems.append(
            "%s has unknown key(s) %s; allowed: %s." % (label, ", ".join(unknown), ", ".join(sorted(INSTANCE_KEYS)))
        )
    name, kind, role = instance.get("name"), instance.get("kind"), instance.get("role", "primary")
    if not name or not isinstance(name, str):
        problems.append("%s needs a 'name' (its InstanceName, e.g. Particular.ServiceControl)." % label)
    if kind not in KIND_NAMESPACES:
        problems.append("%s has kind '%s'; use one of: %s." % (label, kind, ", ".join(KIND_NAMESPACES)))
        return None
    if role not in ROLES:
        problems.append("%s has role '%s'; use primary or backup." % (label, role))
    settings = instance.get("settings") or {}
    if not isinstance(settings, dict):
        problems.append("%s: 'settings' must be a mapping of ServiceControl setting keys to values." % label)
        return None
    # What ServiceControl would refuse, before any change: keys it does not read (nearest ones suggested),
    # unreadable or out-of-range values with its reason, settings the instance's version does not read yet
    # (docs/reference/servicecontrol.md §1.2-§1.5, §1.7). Required settings are not demanded here: the
    # installer, the image or the instance roles supply them.
    setting_problems = validate_settings(kind, settings, instance.get("version"), check_required=False)
    problems.extend("%s: %s" % (label, problem) for problem in setting_problems)
    if setting_problems:
        return None
    try:
        effective = effective_settings(kind, settings)
    except ValueError as exc:
        problems.append("%s: %s" % (label, exc))
        return None
    # The instance name is also the InstanceName setting; the two must not disagree.
    name_key = "%s/InstanceName" % KIND_NAMESPACES[kind]
    if name and settings.get(name_key) not in (None, name):
        problems.append("%s: settings %s='%s' differs from name '%s'." % (label, name_key, settings[name_key], name))
    effective[name_key] = name
    return {
        "name": name,
        "kind": kind,
        "role": role,
        "settings": effective,
        "host": instance.get("host"),
        "url": instance.get("url"),
        "version": instance.get("version"),
        "target": instance.get("target"),
        "backup_of": instance.get("backup_of"),
    }


def ingest_queue(instance):
    """The queue an instance ingests (error or audit), or None for monitoring."""
    key = {"error": "ServiceBus/ErrorQueue", "audit": "ServiceBus/AuditQueue"}.get(instance["kind"])
    return instance["settings"].get(key) if key else None


def forward_queue(instance):
    """The log queue a forwarding instance writes every ingested message to, or None."""
    settings = instance["settings"]
    if instance["kind"] == "error" and settings.get("ServiceControl/ForwardErrorMessages"):
        return settings["ServiceBus/ErrorLogQueue"]
    if instance["kind"] == "audit" and settings.get("ServiceControl.Audit/ForwardAuditMessages"):
        return settings["ServiceBus/AuditLogQueue"]
    return None


def _check_relations(instances, problems):
    by_name = {}
    for instance in instances:
        # Two instances with one InstanceName on one broker share the input and staging queues and can
        # drop each other's staged retries (ServiceControl's ReturnToSenderDequeuer).
        other = by_name.get(instance["name"].lower())
        if other:
            problems.append(
                "Instances %s (%s, %s) and %s (%s, %s) share the InstanceName '%s'; they would share the input "
                "and staging queues. Give the %s instance its own name, e.g. '%s.Backup'."
                % (
                    other["name"],
                    other["kind"],
                    other["role"],
                    instance["name"],
                    instance["kind"],
                    instance["role"],
                    instance["name"],
                    instance["role"],
                    instance["name"],
                )
            )
        by_name[instance["name"].lower()] = instance
    for instance in instances:
        ingest, forward = ingest_queue(instance), forward_queue(instance)
        if forward and ingest and forward == ingest:
            problems.append(
                "Instance %s forwards to '%s', the queue it ingests; set a different log queue (e.g. %s_backup)."
                % (instance["name"], forward, ingest)
            )
    for kind in ("error", "audit"):
        primaries = [i for i in instances if i["kind"] == kind and i["role"] == "primary"]
        for backup in (i for i in instances if i["kind"] == kind and i["role"] == "backup"):
            for primary in primaries:
                if ingest_queue(backup) == ingest_queue(primary):
                    problems.append(
                        "Backup %s instance %s ingests '%s', the primary %s's queue; a backup ingests what the "
                        "primary forwards (set %s to the primary's log queue, e.g. %s_backup)."
                        % (
                            kind,
                            backup["name"],
                            ingest_queue(backup),
                            primary["name"],
                            "ServiceBus/ErrorQueue" if kind == "error" else "ServiceBus/AuditQueue",
                            ingest_queue(primary),
                        )
                    )


def _servicepulse_kind_keys(entry, kind, label, errors, problems):
    """The keys of one kind of ServicePulse, with their defaults, and their problems."""
    shaped = {key: entry.get(key) for key in SERVICEPULSE_KINDS[kind]}
    for key in SERVICEPULSE_REQUIRED[kind]:
        if not entry.get(key):
            problems.append("%s: a %s ServicePulse needs '%s'." % (label, kind, key))
    if kind == "standalone":
        shaped["os"] = entry.get("os") or "linux"
        if shaped["os"] not in ("linux", "windows"):
            problems.append("%s has os '%s'; use linux or windows." % (label, shaped["os"]))
    elif kind == "container":
        shaped["engine"] = entry.get("engine") or "podman"
        shaped["env"] = dict(entry.get("env") or {})
        if shaped["engine"] not in ("podman", "docker"):
            problems.append("%s has engine '%s'; use podman or docker." % (label, shaped["engine"]))
        if "SERVICECONTROL_URL" in shaped["env"]:
            problems.append(
                "%s: env sets SERVICECONTROL_URL, which the servicepulse role sets to the Error instance's URL; "
                "remove it from env." % label
            )
    elif entry.get("instance") and entry["instance"] not in errors:
        problems.append(
            "%s: instance '%s' is not an Error instance of the topology (Error instances: %s); integrated "
            "ServicePulse is served by an Error instance."
            % (label, entry["instance"], ", ".join(sorted(errors)) or "none")
        )
    return shaped


def _check_servicepulse(entries, instances, problems):
    """Validate the optional ``servicepulse`` list; return it normalised (every key present, defaults set)."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        problems.append("'servicepulse' must be a list of ServicePulse installations (docs/topology.md).")
        return []
    errors = {i["name"] for i in instances if i["kind"] == "error"}
    normalised, seen = [], set()
    for index, entry in enumerate(entries):
        name = entry.get("name") if isinstance(entry, dict) else None
        label = "servicepulse[%d]%s" % (index, " (%s)" % name if name else "")
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind not in SERVICEPULSE_KINDS:
            problems.append(
                "%s must be a mapping with 'name' and a 'kind' (one of: %s)." % (label, ", ".join(SERVICEPULSE_KINDS))
            )
            continue
        allowed = SERVICEPULSE_COMMON_KEYS | SERVICEPULSE_KINDS[kind]
        unknown = sorted(str(key) for key in entry if key not in allowed)
        if unknown:
            problems.append(
                "%s has key(s) %s, which a %s ServicePulse does not take; allowed: %s."
                % (label, ", ".join(unknown), kind, ", ".join(sorted(allowed)))
            )
        if not name or not isinstance(name, str):
            problems.append("%s needs a 'name'." % label)
        elif name.lower() in seen:
            problems.append("%s: another ServicePulse entry is already named '%s'." % (label, name))
        else:
            seen.add(name.lower())
        shaped = {key: entry.get(key) for key in SERVICEPULSE_COMMON_KEYS}
        shaped.update(_servicepulse_kind_keys(entry, kind, label, errors, problems))
        normalised.append(shaped)
    return normalised


def _url_of(raw_instance):
    """An instance's API address for RemoteInstances: its ``url``, or derived from its target and port."""
    try:
        return instance_url(raw_instance)
    except (KeyError, TypeError, ValueError):
        return None


def validate_topology(topology):
    """Validate the whole description and return it normalised (settings completed with defaults).

    Raises TopologyError listing every problem at once.
    """
    problems = []
    if not isinstance(topology, dict):
        raise TopologyError("The topology must be a mapping with 'transport' and 'instances'.")
    unknown = sorted(str(key) for key in topology if key not in TOPOLOGY_KEYS)
    if unknown:
        problems.append(
            "Unknown topology key(s): %s; a topology has %s (a misspelt key would be ignored silently)."
            % (", ".join(unknown), ", ".join(sorted(TOPOLOGY_KEYS)))
        )
    _check_transport(topology.get("transport"), problems)
    raw_instances = topology.get("instances")
    if not isinstance(raw_instances, list) or not raw_instances:
        problems.append("'instances' must be a non-empty list of ServiceControl instances.")
        raw_instances = []
    # Backups derived, not repeated: the DR settings of primaries and backups come from who backs up whom.
    raw_instances, derive_problems = derive_backups(raw_instances, _url_of)
    problems.extend(derive_problems)
    instances = [i for i in (_check_instance(x, n, problems) for n, x in enumerate(raw_instances)) if i and i["name"]]
    if not problems:
        _check_relations(instances, problems)
    servicepulse = _check_servicepulse(topology.get("servicepulse"), instances, problems)
    if problems:
        raise TopologyError("The ServiceControl topology is invalid: " + " ".join(problems))
    transport = topology["transport"]
    return {
        "transport": {
            "type": transport["type"],
            "connection_string": transport.get("connection_string"),
            "options": dict(transport.get("options") or {}),
        },
        "instances": instances,
        "servicepulse": servicepulse,
    }


def instance_queues(instance):
    """The queues an instance's own setup creates besides its ingest and log queues.

    See docs/reference/servicecontrol.md §5.
    """
    name, kind = instance["name"], instance["kind"]
    if kind == "error":
        throughput = instance["settings"]["LicensingComponent/ServiceControlThroughputDataQueue"]
        return [name, name + ".Errors", name + ".staging", throughput]
    if kind == "audit":
        return [name, name + ".Errors"]
    return [name]


def topology_queues(topology, include_instance_queues=False):
    """All queues the topology needs, in the documented DR order and without duplicates.

    Order: the standard ingest queues (error, audit), then the backup/log queues the primaries forward to,
    then (optionally) every instance's own queues.
    """
    normalised = validate_topology(topology)
    instances = normalised["instances"]
    ordered = []
    primaries = [i for i in instances if i["role"] == "primary"]
    backups = [i for i in instances if i["role"] == "backup"]
    ordered += [ingest_queue(i) for i in primaries]
    ordered += [forward_queue(i) for i in primaries]
    ordered += [ingest_queue(i) for i in backups]
    ordered += [forward_queue(i) for i in backups]
    if include_instance_queues:
        for instance in instances:
            ordered += instance_queues(instance)
    result = []
    for queue in ordered:
        if queue and queue not in result:
            result.append(queue)
    return result


def find_instance(normalised, name):
    """The normalised instance with that name, or a TopologyError listing the names there are."""
    for instance in normalised["instances"]:
        if instance["name"] == name:
            return instance
    raise TopologyError(
        "No instance named '%s' in the topology; it has: %s."
        % (name, ", ".join(i["name"] for i in normalised["instances"]))
    )


def instance_environment(topology, name):
    """Environment variables that configure one instance exactly as its settings say (containers, lab).

    Includes the transport (``<NAMESPACE>_TRANSPORTTYPE`` and ``<NAMESPACE>_CONNECTIONSTRING``) and every
    setting that was given or has a ServiceControl default, all fully qualified.
    """
    normalised = validate_topology(topology)
    instance = find_instance(normalised, name)
    namespace = KIND_NAMESPACES[instance["kind"]]
    environment = {environment_name(namespace + "/TransportType"): normalised["transport"]["type"]}
    if normalised["transport"]["connection_string"] is not None:
        environment[environment_name(namespace + "/ConnectionString")] = normalised["transport"]["connection_string"]
    for key, value in sorted(instance["settings"].items()):
        if value is not None:
            environment[environment_name(key)] = format_value(value)
    return environment
