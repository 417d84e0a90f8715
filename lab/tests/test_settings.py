"""Settings resolution and start-up validation of the lab instances.

Facts: docs/reference/servicecontrol.md §1.1 and §1.5; ServiceControl 6.19.2's Settings.cs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lab.settings import (
    ConfigFile,
    SettingsError,
    SettingsReader,
    env_variable_names,
    format_timespan,
    load_settings,
    parse_timespan,
)

ERROR_BASE = {
    "TRANSPORTTYPE": "LearningTransport",
    "SERVICECONTROL_FORWARDERRORMESSAGES": "false",
    "SERVICECONTROL_ERRORRETENTIONPERIOD": "15",
}


def error_settings(config: Path | None = None, **env: str):
    return load_settings("error", str(config) if config else None, {**ERROR_BASE, **env})


def audit_settings(config: Path | None = None, **env: str):
    return load_settings("audit", str(config) if config else None, {"TRANSPORTTYPE": "LearningTransport", **env})


def write_config(tmp_path: Path, settings: dict[str, str], connection_string: str | None = None) -> Path:
    adds = "\n".join('    <add key="%s" value="%s" />' % (k, v) for k, v in settings.items())
    connection = ""
    if connection_string is not None:
        connection = (
            '  <connectionStrings>\n    <add name="NServiceBus/Transport" connectionString="%s" />\n'
            "  </connectionStrings>\n" % connection_string
        )
    path = tmp_path / "ServiceControl.exe.config"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <appSettings>\n%s\n  </appSettings>\n%s'
        "</configuration>\n" % (adds, connection),
        encoding="utf-8",
    )
    return path


# ---------------------------------------------------------------- environment variable names


@pytest.mark.parametrize(
    ("namespace", "name", "expected"),
    [
        (
            "ServiceControl",
            "ForwardErrorMessages",
            [
                "SERVICECONTROL_FORWARDERRORMESSAGES",
                "ServiceControl_ForwardErrorMessages",
                "FORWARDERRORMESSAGES",
                "ForwardErrorMessages",
            ],
        ),
        (
            "ServiceControl.Audit",
            "ForwardAuditMessages",
            [
                "SERVICECONTROL_AUDIT_FORWARDAUDITMESSAGES",
                "ServiceControl_Audit_ForwardAuditMessages",
                "FORWARDAUDITMESSAGES",
                "ForwardAuditMessages",
            ],
        ),
        (
            "ServiceControl",
            "RavenDB/ConnectionString",
            [
                "SERVICECONTROL_RAVENDB_CONNECTIONSTRING",
                "ServiceControl_RavenDB_ConnectionString",
                "RAVENDB_CONNECTIONSTRING",
                "RavenDB_ConnectionString",
            ],
        ),
        ("ServiceBus", "ErrorLogQueue", ["SERVICEBUS_ERRORLOGQUEUE", "ServiceBus_ErrorLogQueue"]),
        (
            "LicensingComponent",
            "ServiceControlThroughputDataQueue",
            [
                "LICENSINGCOMPONENT_SERVICECONTROLTHROUGHPUTDATAQUEUE",
                "LicensingComponent_ServiceControlThroughputDataQueue",
            ],
        ),
    ],
)
def test_environment_variable_names(namespace, name, expected):
    assert env_variable_names(namespace, name) == expected


def test_environment_variable_names_before_5_3():
    assert env_variable_names("ServiceControl.Audit", "IngestAuditMessages", (5, 0, 0)) == [
        "ServiceControl.Audit/IngestAuditMessages",
        "ServiceControl_Audit_IngestAuditMessages",
    ]
    assert env_variable_names("ServiceControl", "RavenDB/Port", (5, 2, 0)) == [
        "ServiceControl/RavenDB/Port",
        "ServiceControl_RavenDB/Port",
        "ServiceControl_RavenDB_Port",
    ]
    assert env_variable_names("ServiceBus", "ErrorQueue", (4, 33, 0)) == [
        "ServiceBus/ErrorQueue",
        "ServiceBus_ErrorQueue",
    ]


def test_fully_qualified_beats_bare_and_uppercase_beats_exact_case():
    assert (
        error_settings(FORWARDERRORMESSAGES="true", SERVICECONTROL_FORWARDERRORMESSAGES="false").forward_error_messages
        is False
    )
    reader = SettingsReader(environ={"ServiceControl_Port": "1", "SERVICECONTROL_PORT": "2", "PORT": "3"})
    assert reader.read_int("ServiceControl", "Port") == 2
    assert SettingsReader(environ={"Port": "4"}).read_int("ServiceControl", "Port") == 4


def test_servicebus_keys_must_be_fully_qualified():
    settings = error_settings(ERRORLOGQUEUE="ignored", ERRORQUEUE="ignored-too")
    assert (settings.error_queue, settings.error_log_queue) == ("error", "error.log")
    settings = error_settings(SERVICEBUS_ERRORQUEUE="errors@machine")
    assert settings.error_log_queue == "errors.log@machine", "Subscope puts .log before @machine"
    settings = error_settings(SERVICEBUS_ERRORQUEUE="error_backup", SERVICEBUS_ERRORLOGQUEUE="error_backup.log2")
    assert (settings.error_queue, settings.error_log_queue) == ("error_backup", "error_backup.log2")


def test_environment_beats_config_file_and_config_beats_default(tmp_path: Path):
    config = write_config(
        tmp_path,
        {
            "ServiceControl/ForwardErrorMessages": "true",
            "ServiceBus/ErrorLogQueue": "error_backup",
            "serviceControl/port": "40000",
            "ServiceControl/RemoteInstances": "[{&quot;api_uri&quot;:&quot;http://audit:44444/api&quot;}]",
        },
    )
    env = {k: v for k, v in ERROR_BASE.items() if k != "SERVICECONTROL_FORWARDERRORMESSAGES"}
    settings = load_settings("error", str(config), env)
    assert settings.forward_error_messages is True
    assert settings.error_log_queue == "error_backup"
    assert settings.port == 40000, "appSettings keys are case-insensitive"
    assert [r.api_uri for r in settings.remote_instances] == ["http://audit:44444/api"]
    assert settings.remote_instances[0].base_address == "http://audit:44444"
    assert settings.sources["ForwardErrorMessages"] == "config:ServiceControl/ForwardErrorMessages"

    settings = load_settings("error", str(config), {**env, "SERVICECONTROL_FORWARDERRORMESSAGES": "false"})
    assert settings.forward_error_messages is False
    assert settings.sources["ForwardErrorMessages"] == "env:SERVICECONTROL_FORWARDERRORMESSAGES"


def test_container_ignores_the_config_file_and_forces_host_and_port(tmp_path: Path):
    config = write_config(tmp_path, {"ServiceControl/ForwardErrorMessages": "true", "ServiceControl/Port": "40000"})
    env = {**ERROR_BASE, "DOTNET_RUNNING_IN_CONTAINER": "true", "SERVICECONTROL_PORT": "1234"}
    settings = load_settings("error", str(config), env)
    assert settings.forward_error_messages is False
    assert (settings.host_name, settings.port) == ("*", 33333)


def test_connection_string_setting_wins_over_connection_strings_section(tmp_path: Path):
    config = write_config(tmp_path, {}, connection_string="C:\\learning")
    assert error_settings(config).connection_string == "C:\\learning"
    config = write_config(
        tmp_path, {"ServiceControl/ConnectionString": "from-setting"}, connection_string="from-section"
    )
    assert error_settings(config).connection_string == "from-setting"
    assert error_settings(config, CONNECTIONSTRING="from-env").connection_string == "from-env"


def test_values_expand_environment_references():
    assert error_settings(SERVICECONTROL_DBPATH="%BASE%/db", BASE="/srv").db_path == "/srv/db"
    assert error_settings(SERVICECONTROL_DBPATH="%UNSET_X%/db").db_path == "%UNSET_X%/db"


# ---------------------------------------------------------------- TimeSpan


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15", dt.timedelta(days=15)),
        ("10.00:00:00", dt.timedelta(days=10)),
        ("10:00:00:00", dt.timedelta(days=10)),
        ("01:30", dt.timedelta(hours=1, minutes=30)),
        ("00:00:05", dt.timedelta(seconds=5)),
        ("1.02:03:04.5", dt.timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=500)),
        (" 7 ", dt.timedelta(days=7)),
        ("-01:00:00", -dt.timedelta(hours=1)),
        ("24:00:00", None),
        ("00:60:00", None),
        ("15d", None),
        ("", None),
    ],
)
def test_timespan_parsing(text, expected):
    assert parse_timespan(text) == expected


def test_timespan_formatting():
    assert format_timespan(dt.timedelta(days=10)) == "10.00:00:00"
    assert format_timespan(dt.timedelta(seconds=40)) == "00:00:40"
    assert format_timespan(dt.timedelta(days=1, milliseconds=5)) == "1.00:00:00.0050000"


# ---------------------------------------------------------------- validation messages


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SERVICECONTROL_FORWARDERRORMESSAGES": None},
            "ForwardErrorMessages settings is missing, please make sure it is included.",
        ),
        (
            {"SERVICECONTROL_ERRORRETENTIONPERIOD": None},
            "ErrorRetentionPeriod settings is missing, please make sure it is included",
        ),
        (
            {"SERVICECONTROL_ERRORRETENTIONPERIOD": "4"},
            "ErrorRetentionPeriod settings is invalid, value should be minimum 5 days",
        ),
        (
            {"SERVICECONTROL_ERRORRETENTIONPERIOD": "45.00:00:01"},
            "ErrorRetentionPeriod settings is invalid, value should be maximum 45 days",
        ),
        (
            {"SERVICECONTROL_ERRORRETENTIONPERIOD": "two weeks"},
            "ErrorRetentionPeriod settings is invalid, please make sure it is a TimeSpan",
        ),
        ({"SERVICEBUS_ERRORQUEUE": ""}, "ServiceBus/ErrorQueue requires a value to start the instance"),
        (
            {"SERVICECONTROL_AUDITRETENTIONPERIOD": "00:30:00"},
            "AuditRetentionPeriod settings is invalid, value should be minimum 1 hour.",
        ),
        (
            {"SERVICECONTROL_TIMETORESTARTERRORINGESTIONAFTERFAILURE": "00:00:04"},
            "TimeToRestartErrorIngestionAfterFailure setting is invalid, value should be minimum 5 seconds.",
        ),
        (
            {"SERVICECONTROL_EVENTRETENTIONPERIOD": "201"},
            "EventRetentionPeriod settings is invalid, value should be maximum 200 days",
        ),
    ],
)
def test_error_instance_refuses_to_start_with_servicecontrols_message(env, message):
    environ = {**ERROR_BASE, **env}
    environ = {k: v for k, v in environ.items() if v is not None}
    with pytest.raises(SettingsError) as failure:
        load_settings("error", None, environ)
    assert str(failure.value) == message


def test_forward_error_messages_missing_is_checked_before_retention():
    with pytest.raises(SettingsError, match=r"^ForwardErrorMessages settings is missing"):
        load_settings("error", None, {"TRANSPORTTYPE": "LearningTransport"})


def test_validate_config_false_disables_range_checks():
    settings = error_settings(SERVICECONTROL_ERRORRETENTIONPERIOD="1", SERVICECONTROL_VALIDATECONFIG="false")
    assert settings.error_retention_period == dt.timedelta(days=1)


def test_missing_transport_type_is_refused_with_servicecontrols_message():
    settings = load_settings("error", None, {k: v for k, v in ERROR_BASE.items() if k != "TRANSPORTTYPE"})
    with pytest.raises(
        SettingsError,
        match=r"^No transport has been configured\. Either provide a Type or Name in the TransportType setting\.$",
    ):
        settings.require_transport()


def test_invalid_boolean_is_refused():
    with pytest.raises(SettingsError, match=r"^yes is not a valid value for Boolean\."):
        error_settings(SERVICECONTROL_FORWARDERRORMESSAGES="yes")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SERVICEBUS_AUDITQUEUE": ""}, "ServiceBus/AuditQueue value is required to start the instance"),
        (
            {"SERVICECONTROL_AUDIT_AUDITRETENTIONPERIOD": "366"},
            "AuditRetentionPeriod settings is invalid, value should be maximum 365 days.",
        ),
        (
            {"SERVICECONTROL_AUDIT_AUDITRETENTIONPERIOD": "00:59:59"},
            "AuditRetentionPeriod settings is invalid, value should be minimum 1 hour.",
        ),
        (
            {"SERVICECONTROL_AUDIT_AUDITRETENTIONPERIOD": "x"},
            "AuditRetentionPeriod settings is invalid, please make sure it is a TimeSpan.",
        ),
    ],
)
def test_audit_instance_validation_messages(env, message):
    with pytest.raises(SettingsError) as failure:
        audit_settings(**env)
    assert str(failure.value) == message


def test_audit_defaults_and_missing_servicecontrol_queue_address_is_allowed():
    settings = audit_settings()
    assert settings.audit_retention_period == dt.timedelta(days=30)
    assert settings.forward_audit_messages is False
    assert settings.service_control_queue_address is None
    assert (settings.instance_name, settings.port, settings.audit_log_queue) == (
        "Particular.ServiceControl.Audit",
        44444,
        "audit.log",
    )


# ---------------------------------------------------------------- version-dependent keys


def test_ingest_error_messages_exists_from_4_33():
    assert error_settings(INGESTERRORMESSAGES="false").ingest_error_messages is False
    old = {"ServiceControl/TransportType": "LearningTransport", "ServiceControl/ForwardErrorMessages": "false"}
    old |= {"ServiceControl/ErrorRetentionPeriod": "15", "ServiceControl/IngestErrorMessages": "false"}
    assert load_settings("error", None, {**old, "LAB_SERVICECONTROL_VERSION": "4.33.0"}).ingest_error_messages is False
    assert load_settings("error", None, {**old, "LAB_SERVICECONTROL_VERSION": "4.32.1"}).ingest_error_messages is True


@pytest.mark.parametrize(
    ("version", "env", "ingest"),
    [
        ("6.19.2", {"SERVICECONTROL_AUDIT_INGESTAUDITMESSAGES": "false"}, False),
        ("6.19.2", {"SERVICECONTROL_INGESTAUDITMESSAGES": "false"}, False),
        (
            "6.19.2",
            {"SERVICECONTROL_AUDIT_INGESTAUDITMESSAGES": "true", "SERVICECONTROL_INGESTAUDITMESSAGES": "false"},
            True,
        ),
        ("6.4.1", {"SERVICECONTROL_AUDIT_INGESTAUDITMESSAGES": "false"}, True),
        ("6.4.1", {"SERVICECONTROL_INGESTAUDITMESSAGES": "false"}, False),
        ("5.11.0", {"SERVICEBUS_AUDITQUEUE": "!disable"}, True),
    ],
)
def test_audit_ingestion_switch_per_version(version, env, ingest):
    assert audit_settings(LAB_SERVICECONTROL_VERSION=version, **env).ingest_audit_messages is ingest


def test_audit_queue_disable_marker_for_4x():
    env = {"ServiceControl.Audit/TransportType": "LearningTransport", "LAB_SERVICECONTROL_VERSION": "4.33.0"}
    assert load_settings("audit", None, {**env, "ServiceBus/AuditQueue": "!disable"}).ingest_audit_messages is False
    assert (
        load_settings("audit", None, {**env, "ServiceControl/IngestAuditMessages": "false"}).ingest_audit_messages
        is True
    )


def test_instance_name_key_exists_from_5_5():
    assert error_settings(INSTANCENAME="Backup").instance_name == "Backup"
    assert error_settings(INTERNALQUEUENAME="Legacy").instance_name == "Legacy"
    assert error_settings(INSTANCENAME="Backup", INTERNALQUEUENAME="Legacy").instance_name == "Backup"
    assert error_settings(SERVICECONTROL_INSTANCENAME="Backup", LAB_SERVICECONTROL_VERSION="5.4.0").instance_name == (
        "Particular.ServiceControl"
    )


# ---------------------------------------------------------------- setup queue sets (servicecontrol.md §5)


def test_error_setup_queues_follow_settings():
    assert error_settings().setup_queues() == [
        "Particular.ServiceControl",
        "Particular.ServiceControl.Errors",
        "Particular.ServiceControl.staging",
        "error",
        "ServiceControl.ThroughputData",
    ]
    forwarding = error_settings(SERVICECONTROL_FORWARDERRORMESSAGES="true", SERVICEBUS_ERRORLOGQUEUE="error_backup")
    assert "error_backup" in forwarding.setup_queues()
    not_ingesting = error_settings(INSTANCENAME="Old", INGESTERRORMESSAGES="false")
    assert not_ingesting.setup_queues() == ["Old", "Old.Errors", "Old.staging", "ServiceControl.ThroughputData"]
    assert "ServiceControl.ThroughputData" not in error_settings(LAB_SERVICECONTROL_VERSION="5.3.0").setup_queues()
    custom = error_settings(LICENSINGCOMPONENT_SERVICECONTROLTHROUGHPUTDATAQUEUE="Backup.ThroughputData")
    assert custom.setup_queues()[-1] == "Backup.ThroughputData"


def test_audit_setup_queues_follow_settings():
    assert audit_settings().setup_queues() == [
        "Particular.ServiceControl.Audit",
        "Particular.ServiceControl.Audit.Errors",
        "audit",
    ]
    forwarding = audit_settings(
        SERVICECONTROL_AUDIT_FORWARDAUDITMESSAGES="true", SERVICEBUS_AUDITLOGQUEUE="audit_backup"
    )
    assert forwarding.setup_queues()[-1] == "audit_backup"
    assert audit_settings(INGESTAUDITMESSAGES="false").setup_queues() == []


def test_config_file_sections_follow_name_value_collection_rules(tmp_path: Path):
    path = tmp_path / "x.config"
    path.write_text(
        "<configuration><appSettings>"
        '<add key="A" value="1"/><add key="a" value="2"/><add key="B" value="3"/><remove key="b"/>'
        "</appSettings></configuration>",
        encoding="utf-8",
    )
    config = ConfigFile.load(path)
    assert config.app_settings == {"a": "2"}
    with pytest.raises(SettingsError, match="does not exist"):
        ConfigFile.load(tmp_path / "missing.config")
