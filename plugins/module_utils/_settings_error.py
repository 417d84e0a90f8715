# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: not a public API; other collections must not import it.
"""Every setting a ServiceControl 6.19.2 Error (primary) instance reads.

Read at tag 6.19.2 in ``src/ServiceControl/Infrastructure/Settings/Settings.cs``, ``Hosting/HostArguments.cs``,
``Infrastructure/Api/ConfigurationApi.cs``, the shared ``src/ServiceControl.Infrastructure/*Settings.cs``, the
RavenDB and EF Core persisters, the licensing component and the transports (docs/reference/servicecontrol.md
§1.2, §1.5, §1.7). Versions are the first tag whose code reads the key.
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

KIND = "error"
NS = "ServiceControl"
SETTINGS = "src/ServiceControl/Infrastructure/Settings/Settings.cs"
RAVEN = "src/ServiceControl.Persistence.RavenDB/RavenPersistenceConfiguration.cs"
EF = "src/ServiceControl.Persistence.EFCore/Abstractions/EFPersistenceConfigurationBase.cs"
LICENSING = "src/Particular.LicensingComponent/Shared/ServiceControlSettings.cs"
BROKER = "src/Particular.LicensingComponent/BrokerThroughput/BrokerThroughputCollectorHostedService.cs"
_EF = "EF Core persisters (PersistenceType SQLServer or PostgreSQL, undocumented)"
_s = entries_of(KIND, SETTINGS)


_CORE = [
    *identity_settings(
        KIND,
        NS,
        SETTINGS,
        instance_name="Particular.ServiceControl",
        persisters=("RavenDB", "PostgreSQL", "SQLServer"),
        persistence_since="5.0.0",
        persistence_note="The installer writes RavenDB and the image sets it; the EF Core persisters are undocumented.",
    ),
    *queue_settings(
        KIND,
        SETTINGS,
        queue="ServiceBus/ErrorQueue",
        default="error",
        empty_reason="ServiceBus/ErrorQueue requires a value to start the instance",
        forward_key="ForwardErrorMessages",
        note="MSMQ queue@machine addresses are allowed.",
    ),
    _s(
        NS + "/IngestErrorMessages",
        "bool",
        True,
        since="4.33.0",
        effective=True,
        note="false: the error queue is neither ingested nor created by setup; retries keep working.",
    ),
    _s(
        NS + "/ForwardErrorMessages",
        "bool",
        required=True,
        effective=True,
        reasons={"missing": "ForwardErrorMessages settings is missing, please make sure it is included."},
        note="Key since 1.11.2; the installer writes it and the image sets false.",
    ),
    _s(
        NS + "/ErrorRetentionPeriod",
        "timespan",
        required=True,
        **retention("ErrorRetentionPeriod", 5 * DAY, 45 * DAY),
        note="The installer's slider defaults to 15 days; the image sets 15.",
    ),
    _s(
        NS + "/AuditRetentionPeriod",
        "timespan",
        **retention("AuditRetentionPeriod", HOUR, 365 * DAY, "."),
        note="Legacy audit data kept in the Error database.",
        default_text=NONE,
    ),
    _s(
        NS + "/EventRetentionPeriod",
        "timespan",
        "14.00:00:00",
        minimum=HOUR,
        maximum=200 * DAY,
        gated=True,
        replaced=("type",),
        reasons={
            "type": "a value that is not a TimeSpan is silently replaced by 14 days",
            "min": "EventRetentionPeriod settings is invalid, value should be minimum 1 hour",
            "max": "EventRetentionPeriod settings is invalid, value should be maximum 200 days",
        },
        note="Read and range-checked by Settings; the persister expires by EventsRetentionPeriod "
        "(docs/reference/servicecontrol.md §1.8).",
    ),
    _s(
        NS + "/EventsRetentionPeriod",
        "timespan",
        "14.00:00:00",
        since="5.0.0",
        applies="RavenDB and EF Core persisters",
        source=RAVEN,
        note="What the persister expires events by; set it together with EventRetentionPeriod.",
    ),
    _s(
        NS + "/HostName",
        "str",
        "localhost",
        note="Read as Hostname; `*` listens on every interface. Not read in containers (always `*`).",
    ),
    _s(
        NS + "/Port",
        "int",
        33333,
        minimum=PORT_RANGE[0],
        maximum=PORT_RANGE[1],
        reasons=PORT_REASONS,
        note="Not read in containers (always 33333). The range is the installer's.",
    ),
    _s(NS + "/VirtualDirectory", "str", "", note="Becomes part of the root URL."),
    _s(NS + "/RetryHistoryDepth", "int", 10),
    _s(NS + "/AllowMessageEditing", "bool", False, since="4.1.0"),
    _s(NS + "/EnableIntegratedServicePulse", "bool", False, since="6.13.0"),
    _s(NS + "/NotificationsFilter", "str", since="4.17.0", default_text=NONE),
    _s(
        NS + "/RemoteInstances",
        "json",
        default_text="`[]`",
        note='JSON array such as [{"api_uri":"http://host:44444/api"}]; /api is removed from each URI.',
    ),
    _s(
        NS + "/TimeToRestartErrorIngestionAfterFailure",
        "timespan",
        "00:01:00",
        since="4.4.1",
        minimum=5,
        maximum=HOUR,
        gated=True,
        reasons={
            "type": "TimeToRestartErrorIngestionAfterFailure setting is invalid, please make sure it is a TimeSpan.",
            "min": "TimeToRestartErrorIngestionAfterFailure setting is invalid, value should be minimum 5 seconds.",
            "max": "TimeToRestartErrorIngestionAfterFailure setting is invalid, value should be maximum 1 hour.",
        },
    ),
    _s(
        NS + "/DisableExternalIntegrationsPublishing",
        "bool",
        False,
        since="4.17.0",
        note="true on DR backups (docs/reference/servicecontrol.md §4.3).",
    ),
    _s(NS + "/TrackInstancesInitialValue", "bool", True, since="5.9.0"),
    _s(NS + "/ExternalIntegrationsDispatchingBatchSize", "int", 100),
    _s(NS + "/PrintMetrics", "bool", False, since="4.17.0"),
    _s(
        NS + "/HeartbeatGracePeriod",
        "timespan",
        "00:00:40",
        replaced=True,
        reasons={"type": "HeartbeatGracePeriod settings invalid. Defaulting HeartbeatGracePeriod to '00:00:40'"},
    ),
    _s(
        NS + "/MaintenanceMode",
        "bool",
        False,
        source="src/ServiceControl/Hosting/HostArguments.cs",
        note="true: only RavenDB runs, no API and no ingestion (like the -m switch).",
    ),
    _s(
        NS + "/Name",
        "str",
        "ServiceControl",
        source="src/ServiceControl/Infrastructure/Api/ConfigurationApi.cs",
        note="Shown in the root API document.",
    ),
    _s(
        NS + "/Description",
        "str",
        "The management backend for the Particular Service Platform",
        source="src/ServiceControl/Infrastructure/Api/ConfigurationApi.cs",
    ),
]

_RAVEN = [
    *ravendb_settings(
        KIND, NS, RAVEN, database="primary", maintenance_port=33334, overrides={"RavenDBLogLevel": {"default": "Warn"}}
    ),
    _s(NS + "/EnableFullTextSearchOnBodies", "bool", True, since="4.17.0", applies="RavenDB and EF Core persisters"),
]

_LICENSING = [
    _s(
        "LicensingComponent/ServiceControlThroughputDataQueue",
        "str",
        "ServiceControl.ThroughputData",
        since="5.4.0",
        effective=True,
        source=LICENSING,
        note="Must equal the Monitoring instance's Monitoring/ServiceControlThroughputDataQueue.",
    ),
    _s(
        "LicensingComponent/RavenDB/ThroughputDatabaseName",
        "str",
        "throughput",
        since="5.4.0",
        applies="RavenDB persister",
        source=RAVEN,
    ),
]

# Broker throughput for usage reports: each transport's IBrokerThroughputQuery names its keys, read from the
# LicensingComponent namespace (src/ServiceControl.Transports.*/…Query.cs at 6.19.2).
_BROKER = [
    ("ASB/ServiceBusName", "Azure Service Bus", "5.4.0", False),
    ("ASB/ClientId", "Azure Service Bus", "5.4.0", False),
    ("ASB/ClientSecret", "Azure Service Bus", "5.4.0", True),
    ("ASB/TenantId", "Azure Service Bus", "5.4.0", False),
    ("ASB/SubscriptionId", "Azure Service Bus", "5.4.0", False),
    ("ASB/ManagementUrl", "Azure Service Bus", "5.4.0", False),
    ("AmazonSQS/AccessKey", "Amazon SQS", "5.4.0", False),
    ("AmazonSQS/SecretKey", "Amazon SQS", "5.4.0", True),
    ("AmazonSQS/Profile", "Amazon SQS", "5.4.0", False),
    ("AmazonSQS/Region", "Amazon SQS", "5.4.0", False),
    ("AmazonSQS/Prefix", "Amazon SQS", "5.4.0", False),
    ("SqlServer/ConnectionString", "SQL Server", "5.4.0", True),
    ("SqlServer/AdditionalCatalogs", "SQL Server", "5.4.0", False),
    ("PostgreSQL/ConnectionString", "PostgreSQL", "5.10.0", True),
]
_BROKER_SETTINGS = [
    _s(
        "LicensingComponent/" + name,
        "str",
        since=since,
        secret=secret,
        applies="%s transport (usage reports)" % transport,
        source=BROKER,
        default_text=NONE,
    )
    for name, transport, since, secret in _BROKER
]

_TRANSPORT = [
    _s(
        "ServiceControl.Transport.ASBS/Topology",
        "json",
        since="6.4.0",
        applies="Azure Service Bus transport",
        source="src/ServiceControl.Transports.ASBS/ASBSTransportCustomization.cs",
        note="Topology options as JSON; without it topic-per-event (unless the connection string names a topic).",
        default_text=NONE,
    ),
] + [
    _s(
        NS + "/Msmq/PerformanceCounter" + name,
        "str",
        default,
        config_only=True,
        applies="MSMQ transport",
        source="src/ServiceControl.Transports.Msmq/DeadLetterQueueCheck.cs",
        note="The dead-letter queue check's counter; read from the .exe.config only.",
    )
    for name, default in (
        ("CategoryName", "MSMQ Queue"),
        ("Name", "Messages in Queue"),
        ("InstanceName", "Computer Queues"),
    )
]


def _ef(name, type_, default=None, **fields):
    fields.setdefault("since", "6.19.0")
    return _s(NS + "/" + name, type_, default, applies=_EF, source=EF, **fields)


_PERCENT = (
    "Setting MessageBody/FileSystem/DataSpaceRemainingThreshold value is not valid. The value is a percentage "
    "between 0 and 100."
)
_EF_SETTINGS = [
    _ef("Database/ConnectionString", "str", secret=True, note="Required with these persisters.", default_text=NONE),
    _ef("Database/CommandTimeout", "int", 30),
    _ef(
        "MessageBody/StorageType",
        "enum",
        choices=("FileSystem", "AzureBlob", "S3"),
        reasons={
            "choice": "Setting MessageBody/StorageType value is not valid. Valid values: FileSystem, AzureBlob, S3."
        },
        note="Required with these persisters.",
        default_text=NONE,
    ),
    _ef("MessageBody/FileSystem/StoragePath", "str", note="Required with FileSystem.", default_text=NONE),
    _ef(
        "MessageBody/FileSystem/DataSpaceRemainingThreshold",
        "int",
        15,
        minimum=0,
        maximum=100,
        reasons={
            "min": _PERCENT,
            "max": _PERCENT,
        },
    ),
    _ef(
        "MessageBody/Azure/ConnectionString",
        "str",
        secret=True,
        note="Exactly one of this and ServiceUri.",
        default_text=NONE,
    ),
    _ef("MessageBody/Azure/ServiceUri", "uri", note="Managed identity.", default_text=NONE),
    _ef("MessageBody/Azure/ManagedIdentityClientId", "str", default_text=NONE),
    _ef("MessageBody/Azure/AuthorityHost", "uri", default_text=NONE),
    _ef("MessageBody/Azure/ContainerName", "str", "error-bodies"),
    _ef("MessageBody/S3/BucketName", "str", note="Required with S3.", default_text=NONE),
    _ef("MessageBody/S3/KeyPrefix", "str", "error-bodies/"),
    _ef("MessageBody/S3/Region", "str", default_text=NONE),
    _ef("MessageBody/S3/ServiceUrl", "str", default_text=NONE),
    _ef(
        "MessageBody/S3/AccessKeyId",
        "str",
        note="Both or neither of AccessKeyId and SecretAccessKey.",
        default_text=NONE,
    ),
    _ef("MessageBody/S3/SecretAccessKey", "str", secret=True, default_text=NONE),
    _ef("MessageBody/MinCompressionSize", "int", 4096),
    _ef(
        "MaxBodySizeToStore",
        "int",
        102400,
        minimum=1,
        replaced=True,
        reasons={"min": "MaxBodySizeToStore setting is invalid, 1 is the minimum value. Defaulting to 102400"},
    ),
    _ef("SubscriptionCacheDuration", "timespan", "00:01:00", note="00:00:00 switches the cache off."),
]

ERROR_SETTINGS = tuple(
    _CORE
    + instance_settings(KIND, NS, SETTINGS)
    + logging_settings(KIND, NS)
    + web_settings(KIND, NS, servicepulse=True)
    + _RAVEN
    + _LICENSING
    + _BROKER_SETTINGS
    + _TRANSPORT
    + _EF_SETTINGS
)
