"""Settings of a lab ServiceControl instance, resolved the way ServiceControl resolves them.

Sources, first hit wins (docs/reference/servicecontrol.md §1.1, ``SettingsReader``):

1. environment variable: ``<namespace>_<name>`` with every ``.`` and ``/`` replaced by ``_``, tried
   UPPERCASE first and then in its exact case; for the namespaces ``ServiceControl``,
   ``ServiceControl.Audit`` and ``Monitoring`` the bare ``<name>`` is tried after that (again upper
   then exact case). Other namespaces (``ServiceBus``, ``LicensingComponent``) must be fully qualified;
2. the ``appSettings`` of the instance's ``.exe.config`` XML file (key ``<namespace>/<name>``, looked up
   case-insensitively like .NET's NameValueCollection), skipped when ``DOTNET_RUNNING_IN_CONTAINER=true``;
3. the default.

The Windows registry source does not exist on Linux (ServiceControl skips it there too).
Values have ``%VAR%`` environment references expanded, like ``Environment.ExpandEnvironmentVariables``.

The simulated ServiceControl version comes from ``LAB_SERVICECONTROL_VERSION`` (default 6.19.2); it is
sent as ``X-Particular-Version`` and decides which version-dependent keys exist.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_VERSION = "6.19.2"
VERSION_ENV = "LAB_SERVICECONTROL_VERSION"
#: Lab-only: seconds between retry-batch processing rounds. ServiceControl fixes this at 30 s
#: (``ProcessRetryBatchesFrequency``); tests shorten it.
RETRY_FREQUENCY_ENV = "LAB_PROCESS_RETRY_BATCHES_FREQUENCY"
#: Lab-only: the port a containerised instance listens on instead of its fixed in-container port. It stands
#: for a published port (``-p PORT:33333``), which host networking (the only kind here) cannot give.
CONTAINER_PORT_ENV = "LAB_CONTAINER_PORT"
ERROR_NS = "ServiceControl"
AUDIT_NS = "ServiceControl.Audit"
MONITORING_NS = "Monitoring"
_BARE_NAME_NAMESPACES = (ERROR_NS, AUDIT_NS, MONITORING_NS)
_SEPARATORS = re.compile(r"[./]")
_ENV_REFERENCE = re.compile(r"%([^%]+)%")


class SettingsError(Exception):
    """A setting makes the instance refuse to start; the message is ServiceControl's own text."""


