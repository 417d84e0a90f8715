# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""What must happen to make one instance of the topology exist as described, on each kind of target.

Everything here is decided on the controller from the one topology description, and unit-tested; the
target host only stores a file, runs a cmdlet with these parameters, or (re)creates a container:

* **windows** - Particular's PowerShell module: ``New-ServiceControlInstance`` / ``New-ServiceControlAuditInstance``
  / ``New-MonitoringInstance`` with parameters computed here, settings the cmdlets do not take written into the
  ``.exe.config`` afterwards, upgrades with ``Invoke-*Upgrade`` on the paths the tooling allows, removal with
  ``Remove-*`` (docs/reference/servicecontrol.md §3.1, §1.6);
* **container** - Particular's images at the full version tag, one RavenDB container per instance with its
  volume, a one-shot ``--setup`` container, then the instance container configured only by environment
  variables (§3.2);
* **lab** - the lab stand-in run as a process, configured through the same ``.exe.config`` edit path or the
  same environment path as the real targets.
"""

from __future__ import annotations

import json
import re

from ansible_collections.servicecontrol.platform.plugins.module_utils._settings import (
    KIND_NAMESPACES,
    environment_name,
    format_value,
    ingestion_switch,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._settings import (
    secret_keys as catalogue_secret_keys,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._version import parse_version

TARGET_TYPES = ("windows", "container", "lab")
MASK = "********"

#: The file each kind reads its appSettings from (Windows, lab).
CONFIG_FILES = {
    "error": "ServiceControl.exe.config",
    "audit": "ServiceControl.Audit.exe.config",
    "monitoring": "ServiceControl.Monitoring.exe.config",
}
#: PowerShell cmdlets per kind: create, upgrade, remove.
CMDLETS = {
    "error": ("New-ServiceControlInstance", "Invoke-ServiceControlInstanceUpgrade", "Remove-ServiceControlInstance"),
    "audit": (
        "New-ServiceControlAuditInstance",
        "Invoke-ServiceControlAuditInstanceUpgrade",
        "Remove-ServiceControlAuditInstance",
    ),
    "monitoring": ("New-MonitoringInstance", "Invoke-MonitoringInstanceUpgrade", "Remove-MonitoringInstance"),
}
#: Particular's images (fully qualified, so podman never has to resolve a short name; Particular also
#: publishes them as ghcr.io/particular/...), and the fixed port inside each container.
IMAGES = {
    "error": "docker.io/particular/servicecontrol",
    "audit": "docker.io/particular/servicecontrol-audit",
    "monitoring": "docker.io/particular/servicecontrol-monitoring",
}
RAVENDB_IMAGE = "docker.io/particular/servicecontrol-ravendb"
CONTAINER_PORTS = {"error": 33333, "audit": 44444, "monitoring": 33633}
RAVENDB_PORT = 8080
#: The RavenDB data volume path of the 6.x image (5.x used /opt/RavenDB/Server/RavenData).
RAVENDB_DATA = {6: "/var/lib/ravendb/data", 5: "/opt/RavenDB/Server/RavenData"}
DEFAULT_PORTS = {"error": 33333, "audit": 44444, "monitoring": 33633}

#: The last release of each major that the 6.x tooling upgrades from (UpgradeInfo, §3.1).
UPGRADE_FLOORS = {1: "1.48.0", 2: "2.1.5", 3: "3.8.4", 4: "4.33.0", 5: "5.11.0"}
#: RabbitMQ instances created, or upgraded from 6.5.0 or older, need these acknowledgements (§3.1).
RABBITMQ_ACKNOWLEDGEMENTS = "RabbitMQBrokerVersion310,RabbitMQManagementApi"
RABBITMQ_ACKNOWLEDGEMENT_CEILING = "6.5.0"
INGEST_ERRORS_SINCE = "4.33.0"

_SLUG = re.compile(r"[^a-z0-9_.-]+")


class DeploymentError(ValueError):
    """The instance cannot be deployed as described; the message says which instance and what to do."""


def _ns(instance):
    return KIND_NAMESPACES[instance["kind"]]


def transport_settings(instance, transport):
    """The transport part of an instance's settings: TransportType (setting) and the connection string."""
    return {"%s/TransportType" % _ns(instance): transport["type"]}, transport.get("connection_string")


