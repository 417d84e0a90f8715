# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The settings catalogue: what ServiceControl 6.19.2 would refuse is refused first, with its reason."""

from __future__ import annotations

import copy
import datetime
from pathlib import Path

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils import _settings
from ansible_collections.servicecontrol.platform.plugins.module_utils._settings import (
    CATALOGUE,
    effective_settings,
    environment_name,
    environment_names,
    find_setting,
    format_value,
    ingestion_switch,
    is_secret,
    key_for_version,
    preferred_environment_name,
    secret_keys,
    settings_for,
    validate_settings,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._settings_model import TYPES, parse_timespan
from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import TopologyError, validate_topology
from ansible_collections.servicecontrol.platform.tests.unit.plugins.module_utils.test_topology import DR_TOPOLOGY
from ansible_collections.servicecontrol.platform.tests.utils.render_settings import render

ROOT = Path(__file__).resolve().parents[4]
SECRET = "pa55-w0rd-xyz"


def problems(kind, settings, version=None):
    return validate_settings(kind, settings, version, check_required=False)


def one_problem(kind, settings, version=None):
    found = problems(kind, settings, version)
    assert len(found) == 1, found
    return found[0]


# -- ranges, with ServiceControl's reason --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["5", "5.00:00:00", "45", 15, "10:00:00:00"])
def test_error_retention_inside_5_to_45_days_is_accepted(value):
    assert problems("error", {"ServiceControl/ErrorRetentionPeriod": value}) == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("4", "ErrorRetentionPeriod settings is invalid, value should be minimum 5 days"),
        ("4.23:59:59", "value should be minimum 5 days"),
        ("46", "ErrorRetentionPeriod settings is invalid, value should be maximum 45 days"),
        ("fortnight", "ErrorRetentionPeriod settings is invalid, please make sure it is a TimeSpan"),
    ],
)
def test_error_retention_outside_the_range_is_refused_with_servicecontrols_reason(value, reason):
    message = one_problem("error", {"ServiceControl/ErrorRetentionPeriod": value})
    assert "ServiceControl/ErrorRetentionPeriod" in message
    assert "refuses it: " in message and reason in message


def test_validate_config_false_switches_the_retention_range_off_but_not_the_type():
    relaxed = {"ServiceControl/ValidateConfig": "false"}
    assert problems("error", dict(relaxed, **{"ServiceControl/ErrorRetentionPeriod": "4"})) == []
    assert problems("error", dict(relaxed, **{"ServiceControl/ErrorRetentionPeriod": "x"}))


def test_audit_retention_of_30_minutes_is_refused_and_one_hour_accepted():
    message = one_problem("audit", {"ServiceControl.Audit/AuditRetentionPeriod": "00:30:00"})
    assert "30 minutes" in message
    assert "AuditRetentionPeriod settings is invalid, value should be minimum 1 hour." in message
    assert problems("audit", {"ServiceControl.Audit/AuditRetentionPeriod": "01:00:00"}) == []
    assert "maximum 365 days" in one_problem("audit", {"ServiceControl.Audit/AuditRetentionPeriod": "366"})


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        ("error", "ServiceControl/Port"),
        ("error", "ServiceControl/DatabaseMaintenancePort"),
        ("audit", "ServiceControl.Audit/Port"),
        ("audit", "ServiceControl.Audit/DatabaseMaintenancePort"),
        ("monitoring", "Monitoring/HttpPort"),
    ],
)
def test_ports_outside_1_to_49151_are_refused(kind, key):
    for port in (0, 49152):
        assert "not between 1 and 49151" in one_problem(kind, {key: port})
    for port in (1, 49151, "33333"):
        assert problems(kind, {key: port}) == []


def test_a_value_servicecontrol_only_ignores_is_reported_as_ignored_not_refused():
    message = one_problem("error", {"ServiceControl/HeartbeatGracePeriod": "soon"})
    assert "would ignore it" in message and "Defaulting HeartbeatGracePeriod to '00:00:40'" in message
    message = one_problem("error", {"ServiceControl/EventRetentionPeriod": "soon"})
    assert "would ignore it" in message
    assert "refuses it" in one_problem("error", {"ServiceControl/EventRetentionPeriod": "00:10:00"})


