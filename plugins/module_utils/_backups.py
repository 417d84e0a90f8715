# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""Backups derived, not repeated: the BC/DR settings of primaries and their backups, from the primaries.

The BC/DR procedure (docs/reference/servicecontrol.md §4.3): the primaries forward every failed and audit
message to the backup queues, and differently named backup instances ingest those queues. So a topology only
says which instance backs up which, and where each runs; from that this module derives, unless the user set
them explicitly (anything set explicitly wins):

* primary Error: ``ServiceControl/ForwardErrorMessages=true``, ``ServiceBus/ErrorLogQueue=<error queue>_backup``;
* primary Audit: ``ServiceControl.Audit/ForwardAuditMessages=true``, ``ServiceBus/AuditLogQueue=<audit queue>_backup``;
* backup Error: InstanceName ``<primary>.Backup``, ``ServiceBus/ErrorQueue`` = the primary's log queue, no
  forwarding, ``ServiceControl/DisableExternalIntegrationsPublishing=true`` (integration events stay with the
  primary), its own throughput-data queue, and ``ServiceControl/RemoteInstances`` = the backup Audit instances;
* backup Audit: InstanceName ``<primary>.Backup``, ``ServiceBus/AuditQueue`` = the primary's log queue, no
  forwarding, ``ServiceControl.Audit/ServiceControlQueueAddress`` = the backup Error instance's name.

Clashes are left to topology validation (same names, same ingest queue, forwarding loops) and to the
deployment checks (two instances on one host and port).
"""

from __future__ import annotations

import json

BACKUP_SUFFIX = ".Backup"
LOG_SUFFIX = "_backup"
DEFAULT_THROUGHPUT_QUEUE = "ServiceControl.ThroughputData"

_FORWARD = {"error": "ServiceControl/ForwardErrorMessages", "audit": "ServiceControl.Audit/ForwardAuditMessages"}
_INGEST = {"error": "ServiceBus/ErrorQueue", "audit": "ServiceBus/AuditQueue"}
_LOG = {"error": "ServiceBus/ErrorLogQueue", "audit": "ServiceBus/AuditLogQueue"}
_DEFAULT_QUEUE = {"error": "error", "audit": "audit"}


def _is_false(value):
    return value is False or str(value).strip().lower() == "false"


def derive_backups(raw_instances, url_of):
    """Return ``(instances, problems)``: copies of the raw instance mappings with the DR settings derived.

    ``url_of(instance)`` gives an instance's API address (for RemoteInstances). Instances that are not
    mappings, or whose kind is not error/audit, pass through unchanged for validation to report.
    """
    instances = [_plain(i) if isinstance(i, dict) else i for i in raw_instances]
    problems = []
    valid = [i for i in instances if isinstance(i, dict) and i.get("kind") in _INGEST]
    primaries = {i.get("name"): i for i in valid if i.get("role", "primary") == "primary" and i.get("name")}
    pairs = []
    for backup in (i for i in valid if i.get("role") == "backup"):
        primary = _primary_of(backup, primaries, problems)
        if primary is None:
            continue
        backup.setdefault("name", primary["name"] + BACKUP_SUFFIX)
        backup.setdefault("backup_of", primary["name"])
        pairs.append((primary, backup))
    for primary, backup in pairs:
        _derive_primary(primary, backup, problems)
    for primary, backup in pairs:
        _derive_backup(primary, backup, pairs, url_of)
    return instances, problems


def _plain(value):
    """A plain copy of mappings and lists. Not copy.deepcopy: Ansible hands filters lazily templated
    containers, and reading them (which renders their templates) is what must happen, not copying them."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _primary_of(backup, primaries, problems):
    kind = backup["kind"]
    wanted = backup.get("backup_of")
    if wanted:
        primary = primaries.get(wanted)
        if primary is None or primary["kind"] != kind:
            problems.append(
                "Backup %s instance %s names backup_of '%s', which is not a primary %s instance of the topology "
                "(primary %s instances: %s)."
                % (kind, backup.get("name") or "(unnamed)", wanted, kind, kind, _names(primaries, kind))
            )
            return None
        return primary
    candidates = [p for p in primaries.values() if p["kind"] == kind]
    if len(candidates) == 1:
        return candidates[0]
    if not backup.get("name"):
        problems.append(
            "A backup %s instance has neither a name nor backup_of; set backup_of to the primary it backs up "
            "(primary %s instances: %s)." % (kind, kind, _names(primaries, kind))
        )
    return None


def _names(primaries, kind):
    return ", ".join(sorted(n for n, p in primaries.items() if p["kind"] == kind)) or "none"


def _settings(instance):
    if not isinstance(instance.get("settings"), dict):
        instance["settings"] = {}
    return instance["settings"]


def _derive_primary(primary, backup, problems):
    kind, settings = primary["kind"], _settings(primary)
    if _is_false(settings.get(_FORWARD[kind], None)) and settings.get(_FORWARD[kind]) is not None:
        problems.append(
            "Primary %s instance %s sets %s=false, so its backup %s would receive nothing; let it forward (remove "
            "the setting) or remove the backup." % (kind, primary["name"], _FORWARD[kind], backup["name"])
        )
        return
    settings.setdefault(_FORWARD[kind], True)
    ingest = settings.get(_INGEST[kind]) or _DEFAULT_QUEUE[kind]
    settings.setdefault(_LOG[kind], ingest + LOG_SUFFIX)


def _derive_backup(primary, backup, pairs, url_of):
    kind, settings = backup["kind"], _settings(backup)
    settings.setdefault(_INGEST[kind], primary["settings"].get(_LOG[kind]))
    settings.setdefault(_FORWARD[kind], False)
    if kind == "error":
        settings.setdefault("ServiceControl/DisableExternalIntegrationsPublishing", True)
        throughput = primary["settings"].get("LicensingComponent/ServiceControlThroughputDataQueue")
        settings.setdefault(
            "LicensingComponent/ServiceControlThroughputDataQueue",
            (throughput or DEFAULT_THROUGHPUT_QUEUE) + BACKUP_SUFFIX,
        )
        audits = [b for _p, b in pairs if b["kind"] == "audit"]
        urls = [url_of(audit) for audit in audits]
        if urls and all(urls) and "ServiceControl/RemoteInstances" not in settings:
            settings["ServiceControl/RemoteInstances"] = json.dumps(
                [{"api_uri": url} for url in urls], separators=(",", ":")
            )
    else:
        target_error = primary["settings"].get("ServiceControl.Audit/ServiceControlQueueAddress")
        errors = [b for p, b in pairs if b["kind"] == "error" and (target_error is None or p["name"] == target_error)]
        if len(errors) == 1:
            settings.setdefault("ServiceControl.Audit/ServiceControlQueueAddress", errors[0]["name"])