def secret_keys(instance):
    """Lower-cased setting keys whose values are never shown (the catalogue's secrets, retired ones too)."""
    return set(catalogue_secret_keys(instance["kind"])) | {("%s/ConnectionString" % _ns(instance)).lower()}


def desired_settings(instance, transport):
    """Every setting the instance must run with, as text (booleans true/false), transport included."""
    settings, _connection_string = transport_settings(instance, transport)
    for key, value in instance["settings"].items():
        if value is not None:
            settings[key] = format_value(value)
    return settings


def mask(key, value, secrets):
    return MASK if value is not None and key.lower() in secrets else value


def settings_changes(current, desired, secrets=()):
    """[{key, before, after}] for every desired key whose value differs (keys compare case-insensitively).

    Values of secret keys are masked; the list is what a diff and a check-mode plan show.
    """
    lowered = {key.lower(): value for key, value in (current or {}).items()}
    changes = []
    for key, value in desired.items():
        before = lowered.get(key.lower())
        if before != value:
            changes.append({"key": key, "before": mask(key, before, secrets), "after": mask(key, value, secrets)})
    return changes


# -- versions ----------------------------------------------------------------------------------------


def upgrade_problem(current, target):
    """Why the tooling would refuse to upgrade ``current`` to ``target`` (None when it is allowed)."""
    have, want = parse_version(current), parse_version(target)
    if have is None or want is None:
        return "cannot compare versions '%s' and '%s'; give full versions such as 6.19.2" % (current, target)
    if want < have:
        return "%s is older than the installed %s; ServiceControl instances cannot be downgraded" % (target, current)
    if want.major - have.major > 1:
        return "an upgrade from %s to %s skips major version %d; upgrade to %s first" % (
            current,
            target,
            have.major + 1,
            UPGRADE_FLOORS.get(have.major + 1, "the last %d.x release" % (have.major + 1)),
        )
    floor = UPGRADE_FLOORS.get(have.major)
    if want.major > have.major and floor and have < parse_version(floor):
        return "the %d.x tooling upgrades %d.x instances from %s only; upgrade %s to %s first" % (
            want.major,
            have.major,
            floor,
            current,
            floor,
        )
    return None


def ingestion_settings(instance, enabled):
    """The setting that switches ingestion on or off with the key the instance's version reads (§1.7)."""
    version = instance.get("version") or "6.19.2"
    if instance["kind"] == "error" and parse_version(version) < parse_version(INGEST_ERRORS_SINCE):
        # Older versions could only rename the queue to "!disable", which the documented replacement procedure
        # does not rely on: it needs 4.33.0 everywhere.
        raise DeploymentError(
            "Instance %s runs ServiceControl %s; error ingestion can be paused from %s on "
            "(ServiceControl/IngestErrorMessages). Upgrade it to %s or later first."
            % (instance["name"], version, INGEST_ERRORS_SINCE, INGEST_ERRORS_SINCE)
        )
    switch = ingestion_switch(instance["kind"], version)
    if switch is None:
        raise DeploymentError("Instance %s is a Monitoring instance, which has no ingestion switch." % instance["name"])
    if switch["on"] is None:
        # The queue-name switch (4.x audit instances): "!disable" turns ingestion off; the name turns it on.
        queue = instance["settings"].get(switch["key"]) or ("audit" if instance["kind"] == "audit" else "error")
        return {switch["key"]: queue if enabled else switch["off"]}
    return {switch["key"]: format_value(switch["on"] if enabled else switch["off"])}