def test_types_follow_the_dotnet_type_converter():
    assert (
        problems("error", {"ServiceControl/AllowMessageEditing": "TRUE", "ServiceControl/RetryHistoryDepth": " 7 "})
        == []
    )
    assert "must be true or false" in one_problem("error", {"ServiceControl/AllowMessageEditing": "yes"})
    assert "must be a whole number" in one_problem("error", {"ServiceControl/RetryHistoryDepth": "7.5"})
    assert "one of RavenDB, InMemory" in one_problem("audit", {"ServiceControl.Audit/PersistenceType": "Mongo"})
    assert problems("audit", {"ServiceControl.Audit/PersistenceType": "ravendb"}) == []


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15", 15 * 86400), ("15:00", 15 * 3600), ("00:05:00", 300), ("1.02:03:04", 93784), ("1:02:03:04", 93784)],
)
def test_timespans_read_as_dotnet_reads_them(text, seconds):
    assert parse_timespan(text) == seconds


@pytest.mark.parametrize("text", ["24:00", "00:60:00", "1.5", "", "P1D"])
def test_timespans_dotnet_refuses_are_refused(text):
    with pytest.raises(ValueError):
        parse_timespan(text)


def test_empty_ingest_queue_is_refused_with_servicecontrols_reason():
    assert "ServiceBus/ErrorQueue requires a value to start the instance" in one_problem(
        "error", {"ServiceBus/ErrorQueue": ""}
    )
    assert "ServiceBus/AuditQueue value is required" in one_problem("audit", {"ServiceBus/AuditQueue": ""})


# -- keys -----------------------------------------------------------------------------------------------------


def test_unknown_key_suggests_the_nearest_known_key_first():
    message = one_problem("error", {"ServiceControl/ForwardErrorMesages": True})
    assert "'ServiceControl/ForwardErrorMesages'" in message
    assert "Did you mean ServiceControl/ForwardErrorMessages" in message


def test_a_key_of_another_kind_names_the_kinds_that_read_it():
    message = one_problem("monitoring", {"ServiceBus/ErrorQueue": "error"})
    assert "does not belong to a monitoring instance (error instances read it)" in message
    assert "Did you mean Monitoring/ErrorQueue" in message


def test_keys_are_case_insensitive_for_servicecontrol_but_must_be_spelt_as_it_spells_them():
    message = one_problem("error", {"servicecontrol/port": 33333})
    assert "is spelt 'ServiceControl/Port'" in message
    found = problems("error", {"ServiceControl/Port": 1, "SERVICECONTROL/PORT": 2})
    assert any("are one ServiceControl setting" in problem for problem in found)


def test_every_kind_reads_its_own_settings_only():
    for setting in CATALOGUE:
        assert find_setting(setting.kind, setting.key) is setting
    assert find_setting("monitoring", "ServiceControl/Port") is None
    assert {s.kind for s in settings_for("audit")} == {"audit"}


# -- versions ---------------------------------------------------------------------------------------------------


def test_ingest_error_messages_is_refused_before_4_33_with_the_old_way_named():
    message = one_problem("error", {"ServiceControl/IngestErrorMessages": False}, version="4.32.0")
    assert "from ServiceControl 4.33.0 on" in message and "runs 4.32.0" in message
    assert "ServiceBus/ErrorQueue=!disable" in message
    assert problems("error", {"ServiceControl/IngestErrorMessages": False}, version="4.33.0") == []
    assert problems("error", {"ServiceControl/IngestErrorMessages": False}) == []


def test_settings_of_newer_versions_are_refused_for_older_instances():
    settings = {"ServiceControl/Authentication.Enabled": "false", "ServiceControl/InstanceName": "Particular.X"}
    found = problems("error", settings, version="5.4.0")
    assert len(found) == 2
    assert any("6.11.0" in problem for problem in found)
    assert any("5.4.0 reads 'ServiceControl/InternalQueueName' instead" in problem for problem in found)
    assert problems("error", settings, version="6.19.2") == []


def test_retired_keys_are_accepted_only_by_the_versions_that_read_them():
    assert problems("monitoring", {"Monitoring/EndpointName": "Particular.Monitoring"}, version="5.4.0") == []
    message = one_problem("monitoring", {"Monitoring/EndpointName": "Particular.Monitoring"})
    assert "not read from ServiceControl 5.5.0 on" in message and "Monitoring/InstanceName" in message
    assert problems("error", {"LicensingComponent/RabbitMQ/ApiUrl": "http://rabbit:15672"}, version="6.4.0") == []
    assert "5.4.0 up to 6.5.0" in one_problem(
        "error", {"LicensingComponent/RabbitMQ/ApiUrl": "http://rabbit:15672"}, version="5.3.0"
    )


