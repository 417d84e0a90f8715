# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""The controller-side decisions of replacing an Error instance without downtime (docs/replacing-error-instances.md).

ServiceControl's "Replacing an Error instance" procedure (docs/reference/servicecontrol.md §4.1): every instance
on 4.33.0 or later, a quiet period, error ingestion off on the old instance, every failed message retried or
archived, then a new Error instance with the old one's remotes (or a forced upgrade where ServiceControl allows
it). Everything decided here is pure: the plan of the replacement from the topology, the version preflight from
``instance_info`` results, the quiet-period check, and the reconciliation that proves no failed message was lost.
"""

from __future__ import annotations

from ansible_collections.servicecontrol.platform.plugins.module_utils._backups import derive_backups
from ansible_collections.servicecontrol.platform.plugins.module_utils._deployment import (
    CONTAINER_PORTS,
    DEFAULT_PORTS,
    MASK,
    RAVENDB_PORT,
    TARGET_TYPES,
    DeploymentError,
    container_definitions,
    container_name,
    deployment_problems,
    instance_url,
    lab_definition,
    windows_create,
    windows_paths,
    windows_upgrade,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._redact import strip_userinfo
from ansible_collections.servicecontrol.platform.plugins.module_utils._report import instance_rows, shown_settings
from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import (
    TopologyError,
    validate_topology,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._version import parse_version

STRATEGIES = ("new_name", "keep_name", "force_upgrade")
#: The first release with ServiceControl/IngestErrorMessages, which the procedure relies on (§4.1).
MINIMUM_VERSION = "4.33.0"
NEW_NAME_SUFFIX = ".New"
NEW_KEYS = frozenset(("name", "url", "host", "target", "version", "settings"))

#: Settings that never carry over: the name is the new one's, ingestion is switched by the procedure, and an
#: external database belongs to the old instance (the new one needs its own).
NEVER_CARRIED = frozenset(
    key.lower()
    for key in (
        "ServiceControl/InstanceName",
        "ServiceControl/InternalQueueName",
        "ServiceControl/IngestErrorMessages",
        "ServiceControl/RavenDB/ConnectionString",
    )
)
#: Host-specific settings and target keys. On another host they carry over (the same layout on another
#: machine); on the same host, ports carry over only when the old instance is stopped first (keep_name), paths
#: and names never (the new spec gives them, or the defaults derived from the new name apply).
PORT_SETTINGS = frozenset(("servicecontrol/port", "servicecontrol/databasemaintenanceport"))
PATH_SETTINGS = frozenset(("servicecontrol/dbpath", "servicecontrol/logpath"))
PORT_TARGET_KEYS = frozenset(("port", "ravendb_port"))
PATH_TARGET_KEYS = frozenset(("install_path", "db_path", "log_path", "data_root", "directory", "container_name"))
SECRET_TARGET_KEYS = frozenset(("service_account_password", "license"))

#: Failed-message statuses (ServiceControl's FailedMessageStatus, as the API writes them, §2.3).
ACCOUNTED_ON_OLD = frozenset(("archived", "retryissued", "resolved"))

QUIET_PERIOD_DEFAULTS = {
    "max_error_queue_depth": 100,
    "max_unresolved": 1000,
    "max_recent_failures": 10,
    "recent_minutes": 15,
    "mode": "refuse",
}
QUIET_PERIOD_MODES = ("refuse", "warn")


class ReplacementError(ValueError):
    """The replacement cannot go ahead as asked. The message names every problem and never holds a secret."""


# -- small helpers ------------------------------------------------------------------------------------------


def _plain(value):
    """A plain copy of mappings and lists (reading, not copy.deepcopy: Ansible hands lazily templated containers)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _target(instance):
    target = instance.get("target")
    return target if isinstance(target, dict) else {}


def _host(instance):
    """The machine an instance runs on, as deployment_problems sees it."""
    return str(instance.get("host") or _target(instance).get("host") or "localhost").lower()


def _path_key(path):
    return str(path).replace("\\", "/").rstrip("/").lower() if path else None


def _url_of(instance):
    try:
        return instance_url(instance)
    except (KeyError, TypeError, ValueError):
        return None


def _is_forwarding(settings):
    value = settings.get("ServiceControl/ForwardErrorMessages")
    return value is True or str(value).strip().lower() == "true"


# -- ports, paths and identities on a host ------------------------------------------------------------------