# -- checks before any change --------------------------------------------------------------------------


def deployment_problems(instances):
    """What ServiceControl would refuse at start-up, for every instance at once (empty when fine)."""
    problems = []
    endpoints = {}
    for instance in instances:
        settings, name, kind = instance["settings"], instance["name"], instance["kind"]
        if kind == "audit" and not settings.get("ServiceControl.Audit/ServiceControlQueueAddress"):
            problems.append(
                "Audit instance %s has no ServiceControl.Audit/ServiceControlQueueAddress; set it to the InstanceName "
                "of the Error instance it reports to (New-ServiceControlAuditInstance requires it)." % name
            )
        if kind == "error" and settings.get("ServiceControl/ForwardErrorMessages") is None:
            problems.append(
                "Error instance %s does not set ServiceControl/ForwardErrorMessages; ServiceControl refuses to start "
                "without it. Set it to true (with ServiceBus/ErrorLogQueue) or false." % name
            )
        target = instance.get("target") or {}
        retention = settings.get("ServiceControl/ErrorRetentionPeriod")
        if kind == "error" and target.get("type") != "container" and retention in (None, ""):
            # Particular's image sets 15 days itself; a Windows or lab instance has no default and stops.
            problems.append(
                "Error instance %s does not set ServiceControl/ErrorRetentionPeriod; ServiceControl refuses to start "
                "without it. Set it (5 to 45 days, e.g. 15 or 15.00:00:00)." % name
            )
        host = instance.get("host") or target.get("host") or "localhost"
        for port in _ports(instance):
            other = endpoints.get((host, port))
            if other:
                problems.append(
                    "Instances %s and %s both use port %d on host %s; give one of them another port."
                    % (other, name, port, host)
                )
            endpoints[(host, port)] = name
    return problems


def _ports(instance):
    target = instance.get("target") or {}
    ns = _ns(instance)
    if target.get("type") == "container":
        ports = [int(target.get("port") or DEFAULT_PORTS[instance["kind"]])]
        if target.get("network") != "host" and target.get("ravendb_port"):
            ports.append(int(target["ravendb_port"]))
        return ports
    port = instance["settings"].get("%s/Port" % ns) or DEFAULT_PORTS[instance["kind"]]
    ports = [int(port)]
    maintenance = instance["settings"].get("%s/DatabaseMaintenancePort" % ns)
    if maintenance:
        ports.append(int(maintenance))
    return ports


# -- Windows ---------------------------------------------------------------------------------------------

#: Cmdlet parameters that come straight from a setting, per kind.
_WINDOWS_SETTING_PARAMETERS = {
    "error": (
        ("Port", "ServiceControl/Port"),
        ("DatabaseMaintenancePort", "ServiceControl/DatabaseMaintenancePort"),
        ("HostName", "ServiceControl/HostName"),
        ("ErrorQueue", "ServiceBus/ErrorQueue"),
        ("ErrorLogQueue", "ServiceBus/ErrorLogQueue"),
        ("ErrorRetentionPeriod", "ServiceControl/ErrorRetentionPeriod"),
    ),
    "audit": (
        ("Port", "ServiceControl.Audit/Port"),
        ("DatabaseMaintenancePort", "ServiceControl.Audit/DatabaseMaintenancePort"),
        ("HostName", "ServiceControl.Audit/HostName"),
        ("AuditQueue", "ServiceBus/AuditQueue"),
        ("AuditLogQueue", "ServiceBus/AuditLogQueue"),
        ("AuditRetentionPeriod", "ServiceControl.Audit/AuditRetentionPeriod"),
        ("ServiceControlQueueAddress", "ServiceControl.Audit/ServiceControlQueueAddress"),
    ),
    "monitoring": (
        ("Port", "Monitoring/HttpPort"),
        ("HostName", "Monitoring/HttpHostname"),
        ("ErrorQueue", "Monitoring/ErrorQueue"),
    ),
}
_WINDOWS_SWITCHES = {
    "error": (("ForwardErrorMessages", "ServiceControl/ForwardErrorMessages"),),
    "audit": (("ForwardAuditMessages", "ServiceControl.Audit/ForwardAuditMessages"),),
    "monitoring": (),
}
#: The cmdlets require a retention period; the Audit instance's own default is 30 days (§1.3).
_DEFAULT_RETENTION = {"audit": "30.00:00:00"}


