# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: not a public API; other collections must not import it.
"""Every setting a ServiceControl 6.19.2 Audit instance reads.

Read at tag 6.19.2 in ``src/ServiceControl.Audit/Infrastructure/Settings/Settings.cs``,
``Infrastructure/Hosting/HostArguments.cs``, ``Infrastructure/WebApi/RootController.cs``, the shared
``src/ServiceControl.Infrastructure/*Settings.cs`` and the RavenDB audit persister, whose keys
``src/ServiceControl.Audit/Persistence/PersistenceConfigurationFactory.cs`` reads from the
``ServiceControl.Audit`` namespace (docs/reference/servicecontrol.md §1.3, §1.5, §1.7).
"""

from __future__ import annotations

from ansible_collections.servicecontrol.platform.plugins.module_utils._settings_model import (
    DAY,
    HOUR,
    NONE,
    PORT_RANGE,
    PORT_REASONS,
    entries_of,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._settings_shared import (
    identity_settings,
    instance_settings,
    logging_settings,
    queue_settings,
    ravendb_settings,
    retention,
    web_settings,
)

KIND = "audit"
NS = "ServiceControl.Audit"
SETTINGS = "src/ServiceControl.Audit/Infrastructure/Settings/Settings.cs"
RAVEN = "src/ServiceControl.Audit.Persistence.RavenDB/RavenPersistenceConfiguration.cs"
_s = entries_of(KIND, SETTINGS)


def _integer(name):
    # The audit persister parses its own values with int.TryParse and refuses what is not a number.
    return {"type": "%s must be an integer." % name}


_CORE = [
    *identity_settings(
        KIND,
        NS,
        SETTINGS,
        instance_name="Particular.ServiceControl.Audit",
        persisters=("RavenDB", "InMemory"),
        persistence_since="4.26.0",
        persistence_note="The installer writes RavenDB and the image sets it.",
    ),
    *queue_settings(
        KIND,
        SETTINGS,
        queue="ServiceBus/AuditQueue",
        default="audit",
        empty_reason="ServiceBus/AuditQueue value is required to start the instance",
        forward_key="ForwardAuditMessages",
        note="4.x: !disable switches audit ingestion off (gone in 5.0).",
    ),
    _s(
        NS + "/IngestAuditMessages",
        "bool",
        True,
        since="6.5.0",
        note="Consulted first; without it ServiceControl/IngestAuditMessages.",
    ),
    _s(
        "ServiceControl/IngestAuditMessages",
        "bool",
        True,
        since="5.0.0",
        alias_of=NS + "/IngestAuditMessages",
        note="The 5.0-6.4 key, still read when the namespaced one is absent.",
    ),
    _s(NS + "/ForwardAuditMessages", "bool", False, effective=True, note="Optional: missing means false."),
    _s(
        NS + "/AuditRetentionPeriod",
        "timespan",
        "30.00:00:00",
        **retention("AuditRetentionPeriod", HOUR, 365 * DAY, "."),
        note="The docs call it required; the code defaults to 30 days, SCMU and the image use 7 "
        "(docs/reference/servicecontrol.md §1.8).",
    ),
    _s(NS + "/HostName", "str", "localhost", note="Read as Hostname. Not read in containers (always `*`)."),
    _s(
        NS + "/Port",
        "int",
        44444,
        minimum=PORT_RANGE[0],
        maximum=PORT_RANGE[1],
        reasons=PORT_REASONS,
        note="Not read in containers (always 44444). The range is the installer's.",
    ),
    _s(
        NS + "/ServiceControlQueueAddress",
        "str",
        effective=True,
        note="The Error instance's InstanceName; without it new endpoints and custom checks are not reported.",
        default_text=NONE,
    ),
    _s(
        NS + "/TimeToRestartAuditIngestionAfterFailure",
        "timespan",
        "00:01:00",
        since="4.6.0",
        minimum=5,
        maximum=HOUR,
        gated=True,
        reasons={
            "type": "TimeToRestartAuditIngestionAfterFailure setting is invalid, please make sure it is a TimeSpan.",
            "min": "TimeToRestartAuditIngestionAfterFailure setting is invalid, value should be minimum 5 seconds.",
            "max": "TimeToRestartAuditIngestionAfterFailure setting is invalid, value should be maximum 1 hour.",
        },
    ),
    _s(NS + "/EnableFullTextSearchOnBodies", "bool", True, since="4.17.0"),
    _s(NS + "/PrintMetrics", "bool", False, since="4.17.0"),
    _s(NS + "/OtlpEndpointUrl", "str", since="6.4.0", note="OpenTelemetry metrics endpoint.", default_text=NONE),
    _s(NS + "/VirtualDirectory", "str", "", note="Becomes part of the root URL."),
    _s(
        NS + "/MaxBodySizeToStore",
        "int",
        102400,
        minimum=1,
        replaced=True,
        reasons={"min": "MaxBodySizeToStore settings is invalid, 1 is the minimum value. Defaulting to 102400"},
        note="Bytes; larger bodies are not stored.",
    ),
    _s(
        NS + "/MaintenanceMode",
        "bool",
        False,
        source="src/ServiceControl.Audit/Infrastructure/Hosting/HostArguments.cs",
        note="true: only RavenDB runs, no API and no ingestion.",
    ),
    _s(
        NS + "/Name",
        "str",
        "ServiceControl.Audit",
        source="src/ServiceControl.Audit/Infrastructure/WebApi/RootController.cs",
        note="Shown in the root API document.",
    ),
    _s(
        NS + "/Description",
        "str",
        "The audit backend for the Particular Service Platform",
        source="src/ServiceControl.Audit/Infrastructure/WebApi/RootController.cs",
    ),
]

_RAVEN = [
    *ravendb_settings(
        KIND,
        NS,
        RAVEN,
        database="audit",
        maintenance_port=None,
        overrides={
            "DbPath": {"note": "Embedded RavenDB only; refused together with RavenDB/ConnectionString."},
            "DatabaseMaintenancePort": {
                "reasons": dict(
                    _integer("DatabaseMaintenancePort"),
                    missing="DatabaseMaintenancePort must be specified when using embedded server.",
                ),
                "default_text": "none: required with embedded RavenDB (the installer writes 44445)",
            },
            "ExpirationProcessTimerInSeconds": {
                "minimum": 0,
                "maximum": 3 * HOUR,
                "replaced": True,
                "reasons": {
                    "min": "ExpirationProcessTimerInSeconds cannot be negative. Defaulting to 600",
                    "max": "ExpirationProcessTimerInSeconds cannot be larger than 10800. Defaulting to 600",
                },
            },
            "DataSpaceRemainingThreshold": {"reasons": _integer("DataSpaceRemainingThreshold")},
            "MinimumStorageLeftRequiredForIngestion": {"reasons": _integer("MinimumStorageLeftRequiredForIngestion")},
            "RavenDBLogLevel": {"default_text": "Operations (the logs mode)"},
        },
    ),
    _s(
        NS + "/BulkInsertCommitTimeoutInSeconds",
        "int",
        60,
        since="5.1.0",
        minimum=0,
        maximum=HOUR,
        replaced=True,
        reasons={
            "min": "BulkInsertCommitTimeout cannot be negative. Defaulting to 60",
            "max": "BulkInsertCommitTimeout cannot be larger than 3600. Defaulting to 60",
        },
        applies="RavenDB persister",
        source=RAVEN,
    ),
]

AUDIT_SETTINGS = tuple(
    _CORE + instance_settings(KIND, NS, SETTINGS) + logging_settings(KIND, NS) + web_settings(KIND, NS) + _RAVEN
)