def instance_ports(instance):
    """Every host port an instance listens on: the API, and the database where it is on the host."""
    target, kind = _target(instance), instance["kind"]
    if target.get("type") == "container":
        if target.get("network") == "host":
            # Particular's images cannot move their port; RavenDB moves to ravendb_port (or stays on 8080).
            ports = [CONTAINER_PORTS[kind]]
            if kind in ("error", "audit"):
                ports.append(int(target.get("ravendb_port") or RAVENDB_PORT))
            return ports
        ports = [int(target.get("port") or DEFAULT_PORTS[kind])]
        if target.get("ravendb_port"):
            ports.append(int(target["ravendb_port"]))
        return ports
    namespace = {"error": "ServiceControl", "audit": "ServiceControl.Audit", "monitoring": "Monitoring"}[kind]
    settings = {str(k).lower(): v for k, v in (instance.get("settings") or {}).items()}
    port_key = "monitoring/httpport" if kind == "monitoring" else "%s/port" % namespace.lower()
    port = int(settings.get(port_key) or DEFAULT_PORTS[kind])
    ports = [port]
    maintenance = settings.get("%s/databasemaintenanceport" % namespace.lower())
    if maintenance:
        ports.append(int(maintenance))
    elif kind in ("error", "audit") and target.get("type") == "windows":
        # The cmdlets need a maintenance port; the collection passes Port+1 (windows_create).
        ports.append(port + 1)
    return ports


def _locations(instance):
    """{what: normalised location} of the things two instances on one host must not share."""
    target, kind = _target(instance), instance["kind"]
    namespace = {"error": "ServiceControl", "audit": "ServiceControl.Audit", "monitoring": "Monitoring"}[kind]
    settings = {str(k).lower(): v for k, v in (instance.get("settings") or {}).items()}
    locations = {}
    if target.get("type") == "windows":
        paths = windows_paths(instance, target)
        locations["InstallPath"] = _path_key(paths["InstallPath"])
        locations["DbPath"] = _path_key(paths["DBPath"])
        locations["LogPath"] = _path_key(paths["LogPath"])
    elif target.get("type") == "container":
        name = container_name(instance, target)
        locations["container"] = name
        if kind in ("error", "audit"):
            locations["database volume"] = "%s-db-data" % name
    elif target.get("type") == "lab" and target.get("directory"):
        locations["target directory"] = _path_key(target["directory"])
    for key, label in (("dbpath", "DbPath"), ("logpath", "LogPath")):
        value = settings.get("%s/%s" % (namespace.lower(), key))
        if value:
            locations[label] = _path_key(value)
    return locations


def _identity(instance):
    """What makes two instances the same service on one host: a Windows service, a container, a lab directory."""
    target = _target(instance)
    kind = target.get("type")
    if kind == "windows":
        return ("windows", instance["name"].lower())
    if kind == "container":
        return ("container", container_name(instance, target))
    if kind == "lab":
        return ("lab", _path_key(target.get("directory")))
    return (kind, instance["name"].lower())


def _database(instance):
    """Where the instance keeps its database, to tell whether the new one would open the old one's."""
    locations = _locations(instance)
    return locations.get("database volume") or locations.get("DbPath")


# -- the plan ------------------------------------------------------------------------------------------------


def _version_problems(label, version, problems):
    if version in (None, ""):
        return None
    parsed = parse_version(str(version))
    if parsed is None:
        problems.append(
            "%s has version '%s', which is not a ServiceControl version; give e.g. 6.19.2." % (label, version)
        )
        return None
    if parsed < parse_version(MINIMUM_VERSION):
        problems.append(
            "%s has version %s; replacing an Error instance needs %s or later everywhere (the first release with "
            "ServiceControl/IngestErrorMessages). Upgrade it to %s or later first."
            % (label, version, MINIMUM_VERSION, MINIMUM_VERSION)
        )
    return parsed


def _new_spec(new, problems):
    if new is None:
        return {}
    if not isinstance(new, dict):
        raise ReplacementError("The new instance must be a mapping with any of: %s." % ", ".join(sorted(NEW_KEYS)))
    spec = _plain(new)
    unknown = sorted(str(key) for key in spec if key not in NEW_KEYS)
    if unknown:
        problems.append(
            "The new instance has unknown key(s) %s; allowed: %s." % (", ".join(unknown), ", ".join(sorted(NEW_KEYS)))
        )
    if spec.get("settings") is not None and not isinstance(spec["settings"], dict):
        problems.append("The new instance's 'settings' must be a mapping of ServiceControl setting keys to values.")
        spec["settings"] = {}
    if spec.get("target") is not None and not isinstance(spec["target"], dict):
        problems.append("The new instance's 'target' must be a mapping (see docs/instances.md, Targets).")
        spec["target"] = {}
    return spec


def _new_target(old_raw, spec, same_host, keep_ports):
    old_target = dict(_target(old_raw))
    spec_target = dict(spec.get("target") or {})
    if spec_target.get("type") and spec_target["type"] != old_target.get("type"):
        return spec_target  # another kind of target: nothing of the old one's applies
    if same_host:
        dropped = set(PATH_TARGET_KEYS) | (set() if keep_ports else set(PORT_TARGET_KEYS))
        old_target = {key: value for key, value in old_target.items() if key not in dropped}
    old_target.update(spec_target)
    return old_target