def windows_paths(instance, target):
    """InstallPath, DBPath and LogPath: the target's, or the installer's usual layout."""
    name = instance["name"]
    base = target.get("data_root") or "C:\\ProgramData\\Particular\\ServiceControl"
    return {
        "InstallPath": target.get("install_path") or "C:\\Program Files (x86)\\Particular Software\\%s" % name,
        "DBPath": target.get("db_path") or "%s\\%s\\DB" % (base, name),
        "LogPath": target.get("log_path") or "%s\\%s\\Logs" % (base, name),
    }


def windows_create(instance, transport, target=None, skip_queue_creation=True):
    """The cmdlet and parameters that create the instance, and the settings to write afterwards.

    Returns {"cmdlet", "parameters", "secret_parameters", "config_file", "settings_after_create"}.
    ``skip_queue_creation`` is true when the queues role made the queues (the instance's own setup then
    creates only what is missing, with -SkipQueueCreation nothing at all).
    """
    target = dict(target or instance.get("target") or {})
    kind, settings = instance["kind"], instance["settings"]
    parameters = {"Name": instance["name"], "Transport": transport["type"]}
    parameters.update(windows_paths(instance, target))
    for parameter, key in _WINDOWS_SETTING_PARAMETERS[kind]:
        if settings.get(key) not in (None, ""):
            parameters[parameter] = format_value(settings[key])
    parameters.setdefault("Port", str(DEFAULT_PORTS[kind]))
    if kind in ("error", "audit"):
        parameters.setdefault("DatabaseMaintenancePort", str(int(parameters["Port"]) + 1))
        if kind in _DEFAULT_RETENTION:
            parameters.setdefault("AuditRetentionPeriod", _DEFAULT_RETENTION[kind])
    for parameter, key in _WINDOWS_SWITCHES[kind]:
        parameters[parameter] = bool(settings.get(key))
    if transport["type"] != "MSMQ" and transport.get("connection_string") is not None:
        parameters["ConnectionString"] = transport["connection_string"]
    if target.get("service_account"):
        parameters["ServiceAccount"] = target["service_account"]
    if target.get("service_account_password"):
        parameters["ServiceAccountPassword"] = target["service_account_password"]
    if skip_queue_creation:
        parameters["SkipQueueCreation"] = True
    if transport["type"].startswith("RabbitMQ."):
        parameters["Acknowledgements"] = RABBITMQ_ACKNOWLEDGEMENTS
    if kind == "audit" and not parameters.get("ServiceControlQueueAddress"):
        raise DeploymentError(
            "Audit instance %s needs ServiceControl.Audit/ServiceControlQueueAddress (the Error instance's name) "
            "to be created." % instance["name"]
        )
    taken = {key.lower() for _parameter, key in _WINDOWS_SETTING_PARAMETERS[kind] + _WINDOWS_SWITCHES[kind]}
    taken.add("%s/transporttype" % _ns(instance).lower())
    after = {key: value for key, value in desired_settings(instance, transport).items() if key.lower() not in taken}
    return {
        "cmdlet": CMDLETS[kind][0],
        "parameters": parameters,
        "secret_parameters": sorted(p for p in ("ConnectionString", "ServiceAccountPassword") if p in parameters),
        "config_file": "%s\\%s" % (parameters["InstallPath"], CONFIG_FILES[kind]),
        "settings_after_create": after,
    }


