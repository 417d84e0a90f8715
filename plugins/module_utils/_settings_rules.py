# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: not a public API; other collections must not import it.
"""Refusals that depend on more than one setting, each with ServiceControl's reason.

Each rule takes the instance kind, its namespace and ``values`` (canonical key -> the value ServiceControl
would read, for the settings given with a readable value) and returns ``(key, reason)`` pairs. Sources at
ServiceControl 6.19.2 are named per rule (docs/reference/servicecontrol.md §1.5).
"""

from __future__ import annotations


def _blank(value):
    return value is None or not str(value).strip()


def authentication(kind, namespace, values, check_required):
    """``src/ServiceControl.Infrastructure/OpenIdConnectSettings.cs``: checked only when ValidateConfig is true."""
    if values.get(namespace + "/ValidateConfig") is False:
        return []
    auth = namespace + "/Authentication."
    enabled = values.get(auth + "Enabled", False)
    problems = []
    if not enabled and values.get(auth + "RoleBasedAuthorizationEnabled", False):
        problems.append(
            (
                auth + "RoleBasedAuthorizationEnabled",
                "Authentication.RoleBasedAuthorizationEnabled cannot be true when Authentication.Enabled is false. "
                "Role-based authorization requires authentication to be enabled.",
            )
        )
    if not enabled:
        return problems
    authority = values.get(auth + "Authority")
    if _blank(authority):
        problems.append((auth + "Authority", "Authentication.Authority is required when authentication is enabled."))
    elif values.get(auth + "RequireHttpsMetadata", True) and not str(authority).lower().startswith("https:"):
        problems.append(
            (
                auth + "Authority",
                "Authentication.Authority must use HTTPS when RequireHttpsMetadata is true. Either use HTTPS or set "
                "Authentication.RequireHttpsMetadata to false (not recommended for production)",
            )
        )
    if _blank(values.get(auth + "Audience")):
        problems.append((auth + "Audience", "Authentication.Audience is required when authentication is enabled."))
    if kind != "error":
        return problems
    if _blank(values.get(auth + "ServicePulse.ClientId")):
        problems.append(
            (
                auth + "ServicePulse.ClientId",
                "Authentication.ServicePulse.ClientId is required when authentication is enabled.",
            )
        )
    scopes = values.get(auth + "ServicePulse.ApiScopes")
    if scopes is None:
        problems.append(
            (
                auth + "ServicePulse.ApiScopes",
                "Authentication.ServicePulse.ApiScopes is required when authentication is enabled.",
            )
        )
    elif not (isinstance(scopes, list) and scopes and all(isinstance(scope, str) for scope in scopes)):
        problems.append(
            (
                auth + "ServicePulse.ApiScopes",
                "Authentication.ServicePulse.ApiScopes must be a non-empty JSON array of scope strings "
                '(e.g. ["api://my-api/access_as_user"]).',
            )
        )
    return problems


def https(kind, namespace, values, check_required):
    """``src/ServiceControl.Infrastructure/HttpsSettings.cs``: checked whatever ValidateConfig says."""
    if values.get(namespace + "/Https.Enabled") and _blank(values.get(namespace + "/Https.CertificatePath")):
        return [
            (
                namespace + "/Https.CertificatePath",
                "Https.CertificatePath is required when HTTPS is enabled. Please specify the path to a valid HTTPS "
                "certificate file (.pfx or .pem)",
            )
        ]
    return []


def remote_instances(kind, namespace, values, check_required):
    """``RemoteInstanceSetting.cs``: each entry needs an ``api_uri`` (the constructor refuses null)."""
    remotes = values.get(namespace + "/RemoteInstances")
    if remotes is None:
        return []
    if not isinstance(remotes, list) or not all(
        isinstance(remote, dict) and not _blank(remote.get("api_uri")) for remote in remotes
    ):
        return [
            (
                namespace + "/RemoteInstances",
                'the value must be a JSON array of objects with an api_uri, e.g. [{"api_uri":"http://host:44444/api"}]',
            )
        ]
    return []


def audit_ravendb(kind, namespace, values, check_required):
    """``src/ServiceControl.Audit.Persistence.RavenDB/RavenPersistenceConfiguration.cs``."""
    if values.get(namespace + "/PersistenceType", "RavenDB") != "RavenDB":
        return []
    connection, path = values.get(namespace + "/RavenDB/ConnectionString"), values.get(namespace + "/DbPath")
    if not _blank(connection) and not _blank(path):
        return [(namespace + "/DbPath", "RavenDB/ConnectionString and DbPath cannot be specified at the same time.")]
    if check_required and _blank(connection) and values.get(namespace + "/DatabaseMaintenancePort") is None:
        return [
            (
                namespace + "/DatabaseMaintenancePort",
                "DatabaseMaintenancePort must be specified when using embedded server.",
            )
        ]
    return []


def error_efcore(kind, namespace, values, check_required):
    """``src/ServiceControl.Persistence.EFCore/Abstractions/EFPersistenceConfigurationBase.cs`` (6.19.0+)."""
    if values.get(namespace + "/PersistenceType") not in ("PostgreSQL", "SQLServer"):
        return []
    key = namespace + "/%s"
    problems = []

    def required(name):
        if _blank(values.get(key % name)):
            problems.append((key % name, "Setting %s of type System.String is required" % name))

    required("Database/ConnectionString")
    storage = values.get(key % "MessageBody/StorageType")
    if storage is None:
        problems.append(
            (
                key % "MessageBody/StorageType",
                "Setting MessageBody/StorageType is required. Valid values: FileSystem, AzureBlob, S3.",
            )
        )
    elif storage == "FileSystem":
        required("MessageBody/FileSystem/StoragePath")
    elif storage == "S3":
        required("MessageBody/S3/BucketName")
        if _blank(values.get(key % "MessageBody/S3/AccessKeyId")) != _blank(
            values.get(key % "MessageBody/S3/SecretAccessKey")
        ):
            problems.append(
                (
                    key % "MessageBody/S3/AccessKeyId",
                    "S3 body storage requires both MessageBody/S3/AccessKeyId and MessageBody/S3/SecretAccessKey "
                    "together, or neither to use the default AWS credential chain (IAM role).",
                )
            )
    elif storage == "AzureBlob":
        both = not _blank(values.get(key % "MessageBody/Azure/ConnectionString"))
        if both == (not _blank(values.get(key % "MessageBody/Azure/ServiceUri"))):
            problems.append(
                (
                    key % "MessageBody/Azure/ServiceUri",
                    "Azure Blob body storage requires exactly one of MessageBody/Azure/ConnectionString (shared key / "
                    "SAS) or MessageBody/Azure/ServiceUri (managed identity). %s"
                    % ("Both were set." if both else "Neither was set."),
                )
            )
    return problems


RULES = {
    "error": (authentication, https, remote_instances, error_efcore),
    "audit": (authentication, https, audit_ravendb),
    "monitoring": (authentication, https),
}