def _new_settings(old_raw, spec, same_host, keep_ports):
    carried = {}
    for key, value in (old_raw.get("settings") or {}).items():
        lowered = str(key).lower()
        if lowered in NEVER_CARRIED:
            continue
        if same_host and (lowered in PATH_SETTINGS or (not keep_ports and lowered in PORT_SETTINGS)):
            continue
        carried[key] = value
    for key, value in (spec.get("settings") or {}).items():
        # An override of None drops a carried setting (ServiceControl's default applies again).
        for existing in [k for k in carried if str(k).lower() == str(key).lower()]:
            del carried[existing]
        if value is not None:
            carried[key] = value
    return carried


def _shown_target(target):
    return {key: (MASK if key in SECRET_TARGET_KEYS and value else value) for key, value in target.items()}


def _deploy_check(instance, transport, problems):
    """What instance_plan would refuse for the new instance's target."""
    target = _target(instance)
    if target.get("type") not in TARGET_TYPES:
        problems.append(
            "The new instance %s has target.type '%s'; use one of: %s."
            % (instance["name"], target.get("type"), ", ".join(TARGET_TYPES))
        )
        return
    try:
        if target["type"] == "windows":
            windows_create(instance, transport, target, target.get("skip_queue_creation", True))
        elif target["type"] == "container":
            container_definitions(instance, transport, target)
        else:
            lab_definition(instance, transport, target)
    except DeploymentError as exc:
        problems.append(str(exc))


def _windows_queue_clash(new, others, transport_type):
    """(clash, explanation): would QueueNameValidator refuse the new Windows instance next to these? [inferred]"""
    if _target(new).get("type") != "windows":
        return False, None
    wanted = {new["settings"]["ServiceBus/ErrorQueue"]: "ErrorQueue"}
    if _is_forwarding(new["settings"]):
        wanted.setdefault(new["settings"]["ServiceBus/ErrorLogQueue"], "ErrorLogQueue")
    clashes = []
    for other in others:
        if other["kind"] != "error" or _target(other).get("type") != "windows" or _host(other) != _host(new):
            continue
        theirs = {other["settings"]["ServiceBus/ErrorQueue"]}
        if _is_forwarding(other["settings"]):
            theirs.add(other["settings"]["ServiceBus/ErrorLogQueue"])
        for queue, setting in sorted(wanted.items()):
            if queue in theirs:
                clashes.append("its %s '%s' is a queue of %s" % (setting, queue, other["name"]))
    if not clashes:
        return False, None
    return True, (
        "Installing %s on %s with SCMU or the PowerShell module is expected to be refused by QueueNameValidator "
        "(\"The queue name for ErrorQueue is already assigned to another ServiceControl instance\"; it compares "
        "instances on one machine with the same transport %s): %s. Do one of: install the new instance on another "
        "machine; create it with a placeholder -ErrorQueue (and -SkipQueueCreation), then set ServiceBus/ErrorQueue "
        "in its config and restart it; or use strategy keep_name, which removes the old instance first."
        % (new["name"], _host(new), transport_type, "; ".join(clashes))
    )


def _force_upgrade_problems(old, spec, new_version, problems, checks):
    old_version = parse_version(str(old.get("version") or ""))
    reasons = []
    if old_version is None:
        reasons.append("the old instance's version is not given (a forced upgrade needs a 4.x instance)")
    elif old_version.major != 4:
        reasons.append(
            "%s runs %s; only ServiceControl 4.x primary instances that use RavenDB 3.5 persistence can be "
            "force-upgraded (every 4.x Error instance is on RavenDB 3.5; 5.x and 6.x have no forced upgrade)"
            % (old["name"], old["version"])
        )
    if _target(old).get("type") != "windows":
        reasons.append(
            "%s runs on target '%s'; the forced upgrade is a Windows tool feature (SCMU's Force Upgrade, "
            "Invoke-ServiceControlInstanceUpgrade -Force)" % (old["name"], _target(old).get("type"))
        )
    if new_version is None or new_version.major != 5:
        reasons.append(
            "the new version is %s; the forced upgrade works only with the 5.x tooling (give a 5.x version such as "
            "5.11.0, then upgrade to 6.x normally)" % (spec.get("version") or old.get("version") or "not given")
        )
    for key in ("url", "host"):
        if spec.get(key) not in (None, old.get(key)):
            reasons.append("a forced upgrade keeps the instance's %s; remove '%s' from the new instance" % (key, key))
    spec_target = spec.get("target") or {}
    old_target = _target(old)
    changed = sorted(key for key, value in spec_target.items() if old_target.get(key) != value)
    if changed:
        reasons.append(
            "a forced upgrade keeps the instance where it is; target key(s) %s differ from the old instance's"
            % ", ".join(changed)
        )
    if reasons:
        problems.append(
            "Strategy force_upgrade is not possible for %s: %s. Use strategy new_name (or keep_name) to create a new "
            "Error instance instead." % (old["name"], "; ".join(reasons))
        )
    else:
        checks.append(_check("forced upgrade", "ok", "4.x Error instance on Windows (RavenDB 3.5), 5.x tooling"))