def windows_upgrade(instance, current_version, transport_type, skip_queue_creation=True):
    """The upgrade cmdlet and parameters, or a DeploymentError naming the path the tooling requires."""
    target_version = instance.get("version")
    if not target_version:
        raise DeploymentError("Instance %s has no version to upgrade to; set its 'version'." % instance["name"])
    problem = upgrade_problem(current_version, target_version)
    if problem:
        raise DeploymentError("Instance %s: %s." % (instance["name"], problem))
    parameters = {"Name": instance["name"]}
    if skip_queue_creation:
        parameters["SkipQueueCreation"] = True
    if transport_type.startswith("RabbitMQ.") and parse_version(current_version) <= parse_version(
        RABBITMQ_ACKNOWLEDGEMENT_CEILING
    ):
        parameters["Acknowledgements"] = RABBITMQ_ACKNOWLEDGEMENTS
    return {"cmdlet": CMDLETS[instance["kind"]][1], "parameters": parameters}


def windows_remove(instance, remove_db=False, remove_logs=False):
    parameters = {"Name": [instance["name"]]}
    if remove_db:
        parameters["RemoveDB"] = True
    if remove_logs:
        parameters["RemoveLogs"] = True
    return {"cmdlet": CMDLETS[instance["kind"]][2], "parameters": parameters}


def remote_changes(current, desired):
    """Remotes to add and to remove, matched like Remove-ServiceControlRemote: exact api_uri, any case."""
    have = {str(uri).lower(): uri for uri in current or ()}
    want = {str(uri).lower(): uri for uri in desired or ()}
    return {
        "add": [uri for key, uri in want.items() if key not in have],
        "remove": [uri for key, uri in have.items() if key not in want],
    }


def remote_base_address(uri):
    """How ServiceControl reports a remote: the configured api_uri with every ``/api`` removed (§2.2)."""
    return str(uri or "").replace("/api", "").rstrip("/").lower()


def remotes_of(settings, kind="error"):
    """The api_uri values of a RemoteInstances setting (JSON text or list)."""
    value = settings.get("ServiceControl/RemoteInstances") if kind == "error" else None
    if value in (None, ""):
        return []
    items = json.loads(value) if isinstance(value, str) else value
    return [item.get("api_uri") for item in items if isinstance(item, dict)]


# -- containers ----------------------------------------------------------------------------------------


def container_name(instance, target=None):
    target = target or instance.get("target") or {}
    return target.get("container_name") or _SLUG.sub("-", instance["name"].lower()).strip("-")


def container_environment(instance, transport, ravendb_url=None, license_text=None):
    """Environment variables that configure the instance container (fully qualified names, §1.1)."""
    settings, connection_string = transport_settings(instance, transport)
    ns = _ns(instance)
    environment = {environment_name(key): value for key, value in settings.items()}
    for key, value in desired_settings(instance, transport).items():
        # Host and port are fixed inside the container (§3.2): map ports instead.
        if key.lower() in tuple(k % ns.lower() for k in ("%s/port", "%s/hostname", "%s/httpport", "%s/httphostname")):
            continue
        if key.lower() in ("%s/dbpath" % ns.lower(), "%s/logpath" % ns.lower()):
            continue
        environment[environment_name(key)] = value
    if connection_string is not None:
        environment[environment_name("%s/ConnectionString" % ns)] = connection_string
    if ravendb_url:
        environment[environment_name("%s/RavenDB/ConnectionString" % ns)] = ravendb_url
    if license_text:
        environment["PARTICULARSOFTWARE_LICENSE"] = license_text
    return environment


