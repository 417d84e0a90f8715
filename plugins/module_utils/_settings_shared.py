# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: not a public API; other collections must not import it.
"""The setting groups more than one instance kind reads: logging, authentication, HTTPS, CORS, forwarded headers,
the RavenDB persister keys, and the keys each kind's own Settings.cs reads the same way
(docs/reference/servicecontrol.md §1.2-§1.5). Sources are ServiceControl 6.19.2 files, named per group.
"""

from __future__ import annotations

from ansible_collections.servicecontrol.platform.plugins.module_utils._settings_model import (
    MAINTENANCE_PORT_REASONS,
    NONE,
    PORT_RANGE,
    entry,
    human_seconds,
    log_queue_of,
)

#: NServiceBus refuses a concurrency of zero or less
#: (NSB@10.2.7:src/NServiceBus.Core/Transports/PushRuntimeSettings.cs).
CONCURRENCY_REASONS = {"min": "NServiceBus refuses a maximum concurrency of zero or less"}
#: .NET LogLevel names (Enum.TryParse, any case) and the NLog aliases LoggingSettings.cs maps.
LOG_LEVELS = ("Trace", "Debug", "Information", "Warning", "Error", "Critical", "None", "info", "warn", "fatal", "off")
#: RavenDbLogLevelToLogsModeMapper.cs: 6.x names and the 4.x ones kept for compatibility.
RAVENDB_LOG_LEVELS = ("None", "Information", "Operations", "off", "trace", "debug", "info", "error", "warn", "fatal")


# -- groups every kind shares -------------------------------------------------------------------------------

_LOGGING = "src/ServiceControl.Infrastructure/LoggingSettings.cs"
_OIDC = "src/ServiceControl.Infrastructure/OpenIdConnectSettings.cs"
_HTTPS = "src/ServiceControl.Infrastructure/HttpsSettings.cs"
_CORS = "src/ServiceControl.Infrastructure/CorsSettings.cs"
_FORWARDED = "src/ServiceControl.Infrastructure/ForwardedHeadersSettings.cs"


def logging_settings(kind, namespace):
    """LoggingSettings.cs, read by every kind (docs/reference/servicecontrol.md §1.2)."""
    return [
        entry(
            kind,
            namespace + "/LogLevel",
            "enum",
            "Information",
            choices=LOG_LEVELS,
            replaced=True,
            reasons={"choice": "an unknown level is logged and Information used"},
            source=_LOGGING,
        ),
        entry(
            kind,
            namespace + "/LogPath",
            "str",
            default_text="`.logs` next to the executable (the installer writes it)",
            source=_LOGGING,
            note="Containers log to standard output.",
        ),
        entry(
            kind,
            namespace + "/LoggingProviders",
            "list",
            "NLog",
            since="6.7.0",
            source=_LOGGING,
            note="Comma-separated: NLog, Seq, Otlp; unknown names are ignored.",
        ),
        entry(
            kind,
            namespace + "/SeqAddress",
            "str",
            since="6.7.0",
            source=_LOGGING,
            note="Used with Seq.",
            default_text=NONE,
        ),
    ]