def _check(name, result, detail):
    return {"check": name, "result": result, "detail": detail}


def _old_instance(normalised, old_name, strategy):
    instances = normalised["instances"]
    old_index = next((n for n, i in enumerate(instances) if i["name"] == old_name), None)
    if old_index is None:
        raise ReplacementError(
            "No instance named '%s' in the topology; its Error instances are: %s."
            % (old_name, ", ".join(i["name"] for i in instances if i["kind"] == "error") or "none")
        )
    old = instances[old_index]
    if old["kind"] != "error":
        raise ReplacementError(
            "%s is a%s %s instance; replace_error_instance replaces Error instances (see docs/reference/"
            "servicecontrol.md §4.2 for Audit instances)."
            % (old_name, "n" if old["kind"] == "audit" else "", old["kind"])
        )
    if strategy not in STRATEGIES:
        raise ReplacementError(
            "Unknown replacement strategy '%s' for %s; use one of: %s." % (strategy, old_name, ", ".join(STRATEGIES))
        )
    return old_index, old


def _name_problems(strategy, old_name, new_name, others, problems):
    if strategy != "new_name":
        if new_name != old_name:
            problems.append(
                "Strategy %s keeps the InstanceName, but the new instance is named '%s' instead of '%s'; remove "
                "'name' or use strategy new_name." % (strategy, new_name, old_name)
            )
        return
    if new_name.lower() == old_name.lower():
        problems.append(
            "Strategy new_name needs a new InstanceName, but the new instance is named '%s' like the old one; "
            "give another name (e.g. %s%s) or use strategy keep_name." % (new_name, old_name, NEW_NAME_SUFFIX)
        )
    clash = next((i for i in others if i["name"].lower() == new_name.lower()), None)
    if clash:
        problems.append(
            "The new instance's name '%s' is already the InstanceName of %s (%s, %s); they would share the "
            "input and staging queues. Give the new instance another name."
            % (new_name, clash["name"], clash["kind"], clash["role"])
        )


def _derive_new(old, old_raw, spec, context):
    """The new instance as a raw topology entry; sets context["same_host"]."""
    strategy, new_name = context["strategy"], context["new_name"]
    problems = context["problems"]
    if spec.get("host") and _target(old_raw).get("host") and not (spec.get("target") or {}).get("host"):
        # A new host given on its own moves the target too.
        spec["target"] = dict(spec.get("target") or {}, host=spec["host"])
    tentative = {"host": spec.get("host") or old_raw.get("host"), "target": _new_target(old_raw, spec, False, True)}
    same_host = context["same_host"] = _host(tentative) == _host(old_raw)
    new_version_text = spec.get("version") or old.get("version")
    new_version = _version_problems("The new instance %s" % new_name, new_version_text, problems)
    if strategy == "force_upgrade":
        _force_upgrade_problems(old, spec, new_version, problems, context["checks"])
        target = dict(_target(old_raw))
        settings = _new_settings(old_raw, spec, False, True)
    else:
        keep_ports = strategy == "keep_name"
        target = _new_target(old_raw, spec, same_host, keep_ports)
        settings = _new_settings(old_raw, spec, same_host, keep_ports)
    new_raw = {"name": new_name, "kind": "error", "role": old["role"]}
    if old.get("backup_of"):
        new_raw["backup_of"] = old["backup_of"]
    if new_version_text:
        new_raw["version"] = new_version_text
    if spec.get("host") or old_raw.get("host"):
        new_raw["host"] = spec.get("host") or old_raw.get("host")
    if target:
        new_raw["target"] = target
    new_raw["settings"] = settings
    same_address = same_host and instance_ports(new_raw)[:1] == instance_ports(old_raw)[:1]
    if spec.get("url"):
        new_raw["url"] = spec["url"]
    elif old_raw.get("url") and (same_address or strategy == "force_upgrade"):
        new_raw["url"] = old_raw["url"]  # same machine, same port: the same address
    return new_raw


def _place(topology, instances, old_index, new_raw, strategy):
    """The topology with the new instance in place of the old one, and the Audit instances repointed."""
    old_name, new_name = instances[old_index]["name"], new_raw["name"]
    audits, placed = [], []
    for index, raw in enumerate(_plain(topology["instances"])):
        if index == old_index:
            placed.append(new_raw)
            continue
        current = instances[index]
        if isinstance(raw, dict) and current["role"] == "backup":
            # Named explicitly: a derived backup name (<primary>.Backup) must not follow a renamed primary.
            raw["name"] = current["name"]
            if current.get("backup_of") == old_name:
                raw["backup_of"] = new_name
        address_key = "ServiceControl.Audit/ServiceControlQueueAddress"
        if strategy == "new_name" and current["kind"] == "audit" and current["settings"].get(address_key) == old_name:
            raw["settings"] = dict(raw.get("settings") or {})
            raw["settings"][address_key] = new_name
            audits.append(current["name"])
        placed.append(raw)
    result = dict(_plain(topology), instances=placed)
    if isinstance(result.get("servicepulse"), list):
        # An integrated ServicePulse is served by its Error instance: it follows the replacement.
        for entry in result["servicepulse"]:
            if isinstance(entry, dict) and entry.get("instance") == old_name:
                entry["instance"] = new_name
    return result, audits