def container_definitions(instance, transport, target=None):
    """The containers that run one instance: its RavenDB (error/audit), a one-shot setup, the instance.

    Each definition uses the fields common to containers.podman.podman_container and
    community.docker.docker_container: name, image, command, env, ports, volumes, network_mode,
    restart_policy.
    """
    target = dict(target or instance.get("target") or {})
    kind = instance["kind"]
    version = instance.get("version")
    if not version or parse_version(version) is None:
        raise DeploymentError(
            "Container instance %s needs a full 'version' (e.g. 6.19.2): images are pulled at the full version tag."
            % instance["name"]
        )
    name = container_name(instance, target)
    host_network = target.get("network") == "host"
    network = "host" if host_network else target.get("network")
    definitions = {}
    ravendb_url = None
    if kind in ("error", "audit"):
        database = "%s-db" % name
        major = parse_version(version).major
        host = "localhost" if host_network else database
        port = int(target.get("ravendb_port") or RAVENDB_PORT) if host_network else RAVENDB_PORT
        ravendb_url = "http://%s:%d" % (host, port)
        database_env = {}
        if host_network and target.get("ravendb_port"):
            # On the host's network the database must move off 8080 itself (a RavenDB server setting).
            database_env["RAVEN_ServerUrl"] = "http://127.0.0.1:%d" % port
        definitions["database"] = _container(
            database,
            "%s:%s" % (RAVENDB_IMAGE, version),
            env=database_env,
            ports=[]
            if host_network
            else (["%s:%d" % (target["ravendb_port"], RAVENDB_PORT)] if target.get("ravendb_port") else []),
            volumes=["%s-data:%s" % (database, RAVENDB_DATA.get(major, RAVENDB_DATA[6]))],
            network=network,
        )
    environment = container_environment(instance, transport, ravendb_url, target.get("license"))
    # Extra variables the operator gives for the container (a proxy, a lab-only port), never settings.
    environment.update({str(k): str(v) for k, v in (target.get("environment") or {}).items()})
    image = "%s:%s" % (IMAGES[kind], version)
    port = int(target.get("port") or DEFAULT_PORTS[kind])
    ports = [] if host_network else ["%d:%d" % (port, CONTAINER_PORTS[kind])]
    definitions["setup"] = _container("%s-setup" % name, image, env=environment, command=["--setup"], network=network)
    definitions["setup"]["restart_policy"] = "no"
    definitions["instance"] = _container(name, image, env=environment, ports=ports, network=network)
    return definitions


def _container(name, image, *, env, command=None, ports=(), volumes=(), network=None):
    definition = {
        "name": name,
        "image": image,
        "env": dict(env),
        "ports": list(ports),
        "volumes": list(volumes),
        "restart_policy": "unless-stopped",
    }
    if command:
        definition["command"] = list(command)
    if network:
        definition["network_mode"] = network
    return definition


def instance_url(instance, target=None):
    """The instance's API address: the topology's ``url``, or derived from its target and port."""
    if instance.get("url"):
        return instance["url"]
    target = target or instance.get("target") or {}
    host = instance.get("host") or target.get("host") or "localhost"
    if target.get("type") == "container":
        port = target.get("port") or DEFAULT_PORTS[instance["kind"]]
    else:
        port = _ports(instance)[0]
    suffix = "" if instance["kind"] == "monitoring" else "/api"
    return "http://%s:%s%s" % (host, port, suffix)


# -- verification ------------------------------------------------------------------------------------