def web_settings(kind, namespace, servicepulse=False):
    """Authentication (OIDC), forwarded headers, HTTPS and CORS: the 6.11 API settings of every kind.

    ``servicepulse``: the Error instance also reads the ServicePulse login settings.
    """
    auth = namespace + "/Authentication."
    https = namespace + "/Https."
    items = [
        entry(kind, auth + "Enabled", "bool", False, since="6.11.0", source=_OIDC),
        entry(
            kind,
            auth + "Authority",
            "uri",
            since="6.11.0",
            source=_OIDC,
            note="Required when enabled.",
            default_text=NONE,
        ),
        entry(
            kind,
            auth + "Audience",
            "str",
            since="6.11.0",
            source=_OIDC,
            note="Required when enabled.",
            default_text=NONE,
        ),
    ]
    for name in ("ValidateIssuer", "ValidateAudience", "ValidateLifetime", "ValidateIssuerSigningKey"):
        items.append(entry(kind, auth + name, "bool", True, since="6.11.0", source=_OIDC))
    items += [
        entry(kind, auth + "RequireHttpsMetadata", "bool", True, since="6.11.0", source=_OIDC),
        entry(kind, auth + "RolesClaim", "str", "roles", since="6.18.0", source=_OIDC),
        entry(kind, auth + "RoleBasedAuthorizationEnabled", "bool", False, since="6.18.0", source=_OIDC),
        entry(kind, auth + "SubjectIdClaim", "str", "sub", since="6.18.0", source=_OIDC),
        entry(kind, auth + "SubjectNameClaim", "str", "preferred_username", since="6.18.0", source=_OIDC),
    ]
    if servicepulse:
        items += [
            entry(kind, auth + "ServicePulse.ClientId", "str", since="6.11.0", source=_OIDC, default_text=NONE),
            entry(
                kind,
                auth + "ServicePulse.ApiScopes",
                "json",
                since="6.11.0",
                source=_OIDC,
                note='JSON array of scopes, e.g. ["api://my-api/access_as_user"].',
                default_text=NONE,
            ),
            entry(kind, auth + "ServicePulse.Authority", "uri", since="6.11.0", source=_OIDC, default_text=NONE),
            entry(kind, auth + "ServicePulse.OfflineAccessScopeEnabled", "bool", True, since="6.18.3", source=_OIDC),
        ]
    forwarded = namespace + "/ForwardedHeaders."
    items += [
        entry(kind, forwarded + "Enabled", "bool", True, since="6.11.0", source=_FORWARDED),
        entry(kind, forwarded + "TrustAllProxies", "bool", True, since="6.11.0", source=_FORWARDED),
        entry(
            kind,
            forwarded + "KnownProxies",
            "list",
            since="6.11.0",
            source=_FORWARDED,
            note="IP addresses; any given turns TrustAllProxies off; invalid ones are logged and skipped.",
            default_text=NONE,
        ),
        entry(
            kind,
            forwarded + "KnownNetworks",
            "list",
            since="6.11.0",
            source=_FORWARDED,
            note="CIDR networks such as 10.0.0.0/8; entries without '/' are logged and skipped.",
            default_text=NONE,
        ),
        entry(kind, https + "Enabled", "bool", False, since="6.11.0", source=_HTTPS),
        entry(
            kind,
            https + "CertificatePath",
            "str",
            since="6.11.0",
            source=_HTTPS,
            note="Required when enabled.",
            default_text=NONE,
        ),
        entry(
            kind, https + "CertificatePassword", "str", since="6.11.0", secret=True, source=_HTTPS, default_text=NONE
        ),
        entry(kind, https + "RedirectHttpToHttps", "bool", False, since="6.11.0", source=_HTTPS),
        entry(
            kind,
            https + "Port",
            "int",
            since="6.11.0",
            source=_HTTPS,
            note="The port HTTPS redirects go to.",
            default_text=NONE,
        ),
        entry(kind, https + "EnableHsts", "bool", False, since="6.11.0", source=_HTTPS),
        entry(kind, https + "HstsMaxAgeSeconds", "int", 31536000, since="6.11.0", source=_HTTPS),
        entry(kind, https + "HstsIncludeSubDomains", "bool", False, since="6.11.0", source=_HTTPS),
        entry(kind, namespace + "/Cors.AllowAnyOrigin", "bool", True, since="6.11.0", source=_CORS),
        entry(
            kind,
            namespace + "/Cors.AllowedOrigins",
            "list",
            since="6.11.0",
            source=_CORS,
            note="Absolute origins; any given turns AllowAnyOrigin off; invalid ones are logged and skipped.",
            default_text=NONE,
        ),
    ]
    return items


def overridden(items, namespace, overrides):
    """``items`` with the fields in ``overrides`` ({name without namespace: {field: value}}) replaced;
    ``reasons`` are merged into the item's own.
    """
    result = []
    for item in items:
        change = dict((overrides or {}).get(item.key[len(namespace) + 1 :]) or {})
        if "reasons" in change:
            change["reasons"] = dict(item.reasons or {}, **change["reasons"])
        result.append(item._replace(**change) if change else item)
    return result


def ravendb_settings(kind, namespace, source, *, database, maintenance_port, overrides=None):
    """The RavenDB persister keys the Error and Audit persisters both read (docs/reference/servicecontrol.md
    §1.2, §1.3). ``maintenance_port`` is the Error persister's default; the Audit persister has none.
    ``overrides``: per key name, the fields in which one persister differs.
    """
    applies = "RavenDB persister"
    threshold = "%s is invalid, %s value is %d."
    items = [
        entry(
            kind,
            namespace + "/RavenDB/ConnectionString",
            "str",
            since="5.0.0",
            secret=True,
            applies=applies,
            source=source,
            note="An external RavenDB server; without it the instance runs RavenDB embedded. Required in containers.",
            default_text=NONE,
        ),
        entry(
            kind, namespace + "/RavenDB/DatabaseName", "str", database, since="5.0.0", applies=applies, source=source
        ),
        entry(
            kind,
            namespace + "/RavenDB/ClientCertificatePath",
            "str",
            since="6.3.0",
            applies=applies,
            source=source,
            default_text=NONE,
        ),
        *(
            entry(
                kind,
                namespace + "/RavenDB/ClientCertificate" + part,
                "str",
                since="6.3.0",
                secret=True,
                applies=applies,
                source=source,
                default_text=NONE,
            )
            for part in ("Base64", "Password")
        ),
        entry(
            kind,
            namespace + "/DbPath",
            "str",
            default_text="`.db` next to the executable (the installer writes it)",
            applies=applies,
            source=source,
            note="Embedded RavenDB only; not used in containers.",
        ),
        entry(
            kind,
            namespace + "/DatabaseMaintenancePort",
            "int",
            maintenance_port,
            minimum=PORT_RANGE[0],
            maximum=PORT_RANGE[1],
            reasons=MAINTENANCE_PORT_REASONS,
            applies=applies,
            source=source,
            note="Embedded RavenDB only (Windows).",
        ),
        entry(kind, namespace + "/ExpirationProcessTimerInSeconds", "int", 600, applies=applies, source=source),
        *(
            entry(
                kind,
                namespace + "/" + name,
                "int",
                default,
                since=since,
                minimum=0,
                maximum=100,
                reasons={"min": threshold % (name, "minimum", 0), "max": threshold % (name, "maximum", 100)},
                applies=applies,
                source=source,
                note="Percent free disk space below which %s." % what,
            )
            for name, default, since, what in (
                ("DataSpaceRemainingThreshold", 20, None, "a custom check fails"),
                ("MinimumStorageLeftRequiredForIngestion", 5, "4.28.0", "ingestion pauses"),
            )
        ),
        entry(
            kind,
            namespace + "/RavenDBLogLevel",
            "enum",
            choices=RAVENDB_LOG_LEVELS,
            replaced=True,
            reasons={"choice": "an unknown level is logged and mapped to Operations"},
            applies=applies,
            source=source,
        ),
    ]
    return overridden(items, namespace, overrides)