def _check_placed(new_topology, new_name, problems):
    """Topology validation and what instance_plan checks, for the topology with the new instance in place."""
    try:
        normalised = validate_topology(new_topology)
    except TopologyError as exc:
        problems.append("With the new instance in place: %s" % exc)
        return None, None
    problems.extend(deployment_problems(normalised["instances"]))
    placed = next(i for i in normalised["instances"] if i["name"] == new_name)
    _deploy_check(placed, normalised["transport"], problems)
    return normalised, placed


def _host_decisions(strategy, old, placed, placed_topology, context):
    """Stop first, remove first, ports, paths and the Windows queue-name clash on the new instance's host."""
    decisions = {
        "new_ports": [],
        "stop_old_before_start": False,
        "remove_old_before_create": False,
        "remove_old_database": False,
        "same_host_windows_queue_clash": False,
        "same_host_windows_queue_clash_explanation": None,
    }
    if strategy == "force_upgrade":
        return decisions
    same_host = context["same_host"]
    stop_old = strategy == "keep_name"
    remove_old = stop_old and same_host and _identity(placed) == _identity(old)
    decisions.update(
        new_ports=["%s:%d" % (_host(placed), port) for port in instance_ports(placed)],
        stop_old_before_start=stop_old,
        remove_old_before_create=remove_old,
        remove_old_database=remove_old and _database(placed) == _database(old),
    )
    # Who runs on the new instance's host while it is created: the others, and the old one unless removed.
    neighbours = [(i, False) for i in placed_topology["instances"] if i is not placed and _host(i) == _host(placed)]
    if same_host and not remove_old:
        neighbours.append((old, True))
    _host_clashes(placed, neighbours, stop_old, context["problems"])
    clash, explanation = _windows_queue_clash(
        placed, [other for other, _is_old in neighbours], placed_topology["transport"]["type"]
    )
    decisions.update(same_host_windows_queue_clash=clash, same_host_windows_queue_clash_explanation=explanation)
    return decisions


def _force_upgrade_command(strategy, old, placed, transport_type, problems):
    if strategy != "force_upgrade" or placed is None:
        return None
    try:
        upgrade = windows_upgrade(placed, str(old.get("version")), transport_type)
    except DeploymentError as exc:
        problems.append(str(exc))
        return None
    upgrade["parameters"]["Force"] = True
    return upgrade


def replacement_plan(topology, old_name, new=None, strategy="new_name"):
    """Everything the replacement decides before the first change (see docs/replacing-error-instances.md).

    Raises TopologyError for an invalid topology and ReplacementError listing every problem of the replacement.
    """
    normalised = validate_topology(topology)
    old_index, old = _old_instance(normalised, old_name, strategy)
    context = {"problems": [], "checks": [], "same_host": True}
    problems = context["problems"]
    spec = _new_spec(new, problems)
    new_name = spec.get("name") or (old_name + NEW_NAME_SUFFIX if strategy == "new_name" else old_name)
    others = [i for n, i in enumerate(normalised["instances"]) if n != old_index]
    _name_problems(strategy, old_name, new_name, others, problems)
    _version_problems("The old instance %s" % old_name, old.get("version"), problems)
    # The raw instances with the BC/DR settings derived, so the new instance carries exactly what the old ran with.
    derived, _derive_problems = derive_backups(_plain(topology["instances"]), _url_of)
    context.update(strategy=strategy, new_name=new_name)
    new_raw = _derive_new(old, derived[old_index], spec, context)
    new_topology, audits = _place(topology, normalised["instances"], old_index, new_raw, strategy)
    placed_topology, placed = _check_placed(new_topology, new_name, problems)
    decisions = {}
    if placed is not None:
        decisions = _host_decisions(strategy, old, placed, placed_topology, context)
    upgrade = _force_upgrade_command(strategy, old, placed, normalised["transport"]["type"], problems)
    if problems:
        raise ReplacementError(
            "Cannot replace Error instance %s with strategy %s: %s" % (old_name, strategy, " ".join(problems))
        )
    context.update(decisions, audits=audits, transport=normalised["transport"]["type"])
    checks = context["checks"] + _plan_checks(strategy, old, placed, context)
    plan = {
        "strategy": strategy,
        "old": next(row for row in instance_rows(normalised) if row["name"] == old_name),
        "new": _new_description(placed, new_raw, derived[old_index], placed_topology, spec),
        "topology": new_topology,
        "audits_to_update": audits,
        "prepare_ahead": strategy == "new_name",
        "in_place": strategy == "force_upgrade",
        "upgrade": upgrade,
        "same_host": context["same_host"],
        "endpoint_plugin_note": _endpoint_plugin_note(old_name, new_name) if new_name != old_name else None,
        "checks": checks,
    }
    plan.update(decisions)
    return plan