def test_a_version_that_is_not_one_is_refused():
    assert "not a ServiceControl version" in one_problem("error", {}, version="latest")
    assert problems("error", {}, version="Unknown") == []


def test_audit_ingestion_switch_per_version():
    assert ingestion_switch("audit", "4.33.0") == {"key": "ServiceBus/AuditQueue", "off": "!disable", "on": None}
    assert ingestion_switch("audit", "5.0.0")["key"] == "ServiceControl/IngestAuditMessages"
    assert ingestion_switch("audit", "6.4.0")["key"] == "ServiceControl/IngestAuditMessages"
    assert ingestion_switch("audit", "6.5.0")["key"] == "ServiceControl.Audit/IngestAuditMessages"
    assert ingestion_switch("audit")["key"] == "ServiceControl.Audit/IngestAuditMessages"
    assert ingestion_switch("error", "4.32.4")["key"] == "ServiceBus/ErrorQueue"
    assert ingestion_switch("error", "4.33.0") == {
        "key": "ServiceControl/IngestErrorMessages",
        "off": False,
        "on": True,
    }
    assert ingestion_switch("monitoring", "6.19.2") is None


def test_keys_per_version():
    assert key_for_version("error", "ServiceControl/InstanceName", "5.5.0") == "ServiceControl/InstanceName"
    assert key_for_version("error", "ServiceControl/InstanceName", "5.4.1") == "ServiceControl/InternalQueueName"
    assert key_for_version("error", "ServiceControl/InstanceName", "4.26.0") is None
    assert key_for_version("monitoring", "Monitoring/InstanceName", "5.4.0") == "Monitoring/EndpointName"
    assert key_for_version("audit", "ServiceControl.Audit/RavenDB/ConnectionString", "4.30.0") == (
        "ServiceControl.Audit/RavenDB5/ConnectionString"
    )
    assert key_for_version("error", "LicensingComponent/ServiceControlThroughputDataQueue", "5.3.0") is None
    assert key_for_version("error", "ServiceControl/Port", "4.0.0") == "ServiceControl/Port"


# -- environment names ------------------------------------------------------------------------------------------


def test_environment_names_from_5_3_upper_case_first_and_bare_only_for_the_instance_namespaces():
    assert environment_names("ServiceControl.Audit/ForwardAuditMessages") == [
        "SERVICECONTROL_AUDIT_FORWARDAUDITMESSAGES",
        "ServiceControl_Audit_ForwardAuditMessages",
        "FORWARDAUDITMESSAGES",
        "ForwardAuditMessages",
    ]
    assert environment_names("ServiceBus/ErrorLogQueue", "5.3.0") == [
        "SERVICEBUS_ERRORLOGQUEUE",
        "ServiceBus_ErrorLogQueue",
    ]
    assert environment_names("ServiceControl/RavenDB/ConnectionString")[0] == "SERVICECONTROL_RAVENDB_CONNECTIONSTRING"
    assert environment_name("ServiceControl/Authentication.Enabled") == "SERVICECONTROL_AUTHENTICATION_ENABLED"


def test_environment_names_before_5_3():
    key = "ServiceControl.Audit/RavenDB5/ConnectionString"
    assert environment_names(key, "5.2.0") == [
        key,
        "ServiceControl_Audit_RavenDB5/ConnectionString",
        "ServiceControl_Audit_RavenDB5_ConnectionString",
    ]
    # 4.26-4.33: only the Audit instance also replaced "/"; Error and Monitoring read two forms.
    assert len(environment_names(key, "4.30.0", kind="audit")) == 3
    assert len(environment_names("ServiceControl/RavenDB/ConnectionString", "4.30.0", kind="error")) == 2
    assert environment_names("ServiceBus/ErrorQueue", "4.30.0") == ["ServiceBus/ErrorQueue", "ServiceBus_ErrorQueue"]
    assert environment_names("ServiceControl/Port", "4.20.0") == ["ServiceControl/Port", "ServiceControl_Port"]
    assert environment_names("ServiceControl/Port", "4.14.0") == ["ServiceControl/Port"]
    assert preferred_environment_name("ServiceControl/Port", "4.14.0") == "ServiceControl/Port"
    assert preferred_environment_name("ServiceControl.Audit/Port", "4.30.0") == "ServiceControl_Audit_Port"


def test_config_file_only_settings_have_no_environment_name():
    assert environment_names("ServiceControl/Msmq/PerformanceCounterName") == []


# -- secrets ----------------------------------------------------------------------------------------------------


