# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: not a public API; other collections must not import it.
"""What differs between ServiceControl versions: keys older versions read and 6.19.2 does not, keys whose name
changed, and the variables read from the environment only (docs/reference/servicecontrol.md §1.1, §1.7).
Sources are ServiceControl's repository at the tag named per entry; the catalogue itself is 6.19.2's.
"""

from __future__ import annotations

from collections import namedtuple

#: Instance kinds and the appSettings namespace each one reads its own settings from.
KIND_NAMESPACES = {
    "error": "ServiceControl",
    "audit": "ServiceControl.Audit",
    "monitoring": "Monitoring",
}

#: A key an older version read and 6.19.2 does not: since (None: before 4.0.0), until (the first version
#: without it), what replaces it, and where that was read.
Retired = namedtuple("Retired", "key kind since until secret instead source")
_INSTALLER_LIST = "SC@6.19.2:src/ServiceControlInstaller.Engine/Configuration/ServiceControl/SettingsList.cs"
RETIRED = (
    *(
        Retired(key, "error", None, "4.0.0", False, "the Audit instance", _INSTALLER_LIST)
        for key in ("ServiceControl/ForwardAuditMessages", "ServiceBus/AuditQueue", "ServiceBus/AuditLogQueue")
    ),
    Retired(
        "Monitoring/EndpointName",
        "monitoring",
        None,
        "5.5.0",
        False,
        "Monitoring/InstanceName",
        "SC@5.4.0:src/ServiceControl.Monitoring/Settings.cs",
    ),
    *(
        Retired(
            "ServiceControl.Audit/RavenDB5/" + name,
            "audit",
            "4.26.0",
            "5.0.0",
            name == "ConnectionString",
            "ServiceControl.Audit/RavenDB/" + name,
            "SC@4.33.0:src/ServiceControl.Audit.Persistence.RavenDb5/RavenDbPersistenceConfiguration.cs",
        )
        for name in ("ConnectionString", "DatabaseName")
    ),
    *(
        Retired(
            "LicensingComponent/RabbitMQ/" + name,
            "error",
            "5.4.0",
            "6.5.0",
            name == "Password",
            "the transport connection string (RabbitMQ management API)",
            "SC@6.4.0:src/ServiceControl.Transports.RabbitMQ/RabbitMQQuery.cs",
        )
        for name in ("ApiUrl", "UserName", "Password")
    ),
    *(
        Retired(
            namespace + "/LicenseText",
            kind,
            "4.14.0",
            "5.3.0",
            True,
            "the PARTICULARSOFTWARE_LICENSE environment variable or a license file",
            "SC@5.2.4: each kind's Settings.cs",
        )
        for kind, namespace in KIND_NAMESPACES.items()
    ),
)

#: Variables ServiceControl reads from the environment only (never from the .config file or as a setting).
EnvironmentVariable = namedtuple("EnvironmentVariable", "name kinds default secret note source")
_SERVICEPULSE = "SP@2.10.2:src/Particular.ServicePulse.Core/ServicePulseSettings.cs (the package SC@6.19.2 ships)"
ENVIRONMENT_ONLY = (
    EnvironmentVariable(
        "DOTNET_RUNNING_IN_CONTAINER",
        ("error", "audit", "monitoring"),
        "false",
        False,
        "true (any case): the .exe.config is not read, host and port are fixed.",
        "SC@6.19.2:src/ServiceControl.Configuration/AppEnvironment.cs",
    ),
    EnvironmentVariable(
        "PARTICULARSOFTWARE_LICENSE",
        ("error", "audit", "monitoring"),
        None,
        True,
        "The license XML itself; the alternative is a license file.",
        "docs/reference/servicecontrol.md §1.2",
    ),
    EnvironmentVariable(
        "MONITORING_URL",
        ("error",),
        "http://localhost:33633/",
        False,
        "Integrated ServicePulse: the Monitoring API; ! switches monitoring off.",
        _SERVICEPULSE,
    ),
    EnvironmentVariable(
        "MONITORING_URLS",
        ("error",),
        None,
        False,
        "Integrated ServicePulse: legacy list, first entry used.",
        _SERVICEPULSE,
    ),
    EnvironmentVariable(
        "DEFAULT_ROUTE", ("error",), "/dashboard", False, "Integrated ServicePulse: the start page.", _SERVICEPULSE
    ),
    EnvironmentVariable(
        "SHOW_PENDING_RETRY", ("error",), "false", False, "Integrated ServicePulse: pending-retry view.", _SERVICEPULSE
    ),
)

#: The namespaces whose keys may also be given bare in the environment (5.3.0+, §1.1).
APP_NAMESPACES = ("ServiceControl", "ServiceControl.Audit", "Monitoring")

#: Keys whose name changed between versions: per (kind, key), (first version, key that version reads, hint when
#: None) newest first; below the last entry the setting does not exist (docs/reference/servicecontrol.md §1.7).
VERSION_KEYS = {
    ("error", "ServiceControl/InstanceName"): (
        ("5.5.0", "ServiceControl/InstanceName", None),
        ("4.27.0", "ServiceControl/InternalQueueName", None),
        ("4.0.0", None, "the instance name is the Windows service name"),
    ),
    ("audit", "ServiceControl.Audit/InstanceName"): (
        ("5.5.0", "ServiceControl.Audit/InstanceName", None),
        ("4.27.0", "ServiceControl.Audit/InternalQueueName", None),
        ("4.0.0", None, "the instance name is the Windows service name"),
    ),
    ("monitoring", "Monitoring/InstanceName"): (
        ("5.5.0", "Monitoring/InstanceName", None),
        ("4.0.0", "Monitoring/EndpointName", None),
    ),
    ("error", "ServiceControl/IngestErrorMessages"): (
        ("4.33.0", "ServiceControl/IngestErrorMessages", None),
        ("4.0.0", None, "ServiceBus/ErrorQueue=!disable switches error ingestion off"),
    ),
    ("audit", "ServiceControl.Audit/IngestAuditMessages"): (
        ("6.5.0", "ServiceControl.Audit/IngestAuditMessages", None),
        ("5.0.0", "ServiceControl/IngestAuditMessages", None),
        ("4.0.0", None, "ServiceBus/AuditQueue=!disable switches audit ingestion off"),
    ),
    ("audit", "ServiceControl.Audit/RavenDB/ConnectionString"): (
        ("5.0.0", "ServiceControl.Audit/RavenDB/ConnectionString", None),
        ("4.26.0", "ServiceControl.Audit/RavenDB5/ConnectionString", None),
    ),
    ("audit", "ServiceControl.Audit/RavenDB/DatabaseName"): (
        ("5.0.0", "ServiceControl.Audit/RavenDB/DatabaseName", None),
        ("4.26.0", "ServiceControl.Audit/RavenDB5/DatabaseName", None),
    ),
}