def _host_clashes(placed, neighbours, old_stopped_first, problems):
    mine_ports = instance_ports(placed)
    mine_places = _locations(placed)
    for other, is_old in neighbours:
        if not (is_old and old_stopped_first):
            for port in sorted(set(mine_ports) & set(instance_ports(other))):
                if any("port %d on host" % port in p and other["name"] in p and placed["name"] in p for p in problems):
                    continue  # deployment_problems said it already
                problems.append(
                    "The new instance %s needs port %d on host %s, which %s%s uses; give the new instance another "
                    "port (ServiceControl/Port, ServiceControl/DatabaseMaintenancePort, or target.port/ravendb_port "
                    "for a container)."
                    % (placed["name"], port, _host(placed), "the old instance " if is_old else "", other["name"])
                )
        theirs = _locations(other)
        for what, where in sorted(mine_places.items()):
            if where and theirs.get(what) == where:
                problems.append(
                    "The new instance %s would use the same %s as %s%s on host %s (%s); give the new instance its own "
                    "(%s)."
                    % (
                        placed["name"],
                        what,
                        "the old instance " if is_old else "",
                        other["name"],
                        _host(placed),
                        where,
                        _where_to_set(what),
                    )
                )


def _where_to_set(what):
    return {
        "InstallPath": "target.install_path",
        "DbPath": "target.db_path or ServiceControl/DbPath",
        "LogPath": "target.log_path or ServiceControl/LogPath",
        "container": "target.container_name",
        "database volume": "target.container_name",
        "target directory": "target.directory",
    }.get(what, what)


def _new_description(placed, new_raw, old_raw, placed_topology, spec):
    row = next(r for r in instance_rows(placed_topology) if r["name"] == placed["name"])
    given = {str(k).lower() for k in (spec.get("settings") or {})}
    carried = sorted(
        key
        for key, value in (old_raw.get("settings") or {}).items()
        if str(key).lower() not in given and new_raw["settings"].get(key, object()) == value
    )
    return dict(
        row,
        version=placed.get("version"),
        host=placed.get("host") or _target(placed).get("host"),
        target=_shown_target(_target(placed)),
        settings=shown_settings(placed),
        carried_over=carried,
    )


def _plan_checks(strategy, old, placed, context):
    settings = placed["settings"]
    which = "a backup" if old["role"] == "backup" else "an"
    checks = [
        _check("old instance", "ok", "%s is %s Error instance of the topology" % (old["name"], which)),
        _check(
            "versions",
            "ok",
            "old %s, new %s (every instance needs %s or later)"
            % (old.get("version") or "not given", placed.get("version") or "not given", MINIMUM_VERSION),
        ),
        _check("topology", "ok", "the topology with %s in place validates and can be planned" % placed["name"]),
        _check(
            "carried over",
            "ok",
            "RemoteInstances %s, ErrorQueue %s, ErrorLogQueue %s (forwarding %s), retention %s, transport %s"
            % (
                settings.get("ServiceControl/RemoteInstances") or "none",
                settings["ServiceBus/ErrorQueue"],
                settings["ServiceBus/ErrorLogQueue"],
                "on" if _is_forwarding(settings) else "off",
                settings.get("ServiceControl/ErrorRetentionPeriod") or "the image's default",
                context["transport"],
            ),
        ),
    ]
    if not old.get("version"):
        checks.append(_check("old version", "note", "not in the topology; the preflight reads it from the instance"))
    if context.get("new_ports"):
        checks.append(
            _check("ports and paths", "ok", "free for the new instance: %s" % ", ".join(context["new_ports"]))
        )
    checks.extend(_strategy_checks(strategy, placed, context))
    if context.get("same_host_windows_queue_clash"):
        checks.append(_check("Windows queue names", "warning", context["same_host_windows_queue_clash_explanation"]))
    remotes = settings.get("ServiceControl/RemoteInstances") or ""
    if not context["same_host"] and ("localhost" in remotes or "127.0.0.1" in remotes):
        checks.append(
            _check(
                "remotes",
                "warning",
                "the carried-over ServiceControl/RemoteInstances name localhost, but the new instance runs on another "
                "host; override the setting with addresses the new host can reach",
            )
        )
    return checks