def parse_version(text: str) -> tuple[int, int, int]:
    match = re.match(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if not match:
        raise SettingsError("%s must be a ServiceControl version like 6.19.2, not %r." % (VERSION_ENV, text))
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


# ---------------------------------------------------------------- value conversion (.NET TypeConverter)

_TS_DAYS = re.compile(r"^(-)?(\d+)$")
_TS_HM = re.compile(r"^(-)?(?:(\d+)\.)?(\d+):(\d+)$")
_TS_HMS = re.compile(r"^(-)?(?:(\d+)[.:])?(\d+):(\d+):(\d+)(?:\.(\d{1,7}))?$")


def parse_timespan(text: str) -> dt.timedelta | None:
    """.NET ``TimeSpan.TryParse`` (invariant culture): ``d``, ``[-][d.]hh:mm``, ``[-][d.|d:]hh:mm:ss[.fffffff]``.

    Returns None where .NET's TryParse returns false (bad form or a component out of range)."""
    value = (text or "").strip()
    match = _TS_DAYS.match(value)
    if match:
        days, hours, minutes, seconds, frac, sign = int(match.group(2)), 0, 0, 0, "", match.group(1)
    else:
        match = _TS_HM.match(value)
        if match:
            sign, days = match.group(1), int(match.group(2) or 0)
            hours, minutes, seconds, frac = int(match.group(3)), int(match.group(4)), 0, ""
        else:
            match = _TS_HMS.match(value)
            if not match:
                return None
            sign, days = match.group(1), int(match.group(2) or 0)
            hours, minutes, seconds = int(match.group(3)), int(match.group(4)), int(match.group(5))
            frac = match.group(6) or ""
    if hours > 23 or minutes > 59 or seconds > 59 or days > 10675199:
        return None
    result = dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if frac:
        result += dt.timedelta(microseconds=int((frac + "0000000")[:7]) // 10)
    return -result if sign else result


def format_timespan(value: dt.timedelta) -> str:
    """A TimeSpan as .NET's invariant ``c`` format writes it (``10.00:00:00``, ``00:01:00``)."""
    total_us = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
    sign = "-" if total_us < 0 else ""
    total_us = abs(total_us)
    days, rem = divmod(total_us, 86400 * 1_000_000)
    hours, rem = divmod(rem, 3600 * 1_000_000)
    minutes, rem = divmod(rem, 60 * 1_000_000)
    seconds, micro = divmod(rem, 1_000_000)
    text = "%s%s%02d:%02d:%02d" % (sign, ("%d." % days) if days else "", hours, minutes, seconds)
    if micro:
        text += ".%07d" % (micro * 10)
    return text


def parse_bool(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "false"):
        return value == "true"
    # BooleanConverter's FormatException, which ServiceControl lets crash the start-up.
    raise SettingsError("%s is not a valid value for Boolean. (setting %s)" % (text, name))


def parse_int(name: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise SettingsError("%s is not a valid value for Int32. (setting %s)" % (text, name)) from None


def expand_environment_references(value: str) -> str:
    """``Environment.ExpandEnvironmentVariables``: ``%NAME%`` is replaced when NAME is set, kept otherwise."""
    return _ENV_REFERENCE.sub(lambda m: os.environ.get(m.group(1), m.group(0)), value)


# ---------------------------------------------------------------- the readers


def env_variable_names(namespace: str, name: str, version: tuple[int, int, int] = (6, 19, 2)) -> list[str]:
    """The environment variable names tried for one setting, in the order of the simulated version.

    5.3.0+: ``NAMESPACE_NAME`` (upper), ``Namespace_Name`` (exact), then for the three app namespaces the
    bare name (upper, exact). 5.0-5.2: ``Namespace/Name``, ``Namespace_Name`` with '.' replaced, then with
    '/' replaced too. 4.x: ``Namespace/Name`` and ``Namespace_Name`` with '.' replaced."""
    if version < (5, 3, 0):
        names = ["%s/%s" % (namespace, name), ("%s_%s" % (namespace, name)).replace(".", "_")]
        if version >= (5, 0, 0):
            names.append(("%s_%s" % (namespace, name)).replace(".", "_").replace("/", "_"))
    else:
        qualified = _SEPARATORS.sub("_", "%s_%s" % (namespace, name))
        names = [qualified.upper(), qualified]
        if namespace in _BARE_NAME_NAMESPACES:
            bare = _SEPARATORS.sub("_", name)
            names += [bare.upper(), bare]
    unique: list[str] = []
    for candidate in names:
        if candidate not in unique:
            unique.append(candidate)
    return unique


@dataclass
class ConfigFile:
    """The parts of a ``ServiceControl.exe.config`` ServiceControl reads."""

    app_settings: dict[str, str] = field(default_factory=dict)
    connection_strings: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike | None) -> ConfigFile:
        if not path:
            return cls()
        file_path = Path(path)
        if not file_path.is_file():
            raise SettingsError("The configuration file %s does not exist." % file_path)
        try:
            root = ET.parse(file_path).getroot()  # noqa: S314 - the operator's own file
        except ET.ParseError as exc:
            raise SettingsError("The configuration file %s is not valid XML: %s" % (file_path, exc)) from None
        config = cls()
        for section, target, key_attr, value_attr in (
            ("appSettings", config.app_settings, "key", "value"),
            ("connectionStrings", config.connection_strings, "name", "connectionString"),
        ):
            element = root.find(section)
            if element is None:
                continue
            for child in element:
                # NameValueCollection semantics: case-insensitive keys, later <add> wins, <remove>/<clear>.
                if child.tag == "clear":
                    target.clear()
                elif child.tag == "remove":
                    target.pop((child.get(key_attr) or "").lower(), None)
                elif child.tag == "add" and child.get(key_attr) is not None:
                    target[child.get(key_attr).lower()] = child.get(value_attr, "")
        return config


class SettingsReader:
    """Reads raw setting values from the environment and a config file, ServiceControl's way."""

    def __init__(
        self,
        config: ConfigFile | None = None,
        environ: dict[str, str] | None = None,
        version: tuple[int, int, int] | None = None,
    ) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self.config = config or ConfigFile()
        self.version = version or parse_version(self.environ.get(VERSION_ENV, DEFAULT_VERSION))
        self.in_container = self.environ.get("DOTNET_RUNNING_IN_CONTAINER", "").lower() == "true"

    def _expand(self, value: str) -> str:
        return _ENV_REFERENCE.sub(lambda m: self.environ.get(m.group(1), m.group(0)), value)

    def source_of(self, namespace: str, name: str) -> str | None:
        """Where a setting comes from (``env:NAME``, ``config:key``) or None when unset."""
        for candidate in env_variable_names(namespace, name, self.version):
            if candidate in self.environ:
                return "env:" + candidate
        key = "%s/%s" % (namespace, name)
        if not self.in_container and key.lower() in self.config.app_settings:
            return "config:" + key
        return None

    def read(self, namespace: str, name: str) -> str | None:
        for candidate in env_variable_names(namespace, name, self.version):
            if candidate in self.environ:
                return self._expand(self.environ[candidate])
        if not self.in_container:
            value = self.config.app_settings.get(("%s/%s" % (namespace, name)).lower())
            if value is not None:
                return self._expand(value)
        return None

    def read_str(self, namespace: str, name: str, default: str | None = None) -> str | None:
        value = self.read(namespace, name)
        return default if value is None else value

    def read_bool(self, namespace: str, name: str, default: bool | None = None) -> bool | None:
        value = self.read(namespace, name)
        return default if value is None else parse_bool("%s/%s" % (namespace, name), value)

    def read_int(self, namespace: str, name: str, default: int | None = None) -> int | None:
        value = self.read(namespace, name)
        return default if value is None else parse_int("%s/%s" % (namespace, name), value)

    def connection_string(self, namespace: str) -> str | None:
        """``ConnectionString`` setting first, then ``<connectionStrings>`` ``NServiceBus/Transport``."""
        value = self.read(namespace, "ConnectionString")
        if value is not None:
            return value
        # ConfigurationManager.ConnectionStrings is not affected by the container switch.
        return self.config.connection_strings.get("nservicebus/transport")


def _log_queue_for(queue: str) -> str:
    """ServiceControl's ``Subscope``: ``.log`` goes before any ``@machine`` part."""
    queue_name, at, machine = queue.partition("@")
    return "%s.log@%s" % (queue_name, machine) if at else "%s.log" % queue


def _ranged_timespan(
    reader: SettingsReader,
    namespace: str,
    name: str,
    *,
    validate: bool,
    minimum: tuple[dt.timedelta, str],
    maximum: tuple[dt.timedelta, str],
    messages: tuple[str, str, str],
) -> dt.timedelta | None:
    """Read a TimeSpan setting and apply ServiceControl's range check with its exact messages."""
    raw = reader.read(namespace, name)
    if raw is None:
        return None
    value = parse_timespan(raw)
    if value is None:
        raise SettingsError(messages[2])
    if validate and value < minimum[0]:
        raise SettingsError(messages[0])
    if validate and value > maximum[0]:
        raise SettingsError(messages[1])
    return value


@dataclass
class RemoteInstance:
    api_uri: str

    @property
    def base_address(self) -> str:
        # RemoteInstanceSetting: every "/api" is removed from the configured URI.
        return self.api_uri.replace("/api", "")


@dataclass
class InstanceSettings:
    """What both instance kinds share."""

    kind: str
    version: tuple[int, int, int]
    version_text: str
    instance_name: str
    transport_type: str | None
    connection_string: str | None
    host_name: str
    port: int
    db_path: str | None
    log_path: str | None
    validate_config: bool
    maximum_concurrency_level: int | None
    retry_batch_frequency: float = 30.0
    sources: dict[str, str] = field(default_factory=dict)
    #: ``RavenDB/ConnectionString``: an external RavenDB (the lab's stand-in, lab/ravendb.py); None = local store.
    ravendb_connection_string: str | None = None
    ravendb_database_name: str = "primary"
    #: CORS, expiry, editing and the lab's knobs (lab.settings_features.FeatureSettings), set by load_settings.
    features: Any = None

    @property
    def root_url(self) -> str:
        return "http://%s:%s/" % (self.host_name, self.port)

    @property
    def api_url(self) -> str:
        return self.root_url + "api"

    @property
    def instance_errors_queue(self) -> str:
        return "%s.Errors" % self.instance_name

    def require_transport(self) -> str:
        if self.transport_type is None:
            # TransportManifestLibrary.Find(null)
            raise SettingsError(
                "No transport has been configured. Either provide a Type or Name in the TransportType setting."
            )
        return self.transport_type


@dataclass
class ErrorSettings(InstanceSettings):
    error_queue: str = "error"
    error_log_queue: str = "error.log"
    forward_error_messages: bool = False
    ingest_error_messages: bool = True
    error_retention_period: dt.timedelta = dt.timedelta(days=15)
    audit_retention_period: dt.timedelta | None = None
    event_retention_period: dt.timedelta = dt.timedelta(days=14)
    time_to_restart_error_ingestion: dt.timedelta = dt.timedelta(seconds=60)
    remote_instances: list[RemoteInstance] = field(default_factory=list)
    retry_history_depth: int = 10
    heartbeat_grace_period: str = "00:00:40"
    throughput_data_queue: str | None = "ServiceControl.ThroughputData"
    external_integrations_dispatching_batch_size: int = 100
    track_instances_initial_value: bool = True

    @property
    def staging_queue(self) -> str:
        return "%s.staging" % self.instance_name

    def setup_queues(self) -> list[str]:
        """Queues ``--setup`` creates (docs/reference/servicecontrol.md §5, docs/reference/transports.md §0)."""
        queues = [self.instance_name, self.instance_errors_queue, self.staging_queue]
        if self.ingest_error_messages:
            queues.append(self.error_queue)
        if self.forward_error_messages:
            queues.append(self.error_log_queue)
        if self.throughput_data_queue:
            queues.append(self.throughput_data_queue)
        return queues


@dataclass
class AuditSettings(InstanceSettings):
    audit_queue: str = "audit"
    audit_log_queue: str = "audit.log"
    forward_audit_messages: bool = False
    ingest_audit_messages: bool = True
    audit_retention_period: dt.timedelta = dt.timedelta(days=30)
    service_control_queue_address: str | None = None
    time_to_restart_audit_ingestion: dt.timedelta = dt.timedelta(seconds=60)
    max_body_size_to_store: int = 102400

    def setup_queues(self) -> list[str]:
        """Queues the audit ``--setup`` creates: nothing at all when ingestion is off.

        See docs/reference/servicecontrol.md §5.
        """
        if not self.ingest_audit_messages:
            return []
        queues = [self.instance_name, self.instance_errors_queue, self.audit_queue]
        if self.forward_audit_messages:
            queues.append(self.audit_log_queue)
        return queues


def _common(reader: SettingsReader, kind: str, namespace: str, default_name: str, default_port: int) -> dict:
    version = reader.version
    instance_name = reader.read_str(namespace, "InternalQueueName", default_name)
    if version >= (5, 5, 0):
        instance_name = reader.read_str(namespace, "InstanceName", instance_name)
    return {
        "kind": kind,
        "version": version,
        "version_text": "%d.%d.%d" % version,
        "instance_name": instance_name,
        "transport_type": reader.read_str(namespace, "TransportType"),
        "connection_string": reader.connection_string(namespace),
        "db_path": reader.read_str(namespace, "DbPath"),
        "log_path": reader.read_str(namespace, "LogPath"),
        "validate_config": reader.read_bool(namespace, "ValidateConfig", True),
        "maximum_concurrency_level": reader.read_int(namespace, "MaximumConcurrencyLevel"),
        "retry_batch_frequency": float(reader.environ.get(RETRY_FREQUENCY_ENV, "30")),
        **_ravendb(reader, kind, namespace),
    }


def _ravendb(reader: SettingsReader, kind: str, namespace: str) -> dict:
    """``RavenDB/ConnectionString`` and ``RavenDB/DatabaseName`` (``RAVENDB_CONNECTIONSTRING`` in containers).

    5.0+ both kinds (RavenPersistenceConfiguration); 4.x only the Audit instance, as ``RavenDB5/...``.
    Database names default to ``primary`` (Error) and ``audit`` (Audit)."""
    if reader.version >= (5, 0, 0):
        prefix = "RavenDB"
    elif kind == "audit":
        prefix = "RavenDB5"
    else:
        return {}
    return {
        "ravendb_connection_string": reader.read_str(namespace, prefix + "/ConnectionString") or None,
        "ravendb_database_name": reader.read_str(
            namespace, prefix + "/DatabaseName", "primary" if kind == "error" else "audit"
        ),
    }


def _host_and_port(reader: SettingsReader, namespace: str, default_port: int) -> tuple[str, int]:
    if reader.in_container:
        return "*", int(reader.environ.get(CONTAINER_PORT_ENV) or default_port)
    port = reader.read_int(namespace, "Port", default_port)
    host = reader.read_str(namespace, "Hostname", "localhost")
    return host, port


def load_error_settings(reader: SettingsReader) -> ErrorSettings:
    """Error-instance settings in the order ServiceControl's ``Settings`` constructor reads and validates them."""
    ns = ERROR_NS
    common = _common(reader, "error", ns, "Particular.ServiceControl", 33333)
    validate = common["validate_config"]

    error_queue = reader.read_str("ServiceBus", "ErrorQueue", "error")
    if not error_queue:
        raise SettingsError("ServiceBus/ErrorQueue requires a value to start the instance")
    # IngestErrorMessages exists from 4.33.0 (PR #3798); older versions ignore the key.
    ingest = reader.read_bool(ns, "IngestErrorMessages", True) if reader.version >= (4, 33, 0) else True
    error_log_queue = reader.read_str("ServiceBus", "ErrorLogQueue")
    if error_log_queue is None:
        error_log_queue = _log_queue_for(error_queue)

    audit_retention = _ranged_timespan(
        reader,
        ns,
        "AuditRetentionPeriod",
        validate=validate,
        minimum=(dt.timedelta(hours=1), ""),
        maximum=(dt.timedelta(days=365), ""),
        messages=(
            "AuditRetentionPeriod settings is invalid, value should be minimum 1 hour.",
            "AuditRetentionPeriod settings is invalid, value should be maximum 365 days.",
            "AuditRetentionPeriod settings is invalid, please make sure it is a TimeSpan.",
        ),
    )
    forward = reader.read_bool(ns, "ForwardErrorMessages")
    if forward is None:
        raise SettingsError("ForwardErrorMessages settings is missing, please make sure it is included.")
    if reader.read(ns, "ErrorRetentionPeriod") is None:
        raise SettingsError("ErrorRetentionPeriod settings is missing, please make sure it is included")
    error_retention = _ranged_timespan(
        reader,
        ns,
        "ErrorRetentionPeriod",
        validate=validate,
        minimum=(dt.timedelta(days=5), ""),
        maximum=(dt.timedelta(days=45), ""),
        messages=(
            "ErrorRetentionPeriod settings is invalid, value should be minimum 5 days",
            "ErrorRetentionPeriod settings is invalid, value should be maximum 45 days",
            "ErrorRetentionPeriod settings is invalid, please make sure it is a TimeSpan",
        ),
    )
    # EventRetentionPeriod: an unparsable value silently falls back to 14 days (TryParse, no else branch).
    event_raw = reader.read(ns, "EventRetentionPeriod")
    event_retention = dt.timedelta(days=14)
    if event_raw is not None and parse_timespan(event_raw) is not None:
        event_retention = _ranged_timespan(
            reader,
            ns,
            "EventRetentionPeriod",
            validate=validate,
            minimum=(dt.timedelta(hours=1), ""),
            maximum=(dt.timedelta(days=200), ""),
            messages=(
                "EventRetentionPeriod settings is invalid, value should be minimum 1 hour",
                "EventRetentionPeriod settings is invalid, value should be maximum 200 days",
                "",
            ),
        )
    host, port = _host_and_port(reader, ns, 33333)
    remotes_raw = reader.read(ns, "RemoteInstances")
    remotes: list[RemoteInstance] = []
    if remotes_raw:
        try:
            parsed = json.loads(remotes_raw)
        except ValueError as exc:
            raise SettingsError("ServiceControl/RemoteInstances is not valid JSON: %s" % exc) from None
        for item in parsed or []:
            if not isinstance(item, dict) or not item.get("api_uri"):
                raise SettingsError("Value cannot be null. (Parameter 'baseAddress')")
            remotes.append(RemoteInstance(item["api_uri"]))
    restart = _ranged_timespan(
        reader,
        ns,
        "TimeToRestartErrorIngestionAfterFailure",
        validate=validate,
        minimum=(dt.timedelta(seconds=5), ""),
        maximum=(dt.timedelta(hours=1), ""),
        messages=(
            "TimeToRestartErrorIngestionAfterFailure setting is invalid, value should be minimum 5 seconds.",
            "TimeToRestartErrorIngestionAfterFailure setting is invalid, value should be maximum 1 hour.",
            "TimeToRestartErrorIngestionAfterFailure setting is invalid, please make sure it is a TimeSpan.",
        ),
    ) or dt.timedelta(seconds=60)
    throughput = None
    if reader.version >= (5, 4, 0):
        throughput = reader.read_str(
            "LicensingComponent", "ServiceControlThroughputDataQueue", "ServiceControl.ThroughputData"
        )

    settings = ErrorSettings(
        **common,
        host_name=host,
        port=port,
        error_queue=error_queue,
        error_log_queue=error_log_queue,
        forward_error_messages=forward,
        ingest_error_messages=ingest,
        error_retention_period=error_retention,
        audit_retention_period=audit_retention,
        event_retention_period=event_retention,
        time_to_restart_error_ingestion=restart,
        remote_instances=remotes,
        retry_history_depth=reader.read_int(ns, "RetryHistoryDepth", 10),
        heartbeat_grace_period=reader.read_str(ns, "HeartbeatGracePeriod", "00:00:40"),
        throughput_data_queue=throughput,
        external_integrations_dispatching_batch_size=reader.read_int(
            ns, "ExternalIntegrationsDispatchingBatchSize", 100
        ),
        track_instances_initial_value=reader.read_bool(ns, "TrackInstancesInitialValue", True),
    )
    for key in ("IngestErrorMessages", "ForwardErrorMessages", "InstanceName", "TransportType"):
        settings.sources[key] = reader.source_of(ns, key) or "default"
    for key in ("ErrorQueue", "ErrorLogQueue"):
        settings.sources[key] = reader.source_of("ServiceBus", key) or "default"
    return settings


def load_audit_settings(reader: SettingsReader) -> AuditSettings:
    """Audit-instance settings in the order ServiceControl.Audit's ``Settings`` constructor reads them."""
    ns = AUDIT_NS
    common = _common(reader, "audit", ns, "Particular.ServiceControl.Audit", 44444)
    validate = common["validate_config"]
    version = reader.version

    audit_queue = reader.read_str("ServiceBus", "AuditQueue", "audit")
    if not audit_queue:
        raise SettingsError("ServiceBus/AuditQueue value is required to start the instance")
    if version >= (6, 5, 0):
        ingest = reader.read_bool(ns, "IngestAuditMessages")
        if ingest is None:
            # Backwards compatibility with the 5.x key.
            ingest = reader.read_bool(ERROR_NS, "IngestAuditMessages", True)
    elif version >= (5, 0, 0):
        ingest = reader.read_bool(ERROR_NS, "IngestAuditMessages", True)
    else:
        # 4.x has no switch; "!disable" as the audit queue name turns ingestion off.
        ingest = audit_queue.lower() != "!disable"
    audit_log_queue = reader.read_str("ServiceBus", "AuditLogQueue")
    if audit_log_queue is None:
        audit_log_queue = _log_queue_for(audit_queue)
    forward = reader.read_bool(ns, "ForwardAuditMessages", False)
    retention = _ranged_timespan(
        reader,
        ns,
        "AuditRetentionPeriod",
        validate=validate,
        minimum=(dt.timedelta(hours=1), ""),
        maximum=(dt.timedelta(days=365), ""),
        messages=(
            "AuditRetentionPeriod settings is invalid, value should be minimum 1 hour.",
            "AuditRetentionPeriod settings is invalid, value should be maximum 365 days.",
            "AuditRetentionPeriod settings is invalid, please make sure it is a TimeSpan.",
        ),
    ) or dt.timedelta(days=30)
    host, port = _host_and_port(reader, ns, 44444)
    restart = _ranged_timespan(
        reader,
        ns,
        "TimeToRestartAuditIngestionAfterFailure",
        validate=validate,
        minimum=(dt.timedelta(seconds=5), ""),
        maximum=(dt.timedelta(hours=1), ""),
        messages=(
            "TimeToRestartAuditIngestionAfterFailure setting is invalid, value should be minimum 5 seconds.",
            "TimeToRestartAuditIngestionAfterFailure setting is invalid, value should be maximum 1 hour.",
            "TimeToRestartAuditIngestionAfterFailure setting is invalid, please make sure it is a TimeSpan.",
        ),
    ) or dt.timedelta(seconds=60)
    if version >= (5, 0, 0) and common.get("ravendb_connection_string") and common["db_path"] is not None:
        # RavenPersistenceConfiguration.GetDatabaseConfiguration (InvalidOperationException).
        raise SettingsError("RavenDB/ConnectionString and DbPath cannot be specified at the same time.")
    settings = AuditSettings(
        **common,
        host_name=host,
        port=port,
        audit_queue=audit_queue,
        audit_log_queue=audit_log_queue,
        forward_audit_messages=forward,
        ingest_audit_messages=ingest,
        audit_retention_period=retention,
        service_control_queue_address=reader.read_str(ns, "ServiceControlQueueAddress"),
        time_to_restart_audit_ingestion=restart,
        max_body_size_to_store=reader.read_int(ns, "MaxBodySizeToStore", 102400),
    )
    for key in ("IngestAuditMessages", "ForwardAuditMessages", "InstanceName", "TransportType"):
        settings.sources[key] = reader.source_of(ns, key) or "default"
    return settings


def load_settings(kind: str, config_path: str | None = None, environ: dict[str, str] | None = None):
    """Resolve and validate the settings of an ``error``, ``audit`` or ``monitoring`` instance (the last two
    kinds' extras: lab.settings_features, lab.settings_monitoring); raises SettingsError."""
    from lab.settings_features import load_features  # noqa: PLC0415 - they build on this module
    from lab.settings_monitoring import load_monitoring_settings  # noqa: PLC0415

    reader = SettingsReader(ConfigFile.load(config_path), environ)
    loaders = {"error": load_error_settings, "audit": load_audit_settings, "monitoring": load_monitoring_settings}
    if kind not in loaders:
        raise SettingsError("Unknown instance kind %r: use error, audit or monitoring." % kind)
    settings = loaders[kind](reader)
    settings.features = load_features(reader, kind)
    return settings