def test_secret_values_never_appear_in_messages():
    found = problems(
        "audit",
        {
            "ServiceControl.Audit/RavenDB/ConnectionString": "http://raven:8080;password=" + SECRET,
            "ServiceControl.Audit/DbPath": "D:\\db",
            "ServiceControl.Audit/RavenDB/ClientCertificatePasword": SECRET,
            "ServiceControl.Audit/Https.Enabled": True,
            "ServiceControl.Audit/Https.CertificatePassword": SECRET,
        },
    )
    assert len(found) == 3 and SECRET not in " ".join(found)
    message = one_problem("error", {"ServiceControl/Database/CommandTimeout": "thirty"})
    assert "'thirty'" in message  # a value that is not secret is shown


def test_connection_strings_passwords_and_license_text_are_secret():
    for key in (
        "ServiceControl/ConnectionString",
        "ServiceControl.Audit/RavenDB/ClientCertificatePassword",
        "Monitoring/Https.CertificatePassword",
        "LicensingComponent/ASB/ClientSecret",
        "ServiceControl/LicenseText",
    ):
        assert is_secret(key), key
    assert not is_secret("ServiceBus/ErrorQueue")
    assert "monitoring/connectionstring" in secret_keys("monitoring")
    assert "servicecontrol/connectionstring" not in secret_keys("monitoring")


# -- combinations ---------------------------------------------------------------------------------------------------


def test_role_based_authorization_needs_authentication():
    message = one_problem("audit", {"ServiceControl.Audit/Authentication.RoleBasedAuthorizationEnabled": True})
    assert "RoleBasedAuthorizationEnabled cannot be true when Authentication.Enabled is false" in message


def test_authentication_needs_an_https_authority_an_audience_and_on_error_servicepulse_settings():
    enabled = {"ServiceControl/Authentication.Enabled": True}
    found = " ".join(problems("error", enabled))
    for needed in ("Authority", "Audience", "ServicePulse.ClientId", "ServicePulse.ApiScopes"):
        assert "Authentication.%s is required" % needed in found
    complete = dict(
        enabled,
        **{
            "ServiceControl/Authentication.Authority": "https://login.example/tenant/v2.0",
            "ServiceControl/Authentication.Audience": "api://servicecontrol",
            "ServiceControl/Authentication.ServicePulse.ClientId": "servicepulse",
            "ServiceControl/Authentication.ServicePulse.ApiScopes": ["api://servicecontrol/access"],
        },
    )
    assert problems("error", complete) == []
    plain = dict(complete, **{"ServiceControl/Authentication.Authority": "http://login.example"})
    assert "must use HTTPS when RequireHttpsMetadata is true" in one_problem("error", plain)
    monitoring = {"Monitoring/Authentication.Enabled": True, "Monitoring/Authentication.Authority": "https://idp"}
    assert "Audience is required" in one_problem("monitoring", monitoring)


def test_https_needs_a_certificate():
    assert "Https.CertificatePath is required when HTTPS is enabled" in one_problem(
        "monitoring", {"Monitoring/Https.Enabled": "true"}
    )


def test_audit_ravendb_server_and_embedded_path_exclude_each_other():
    both = {
        "ServiceControl.Audit/RavenDB/ConnectionString": "http://ravendb:8080",
        "ServiceControl.Audit/DbPath": "D:\\db",
    }
    assert "cannot be specified at the same time" in one_problem("audit", both)


def test_remote_instances_must_be_a_json_list_of_api_uris():
    key = "ServiceControl/RemoteInstances"
    assert problems("error", {key: '[{"api_uri":"http://audit:44444/api"}]'}) == []
    assert problems("error", {key: [{"api_uri": "http://audit:44444/api"}]}) == []
    assert "api_uri" in one_problem("error", {key: '[{"uri":"http://audit:44444/api"}]'})
    assert "must be JSON" in one_problem("error", {key: "http://audit:44444/api"})


def test_ef_core_persisters_need_their_database_and_body_storage():
    found = " ".join(problems("error", {"ServiceControl/PersistenceType": "PostgreSQL"}))
    assert "Database/ConnectionString" in found and "MessageBody/StorageType is required" in found
    s3 = {
        "ServiceControl/PersistenceType": "PostgreSQL",
        "ServiceControl/Database/ConnectionString": "Host=db",
        "ServiceControl/MessageBody/StorageType": "s3",
        "ServiceControl/MessageBody/S3/BucketName": "bodies",
        "ServiceControl/MessageBody/S3/AccessKeyId": "AKIA",
    }
    assert "both MessageBody/S3/AccessKeyId and MessageBody/S3/SecretAccessKey" in one_problem("error", s3)