def _strategy_checks(strategy, placed, context):
    name = placed["name"]
    if strategy == "new_name":
        throughput = placed["settings"].get("LicensingComponent/ServiceControlThroughputDataQueue")
        return [
            _check(
                "InstanceName",
                "ok",
                "%s is new; Audit instances to repoint (ServiceControlQueueAddress): %s"
                % (name, ", ".join(context["audits"]) or "none"),
            ),
            _check("prepare ahead", "ok", "the new instance is created before the pause, with ingestion off"),
            _check(
                "overlap",
                "note",
                "both instances run side by side until the old one is decommissioned: both publish integration events "
                "and read %s unless ServiceControl/DisableExternalIntegrationsPublishing is set on one of them"
                % (throughput or "the throughput-data queue"),
            ),
        ]
    if strategy == "keep_name":
        detail = (
            "the old instance is stopped before the new one starts: two Error instances named %s on one broker share "
            "%s and %s.staging, and ServiceControl drops staged retries that are not its own" % (name, name, name)
        )
        if context["transport"] == "MSMQ" and not context["same_host"]:
            detail += " (MSMQ queues are per machine: the new machine's queues are its own)"
        checks = [_check("InstanceName", "ok", detail)]
        if context["remove_old_before_create"]:
            kind = "service" if _target(placed).get("type") == "windows" else "deployment"
            database = (
                "together with its database (the new instance would open it)"
                if context["remove_old_database"]
                else "keeping its database"
            )
            checks.append(
                _check(
                    "remove first",
                    "note",
                    "the new instance would be the same %s on %s, so the old one is removed before it is created, %s; "
                    "read the old instance's failed messages for the reconciliation before removing it"
                    % (kind, _host(placed), database),
                )
            )
        return checks
    return [
        _check(
            "forced upgrade",
            "note",
            "Invoke-ServiceControlInstanceUpgrade -Force moves the database to <DBPath>_UpgradeBackup and starts on a "
            "new RavenDB 5 database with the same name, URL and config; afterwards remove "
            "ServiceControl/IngestErrorMessages and restart; to reach 6.x, upgrade to 5.11.0 and then normally",
        )
    ]


def _endpoint_plugin_note(old_name, new_name):
    return (
        "The Error instance's InstanceName changes from %s to %s. Endpoints send heartbeats, custom checks and saga "
        "audit data to the ServiceControl queue address %s: set their plugins' ServiceControl queue address to %s "
        "(until then those messages wait in the %s queue, which nothing reads once the old instance is removed)."
        % (old_name, new_name, old_name, new_name, old_name)
    )


# -- preflight ------------------------------------------------------------------------------------------------


def replacement_preflight(results, minimum=MINIMUM_VERSION):
    """Problems from looped instance_info results: unreachable, unknown version, or below ``minimum``."""
    floor = parse_version(str(minimum))
    if floor is None:
        raise ReplacementError("The minimum version '%s' is not a ServiceControl version (e.g. 4.33.0)." % minimum)
    problems = []
    for result in results or []:
        if not isinstance(result, dict):
            raise ReplacementError("replacement_preflight takes the 'results' list of a looped instance_info task.")
        item = result.get("item")
        if isinstance(item, dict):
            name, url = item.get("name") or result.get("instance_name"), item.get("url") or result.get("url")
        else:
            name, url = result.get("instance_name"), item if item is not None else result.get("url")
        label = "%s at %s" % (name or "the instance", strip_userinfo(str(url)) if url else "(no URL)")
        if result.get("failed") or result.get("unreachable"):
            reason = strip_userinfo(str(result.get("msg") or "no answer"))
            problems.append(
                "%s could not be read (%s); make it answer (or correct its url in the topology) and run again."
                % (label, reason)
            )
            continue
        if result.get("skipped"):
            problems.append("%s was not read (the task was skipped); every instance must be checked." % label)
            continue
        version = result.get("version")
        parsed = parse_version(str(version)) if version is not None else None
        if parsed is None:
            problems.append(
                "%s reports version %s, which cannot be compared with %s; check that the URL reaches ServiceControl "
                "directly (a proxy may drop the X-Particular-Version header)." % (label, version or "none", minimum)
            )
        elif parsed < floor:
            problems.append(
                "%s runs ServiceControl %s; replacing an Error instance needs %s or later on every instance. Upgrade "
                "it to %s or later first (docs/instances.md, Versions and upgrades)."
                % (label, version, minimum, minimum)
            )
    return problems


# -- quiet period ----------------------------------------------------------------------------------------------