def identity_settings(kind, namespace, source, *, instance_name, persisters, persistence_since, persistence_note):
    """InstanceName with its legacy spelling, and PersistenceType: what the Error and Audit instances' Settings.cs
    read alike (docs/reference/servicecontrol.md §1.2, §1.3, §1.7)."""
    return [
        entry(kind, namespace + "/InstanceName", "str", instance_name, since="5.5.0", effective=True, source=source),
        entry(
            kind,
            namespace + "/InternalQueueName",
            "str",
            since="4.27.0",
            alias_of=namespace + "/InstanceName",
            note="Read first, then overridden by InstanceName.",
            default_text=NONE,
            source=source,
        ),
        entry(
            kind,
            namespace + "/PersistenceType",
            "enum",
            choices=persisters,
            since=persistence_since,
            required=True,
            reasons={
                "missing": "No persistenceType has been configured. Either provide a Type or Name in the "
                "PersistenceType setting.",
                "choice": "Could not load persistence customization type",
            },
            note=persistence_note,
            source=source,
        ),
    ]


def retention(name, minimum, maximum, dot=""):
    """The fields of a retention period Settings.cs range-checks (docs/reference/servicecontrol.md §1.5)."""
    # Settings.cs words its limits as "5 days", "1 hour"; AuditRetentionPeriod's messages end with a full stop.
    text = "%s settings is invalid, " % name
    return {
        "minimum": minimum,
        "maximum": maximum,
        "gated": True,
        "reasons": {
            "type": text + "please make sure it is a TimeSpan" + dot,
            "min": text + "value should be minimum " + human_seconds(minimum) + dot,
            "max": text + "value should be maximum " + human_seconds(maximum) + dot,
        },
    }


def queue_settings(kind, source, *, queue, default, empty_reason, forward_key, note):
    """The queue an instance ingests (never empty) and the log queue it forwards to, ``<queue>.log`` by default
    (Settings.Subscope; docs/reference/servicecontrol.md §1.2, §1.3)."""
    name = queue.split("/", 1)[1]
    return [
        entry(kind, queue, "str", default, effective=True, reasons={"empty": empty_reason}, note=note, source=source),
        entry(
            kind,
            queue.replace("Queue", "LogQueue"),
            "str",
            lambda settings: log_queue_of(settings[queue]),
            effective=True,
            default_text="`<%s>.log` (before any `@machine`)" % name,
            note="The forwarding queue; used only when %s is true." % forward_key,
            source=source,
        ),
    ]


def instance_settings(kind, namespace, source, overrides=None):
    """Keys every kind's own Settings.cs reads the same way (``overrides`` as for ravendb_settings)."""
    items = [
        entry(
            kind,
            namespace + "/TransportType",
            "str",
            required=True,
            reasons={
                "missing": "No transport has been configured. Either provide a Type or Name in the TransportType "
                "setting."
            },
            source=source,
            note="A TransportType name (docs/reference/transports.md §10); the topology's transport.type.",
        ),
        entry(
            kind,
            namespace + "/ConnectionString",
            "str",
            secret=True,
            source=source,
            note="The transport connection string; else the `<connectionStrings>` entry `NServiceBus/Transport`.",
            default_text=NONE,
        ),
        entry(
            kind,
            namespace + "/MaximumConcurrencyLevel",
            "int",
            minimum=1,
            reasons=CONCURRENCY_REASONS,
            default_text="the transport layer's: %d" % (10 if kind == "error" else 32),
            source=source,
        ),
        entry(kind, namespace + "/ShutdownTimeout", "timespan", "00:00:05", since="6.5.0", source=source),
        entry(
            kind,
            namespace + "/ValidateConfig",
            "bool",
            True,
            source=source,
            note="false skips the range checks marked 'unless ValidateConfig=false'.",
        ),
    ]
    return overridden(items, namespace, overrides)