# -- required settings ---------------------------------------------------------------------------------------------


def test_required_settings_are_named_with_servicecontrols_reason():
    found = validate_settings("error", {})
    assert any("ForwardErrorMessages settings is missing, please make sure it is included." in p for p in found)
    assert any("ServiceControl/ErrorRetentionPeriod is required" in p for p in found)
    assert any("ServiceControl/TransportType is required" in p for p in found)
    audit = validate_settings("audit", {"ServiceControl.Audit/TransportType": "LearningTransport"})
    assert any("ServiceControl.Audit/PersistenceType is required" in p for p in audit)
    assert any("DatabaseMaintenancePort must be specified when using embedded server." in p for p in audit)
    assert (
        validate_settings(
            "monitoring", {"Monitoring/TransportType": "LearningTransport", "Monitoring/HttpPort": "33633"}
        )
        == []
    )


# -- the topology -------------------------------------------------------------------------------------------------


def test_topology_validation_refuses_what_servicecontrol_would_refuse_before_any_change():
    topology = copy.deepcopy(DR_TOPOLOGY)
    topology["instances"][0]["settings"]["ServiceControl/ErrorRetentionPeriod"] = "4"
    topology["instances"][2]["version"] = "4.32.0"
    topology["instances"][2]["settings"]["ServiceControl/IngestErrorMessages"] = False
    topology["instances"][3]["settings"]["ServiceControl.Audit/ForwardAuditMesages"] = True
    with pytest.raises(TopologyError) as raised:
        validate_topology(topology)
    message = str(raised.value)
    assert "instances[0] (Particular.ServiceControl): setting ServiceControl/ErrorRetentionPeriod" in message
    assert "value should be minimum 5 days" in message
    assert "instances[2] (Particular.ServiceControl.Backup): setting 'ServiceControl/IngestErrorMessages'" in message
    assert "Did you mean ServiceControl.Audit/ForwardAuditMessages" in message


def test_topology_leaves_required_settings_to_the_deployment():
    # The DR example gives no ErrorRetentionPeriod: the installer, the image or the instance role supply it.
    assert len(validate_topology(copy.deepcopy(DR_TOPOLOGY))["instances"]) == 4


# -- effective settings and values ----------------------------------------------------------------------------------


def test_effective_settings_completes_only_what_the_topology_reasons_about():
    settings = effective_settings("error", {"ServiceControl/AllowMessageEditing": "True"})
    assert settings["ServiceControl/AllowMessageEditing"] is True
    assert settings["ServiceBus/ErrorQueue"] == "error"
    assert settings["LicensingComponent/ServiceControlThroughputDataQueue"] == "ServiceControl.ThroughputData"
    assert "ServiceControl/Port" not in settings
    assert "ServiceControl/Authentication.ValidateIssuer" not in settings


def test_values_are_written_as_servicecontrol_reads_them():
    assert format_value(True) == "true"
    assert format_value([{"api_uri": "http://a:44444/api"}]) == '[{"api_uri":"http://a:44444/api"}]'
    assert format_value(datetime.timedelta(days=15)) == "15.00:00:00"
    assert format_value(33333) == "33333"


# -- the catalogue itself ------------------------------------------------------------------------------------------


def test_counts_per_kind_are_those_servicecontrol_6_19_2_reads():
    counts = {kind: len(settings_for(kind)) for kind in ("error", "audit", "monitoring")}
    assert counts["error"] >= 100
    assert counts["audit"] >= 65
    assert counts["monitoring"] >= 40


def test_every_entry_has_a_type_a_default_or_required_flag_and_a_source():
    for setting in CATALOGUE:
        assert setting.type in TYPES, setting.key
        assert setting.required or setting.default is not None or setting.default_text, setting.key
        assert setting.source and setting.source.startswith("src/") and setting.source.endswith(".cs"), setting.key
        if setting.choices:
            assert setting.type == "enum", setting.key
        if setting.since:
            assert _settings._version(setting.since) is not None, setting.key


def test_defaults_are_values_servicecontrol_would_accept():
    for setting in CATALOGUE:
        if setting.default is not None and not callable(setting.default):
            assert validate_settings(setting.kind, {setting.key: setting.default}, check_required=False) == [], setting


def test_docs_settings_md_is_rendered_from_the_catalogue():
    current = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert current == render(), (
        "docs/settings.md is out of date: PYTHONPATH=.build/devlink python -m "
        "ansible_collections.servicecontrol.platform.tests.utils.render_settings"
    )