def _count(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        return _count(value.get("count"))
    if isinstance(value, (list, tuple)):
        return len(value)
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def quiet_period(info, error_queue_depth, thresholds=None):
    """{ok, refuse, warn}: is this a quiet period? Each message names the measured value and the threshold."""
    settings = dict(QUIET_PERIOD_DEFAULTS)
    given = dict(thresholds or {})
    unknown = sorted(str(key) for key in given if key not in QUIET_PERIOD_DEFAULTS)
    if unknown:
        raise ReplacementError(
            "Unknown quiet-period threshold(s) %s; use: %s."
            % (", ".join(unknown), ", ".join(sorted(QUIET_PERIOD_DEFAULTS)))
        )
    settings.update({key: value for key, value in given.items() if value is not None or key != "mode"})
    if settings["mode"] not in QUIET_PERIOD_MODES:
        raise ReplacementError("Quiet-period mode '%s'; use refuse or warn." % settings["mode"])
    info = info or {}
    measured = {
        "max_error_queue_depth": (
            _count(error_queue_depth),
            "messages wait in the error queue (ServiceBus/ErrorQueue)",
        ),
        "max_unresolved": (_count((info.get("counts") or {}).get("unresolved")), "failed messages are unresolved"),
        "max_recent_failures": (
            _count(info.get("recent_failures")),
            "messages failed in the last %s minutes" % settings["recent_minutes"],
        ),
    }
    found = []
    for key in ("max_error_queue_depth", "max_unresolved", "max_recent_failures"):
        limit = settings[key]
        value, what = measured[key]
        if limit is None:
            continue
        if value is None:
            found.append("Quiet period: nothing was measured for %s (how many %s); it cannot be checked." % (key, what))
        elif value > int(limit):
            found.append(
                "Quiet period: %d %s, above %s=%s; wait for a quieter time or raise the threshold."
                % (value, what, key, limit)
            )
    refuse = found if settings["mode"] == "refuse" else []
    warn = found if settings["mode"] == "warn" else []
    return {"ok": not refuse, "refuse": refuse, "warn": warn, "thresholds": settings}


# -- reconciliation ---------------------------------------------------------------------------------------------


def _by_id(messages, label):
    table = {}
    for message in messages or []:
        if not isinstance(message, dict) or not message.get("id"):
            raise ReplacementError(
                "Every %s message needs an 'id' (from failed_messages_info include_messages)." % label
            )
        table[str(message["id"])] = message
    return table


def replacement_reconciliation(snapshot, old_messages, new_messages, processed_message_ids=None):
    """{ok, missing, counts}: was every failed message accounted for across the old and the new instance?"""
    if not isinstance(snapshot, dict):
        raise ReplacementError(
            "The reconciliation snapshot must be a mapping with unresolved_ids, retried_ids, archived_ids and probe_id."
        )
    old, new = _by_id(old_messages, "old instance"), _by_id(new_messages, "new instance")
    processed = {str(m).lower() for m in processed_message_ids or ()}
    unresolved = [str(i) for i in snapshot.get("unresolved_ids") or ()]
    retried = [str(i) for i in snapshot.get("retried_ids") or ()]
    archived = [str(i) for i in snapshot.get("archived_ids") or ()]
    missing = []
    accounted = []
    for failed_id in _unique(unresolved + retried + archived):
        message = old.get(failed_id)
        if message is None:
            missing.append({"id": failed_id, "message_id": None, "reason": "not found on the old instance"})
            continue
        status = str(message.get("status") or "").lower().replace("_", "")
        if failed_id in archived and status != "archived":
            missing.append(
                _missing(
                    message, "archived by the drain but %s on the old instance" % (message.get("status") or "no status")
                )
            )
        elif status not in ACCOUNTED_ON_OLD:
            missing.append(
                _missing(message, "still %s on the old instance" % (message.get("status") or "without status"))
            )
        else:
            accounted.append(failed_id)
    failed_again, succeeded = 0, 0
    reported = {entry["id"] for entry in missing}
    for failed_id in _unique(retried):
        if failed_id in reported:
            continue  # one reason per message: the old instance's state says it already
        if failed_id in new:
            failed_again += 1
            continue
        message = old.get(failed_id) or {}
        message_id = message.get("message_id")
        if message_id and str(message_id).lower() in processed:
            succeeded += 1
            continue
        reason = (
            "retried, but neither on the new instance (a re-failure) nor processed successfully by an Audit instance"
            if processed_message_ids is not None
            else "retried and not on the new instance; no Audit evidence of a successful retry was given"
        )
        missing.append({"id": failed_id, "message_id": message_id, "reason": reason})
    probe = snapshot.get("probe_id")
    probe_found = bool(probe) and any(str(probe) in (str(m.get("id")), str(m.get("message_id"))) for m in new.values())
    if probe and not probe_found:
        missing.append(
            {"id": str(probe), "message_id": None, "reason": "the ingestion probe is not on the new instance"}
        )
    counts = {
        "snapshot": len(_unique(unresolved)),
        "retried": len(_unique(retried)),
        "archived": len(_unique(archived)),
        "accounted_on_old": len(accounted),
        "retried_failed_again": failed_again,
        "retried_succeeded": succeeded,
        "old_instance": len(old),
        "new_instance": len(new),
        "missing": len(missing),
    }
    return {"ok": not missing, "missing": missing, "counts": counts, "probe_found": probe_found}


def _unique(items):
    seen, result = set(), []
    for item in items:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result


def _missing(message, reason):
    return {"id": str(message["id"]), "message_id": message.get("message_id"), "reason": reason}