def verification_problems(instance, described):
    """What the running instance reports that differs from what was asked (empty when it matches).

    ``described`` is the instance layer's description (``_instance.read_instance``).
    """
    problems = []
    name, kind, settings = instance["name"], instance["kind"], instance["settings"]

    def differs(what, wanted, reported):
        if wanted is not None and str(wanted) != str(reported):
            problems.append("%s: %s is %s, expected %s" % (name, what, reported, wanted))

    differs("the instance kind", kind, described.get("instance_kind"))
    if instance.get("version"):
        differs("the version", instance["version"], described.get("version"))
    if kind in ("error", "audit"):
        differs("the InstanceName", name, described.get("instance_name"))
        queues = described.get("queues") or {}
        prefix = "error" if kind == "error" else "audit"
        differs(
            "the %s queue" % prefix,
            settings.get("ServiceBus/%sQueue" % prefix.capitalize()),
            queues.get("%s_queue" % prefix),
        )
        forwarding_key = (
            "ServiceControl/ForwardErrorMessages" if kind == "error" else "ServiceControl.Audit/ForwardAuditMessages"
        )
        forwarding = settings.get(forwarding_key)
        if forwarding is not None:
            differs("forwarding", bool(forwarding), bool(described.get("forwarding")))
            if forwarding:
                differs(
                    "the log queue",
                    settings.get("ServiceBus/%sLogQueue" % prefix.capitalize()),
                    queues.get("%s_log_queue" % prefix),
                )
    if kind == "error" and settings.get("ServiceControl/RemoteInstances"):
        wanted = sorted(remote_base_address(uri) for uri in remotes_of(settings))
        reported = sorted(remote_base_address(r.get("api_uri", "")) for r in described.get("remotes") or [])
        if wanted != reported:
            problems.append("%s: the remotes are %s, expected %s" % (name, reported, wanted))
    return problems


# -- the lab --------------------------------------------------------------------------------------------

LAB_COMMAND = ("python3", "-m", "lab", "instance")
LAB_CONFIG_SOURCES = ("exe_config", "environment")


def lab_definition(instance, transport, target=None):
    """How the lab stand-in runs the instance: argv, working directory, and where its settings come from.

    ``target.config`` chooses the path the settings take: ``exe_config`` (the Windows path: the settings are
    written into the instance's .exe.config, passed with ``--config``) or ``environment`` (the container
    path: fully qualified environment variables).
    """
    target = dict(target or instance.get("target") or {})
    source = target.get("config", "exe_config")
    if source not in LAB_CONFIG_SOURCES:
        raise DeploymentError(
            "Instance %s: target.config is '%s'; use %s." % (instance["name"], source, " or ".join(LAB_CONFIG_SOURCES))
        )
    directory = target.get("directory")
    if not directory:
        raise DeploymentError(
            "Lab instance %s needs target.directory (where its config file, log and process id are kept)."
            % instance["name"]
        )
    argv = [*list(target.get("command") or LAB_COMMAND), "--kind", instance["kind"]]
    config_file = "%s/%s" % (directory.rstrip("/"), CONFIG_FILES[instance["kind"]])
    environment = {}
    if instance.get("version"):
        environment["LAB_SERVICECONTROL_VERSION"] = instance["version"]
    if source == "exe_config":
        argv += ["--config", config_file]
    else:
        environment.update(container_environment(instance, transport))
        environment.update(_host_settings_environment(instance))
    return {
        "argv": [*argv, "--setup-and-run"],
        "chdir": target.get("chdir"),
        "directory": directory,
        "config_source": source,
        "config_file": config_file if source == "exe_config" else None,
        "environment": environment,
        "url": instance_url(instance, target),
    }


def _host_settings_environment(instance):
    """Port, host name and paths: a process (unlike a container) takes them from its settings."""
    ns = _ns(instance).lower()
    wanted = (
        "%s/port" % ns,
        "%s/hostname" % ns,
        "%s/httpport" % ns,
        "%s/httphostname" % ns,
        "%s/dbpath" % ns,
        "%s/logpath" % ns,
    )
    return {
        environment_name(key): format_value(value)
        for key, value in instance["settings"].items()
        if key.lower() in wanted and value is not None
    }


def config_file_settings(instance, transport):
    """(appSettings, connectionStrings) for the instance's .exe.config (the Windows and lab edit path)."""
    settings = desired_settings(instance, transport)
    _transport, connection_string = transport_settings(instance, transport)
    connection_strings = {}
    if connection_string is not None and transport["type"] != "MSMQ":
        connection_strings["NServiceBus/Transport"] = connection_string
    return settings, connection_strings
