# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""The report of an Error-instance replacement: per phase timings and counts, the ingestion-pause window,
what was retried and archived, the reconciliation, the links users need, and the topology after it.

Built from the playbook's state (what each phase recorded) and the replacement plan. Nothing secret goes in.
"""

from __future__ import annotations

import datetime as dt

from ansible_collections.servicecontrol.platform.plugins.module_utils._report import mermaid
from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import TopologyError, validate_topology

#: The phases in the order the playbook runs them, with the documented step each one is.
PHASES = (
    ("preflight", "Preflight: versions, quiet period, free ports"),
    ("preclean", "Pre-clean while the old instance still ingests"),
    ("pause", "1. Disable error ingestion on the old instance"),
    ("drain", "2. Retry or archive every failed message"),
    ("replace", "3. Create the new instance on the same Audit instances"),
    ("resume", "The new instance ingests what waited; reconciliation"),
    ("repoint", "4. Point ServicePulse and ServiceInsight at the new instance"),
)


def _moment(text):
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None


def seconds_between(start, end):
    """Whole-second duration between two ISO timestamps, or None when either is missing."""
    begin, finish = _moment(start), _moment(end)
    if begin is None or finish is None:
        return None
    return round((finish - begin).total_seconds(), 1)


def pause_window(state):
    """Seconds from error ingestion off on the old instance to the new instance ingesting (None until then)."""
    phases = state.get("phases") or {}
    return seconds_between((phases.get("pause") or {}).get("started"), (phases.get("resume") or {}).get("ingesting"))


def phase_rows(state):
    """[step, status, seconds, details] per phase, in the playbook's order."""
    phases = state.get("phases") or {}
    rows = []
    for key, title in PHASES:
        phase = phases.get(key)
        if phase is None:
            rows.append([title, "not run", "", ""])
            continue
        counted = [name for name in ("retried", "archived", "refailed") if phase.get(name) not in (None, "")]
        details = ", ".join("%s %s" % (name, phase[name]) for name in counted)
        # The pause ends when it is proven (the old instance stays paused until it is decommissioned).
        ended = phase.get("ended") or phase.get("verified")
        done = "done" if ended else "started"
        duration = seconds_between(phase.get("started"), ended)
        rows.append([title, done, "" if duration is None else "%s s" % duration, details])
    return rows


def _topology_picture(topology):
    try:
        return mermaid(validate_topology(topology))
    except (TopologyError, KeyError, TypeError):
        return None


def _summary(state, plan):
    parts = [
        "- Strategy: `%s`" % plan["strategy"],
        "- Old instance: `%s` (%s)" % (plan["old"]["name"], plan["old"].get("url") or "no URL"),
        "- New instance: `%s` (%s)" % (plan["new"]["name"], plan["new"].get("url") or "no URL"),
        "- Prepared before the pause: %s" % ("yes" if plan.get("prepare_ahead") else "no"),
    ]
    if plan.get("audits_to_update"):
        audits = ", ".join(plan["audits_to_update"])
        parts.append("- Audit instances repointed (ServiceControlQueueAddress): %s" % audits)
    window = pause_window(state)
    parts.append("- Ingestion pause: %s" % ("%s s" % window if window is not None else "not over yet"))
    return parts


def _drain_rules(state):
    drain = (state.get("phases") or {}).get("drain") or {}
    if not drain.get("plan"):
        return []
    parts = ["", "## Drain rules", "", "| rule | action | messages | route |", "|---|---|---|---|"]
    for rule in drain["plan"]:
        cells = (rule.get(key, "") for key in ("name", "action", "count", "route"))
        parts.append("| %s |" % " | ".join("" if cell is None else str(cell) for cell in cells))
    return parts


def _reconciliation(state):
    snapshot = state.get("snapshot") or {}
    reconciliation = state.get("reconciliation") or {}
    unresolved = len(snapshot.get("unresolved_ids") or [])
    retried, archived = len(snapshot.get("retried_ids") or []), len(snapshot.get("archived_ids") or [])
    parts = ["", "## Reconciliation", ""]
    parts.append("- Unresolved on the old instance when the drain started: %d" % unresolved)
    parts.append("- Retried: %d, archived: %d" % (retried, archived))
    if not reconciliation:
        return [*parts, "- Not reconciled yet."]
    verdict = "everything accounted for" if reconciliation.get("ok") else "**not everything accounted for**"
    parts.append("- Result: %s" % verdict)
    parts += ["  - %s: %s" % item for item in sorted((reconciliation.get("counts") or {}).items())]
    parts += ["  - missing: %s" % missing for missing in reconciliation.get("missing") or []]
    return parts


def _link_line(link):
    if not isinstance(link, dict):
        return "- %s" % link
    details = ", ".join("%s %s" % (key, value) for key, value in sorted(link.items()) if key != "name")
    return "- %s: %s" % (link.get("name", "ServicePulse"), details)


def replacement_markdown(state, plan, check_mode=False):
    """The Markdown report of a replacement run (or, in check mode, of its plan)."""
    title = "Replacing Error instance %s by %s" % (plan["old"]["name"], plan["new"]["name"])
    parts = ["# %s%s" % (title, " (plan, check mode)" if check_mode else ""), "", *_summary(state, plan)]
    parts += ["", "## Phases", "", "| step | status | time | counts |", "|---|---|---|---|"]
    parts += ["| %s |" % " | ".join(str(cell) for cell in row) for row in phase_rows(state)]
    parts += _drain_rules(state) + _reconciliation(state)
    if state.get("links"):
        parts += ["", "## Links users need", ""] + [_link_line(link) for link in state["links"]]
    if plan.get("endpoint_plugin_note"):
        parts += ["", "## Endpoints", "", plan["endpoint_plugin_note"]]
    picture = _topology_picture(plan.get("topology") or {})
    if picture:
        parts += ["", "## Topology after the replacement", "", "```mermaid", picture, "```"]
    parts += [
        "",
        "Update `servicecontrol_topology`: replace `%s` by the new instance (the JSON report's `plan.new`)."
        % plan["old"]["name"],
    ]
    return "\n".join(parts) + "\n"
