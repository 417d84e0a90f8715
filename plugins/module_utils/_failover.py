# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""Failover: when the primaries are lost, the backups take over (docs/dr-failover.md).

The BC/DR topology (docs/reference/servicecontrol.md §4.3) has each backup ingest the log queue its primary
forwards to. To resume operations the backups must ingest what the endpoints send instead. That is decided here as a
derived topology, so topology validation and the instance role work on it unchanged:

* each backup becomes a primary: ``ServiceBus/ErrorQueue`` (``ServiceBus/AuditQueue``) = the queue its primary
  ingested, forwarding off, and for Error instances integration-event publishing back on
  (``ServiceControl/DisableExternalIntegrationsPublishing=false``: the primary that published them is gone);
* its name, target, remotes and other settings stay, so the instance keeps its data;
* the lost primaries (those with a backup) are left out; every other instance stays as it is;
* an integrated ServicePulse served by a lost primary is now the one its backup serves.
"""

from __future__ import annotations

from ansible_collections.servicecontrol.platform.plugins.module_utils._backups import _plain, derive_backups
from ansible_collections.servicecontrol.platform.plugins.module_utils._deployment import mask, secret_keys
from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import (
    TopologyError,
    _url_of,
    forward_queue,
    ingest_queue,
    validate_topology,
)

_INGEST = {"error": "ServiceBus/ErrorQueue", "audit": "ServiceBus/AuditQueue"}
_FORWARD = {"error": "ServiceControl/ForwardErrorMessages", "audit": "ServiceControl.Audit/ForwardAuditMessages"}
_PUBLISHING = "ServiceControl/DisableExternalIntegrationsPublishing"


def _pairs(topology):
    """``(normalised, raw derived instances, {backup name: primary name})`` of a valid topology."""
    normalised = validate_topology(topology)
    raw, _problems = derive_backups(list(topology["instances"]), _url_of)  # validated above: no problems left
    pairs = {i["name"]: i["backup_of"] for i in normalised["instances"] if i["role"] == "backup"}
    if not pairs:
        raise TopologyError(
            "The topology has no backup instance, so there is nothing to fail over to; dr_failover needs the "
            "BC/DR topology dr_setup built (docs/topology.md)."
        )
    return normalised, raw, pairs


def failover_topology(topology):
    """The topology after failover: the backups promoted to primaries, the lost primaries left out."""
    normalised, raw, pairs = _pairs(topology)
    by_name = {i["name"]: i for i in normalised["instances"]}
    lost = set(pairs.values())
    instances = []
    for instance in raw:
        name = instance["name"]
        if name in lost:
            continue
        if name in pairs:
            kind = instance["kind"]
            promoted = {key: value for key, value in instance.items() if key != "backup_of"}
            promoted["role"] = "primary"
            settings = dict(promoted.get("settings") or {})
            settings[_INGEST[kind]] = ingest_queue(by_name[pairs[name]])
            settings[_FORWARD[kind]] = False
            if kind == "error":
                settings[_PUBLISHING] = False
            promoted["settings"] = settings
            instances.append(promoted)
        else:
            instances.append(instance)
    derived = {key: _plain(value) for key, value in topology.items() if key not in ("instances", "servicepulse")}
    derived["instances"] = instances
    if topology.get("servicepulse") is not None:
        derived["servicepulse"] = [_servicepulse_after(e, pairs) for e in _plain(topology["servicepulse"])]
    validate_topology(derived)  # refuses here, on the controller, whatever the derivation could not resolve
    return derived


def _servicepulse_after(entry, pairs):
    backups = {primary: backup for backup, primary in pairs.items()}
    if isinstance(entry, dict) and entry.get("kind") == "integrated" and entry.get("instance") in backups:
        entry = {key: value for key, value in entry.items() if key != "url"}  # the lost primary's address
        entry["instance"] = backups[entry["instance"]]
    return entry


def failover_plan(topology):
    """What failover changes, per backup (no secrets): the queue it ingests before and after, the settings changed."""
    normalised, _raw, pairs = _pairs(topology)
    after = {i["name"]: i for i in validate_topology(failover_topology(topology))["instances"]}
    rows = []
    for instance in normalised["instances"]:
        if instance["name"] not in pairs:
            continue
        promoted = after[instance["name"]]
        secrets = secret_keys(promoted)
        changes = {
            key: {"from": mask(key, instance["settings"].get(key), secrets), "to": mask(key, value, secrets)}
            for key, value in sorted(promoted["settings"].items())
            if instance["settings"].get(key) != value
        }
        rows.append(
            {
                "name": instance["name"],
                "kind": instance["kind"],
                "takes_over_from": pairs[instance["name"]],
                "url": _url_of(instance),
                "drains": ingest_queue(instance),
                "ingests": ingest_queue(promoted),
                "forwards_to": forward_queue(promoted),
                "changes": changes,
            }
        )
    return rows


def failover_report(plan, links=None, results=None, check_mode=False, serviceinsight=None):
    """The Markdown report of a failover run: what was done, the links, the endpoints' note, how to re-establish DR."""
    title = "ServiceControl BC/DR failover" + (" (plan, check mode)" if check_mode else "")
    parts = ["# %s" % title, "", "## The backups take over", ""]
    parts += ["| instance | kind | takes over from | drained | now ingests | URL |", "|---|---|---|---|---|---|"]
    for row in plan:
        parts.append(
            "| %s | %s | %s | `%s` | `%s` | %s |"
            % (row["name"], row["kind"], row["takes_over_from"], row["drains"], row["ingests"], row["url"] or "")
        )
    for row in plan:
        if row["changes"]:
            parts += ["", "Settings of %s:" % row["name"], ""]
            parts += ["- `%s`: `%s` -> `%s`" % (k, v["from"], v["to"]) for k, v in row["changes"].items()]
    if results:
        parts += ["", "## What this run did", "", "| step | result |", "|---|---|"]
        parts += ["| %s | %s |" % (step, outcome) for step, outcome in results]
    parts += ["", "## ServicePulse and ServiceInsight", ""]
    for link in links or []:
        parts.append("- **%s** (%s): %s — %s" % (link["name"], link["kind"], link["link"], link["note"]))
    if not links:
        parts.append("- No ServicePulse in the topology (`servicepulse`); point yours at the Error instance above.")
    if serviceinsight:
        parts.append("- ServiceInsight: `%s` (typed into ServiceInsight, or opened as a link)." % serviceinsight)
    errors = [row for row in plan if row["kind"] == "error"]
    parts += ["", "## Endpoints", ""]
    parts += [
        "- Endpoints keep sending failed and audit messages to the same queues; the backups ingest them now.",
    ]
    parts += [
        "- The endpoints' plugins (heartbeats, custom checks, saga audit) send to the lost primary's input queue "
        "`%s`, which nothing reads now: reconfigure them to `%s` (the ServiceControl queue address) or they will "
        "show as missing in ServicePulse." % (row["takes_over_from"], row["name"])
        for row in errors
    ]
    parts += ["", "## Re-establishing DR", ""]
    parts += [
        "The former backups are now the only instances; nothing backs them up. Either:",
        "",
        "1. make them the primaries of a new BC/DR topology: describe them as primaries (their names and targets), "
        "add new backups, and run `servicecontrol.platform.dr_setup` (it turns forwarding on and creates the "
        "backup queues and instances); or",
        "2. rebuild the lost primaries, fail back in a quiet period (stop ingestion here, let the primaries ingest "
        "the endpoints' queues again), and run `servicecontrol.platform.dr_setup` with the original topology, "
        "which sets the backups to ingest the backup queues again.",
        "",
        "Until then, retrying from these instances is the normal way to retry: the primaries that held the same "
        "failed messages are gone.",
    ]
    return "\n".join(parts) + "\n"
