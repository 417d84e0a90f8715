# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""Reports of a run: the topology as a Mermaid diagram (like the one on the BC/DR page) and Markdown tables.

Nothing secret goes in: transport type, queue and instance names, URLs (user:password@ removed) and
settings with secret values masked.
"""

from __future__ import annotations

import re

from ansible_collections.servicecontrol.platform.plugins.module_utils._deployment import instance_url, mask, secret_keys
from ansible_collections.servicecontrol.platform.plugins.module_utils._redact import strip_userinfo
from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import forward_queue, ingest_queue

_NODE = re.compile(r"[^A-Za-z0-9_]")


def _node(prefix, name):
    return "%s_%s" % (prefix, _NODE.sub("_", name))


def mermaid(normalised):
    """A Mermaid flowchart: endpoints -> ingest queues -> instances -> log queues -> backups."""
    lines = ["flowchart LR", '  endpoints(["NServiceBus endpoints"])']
    queues = []
    for instance in normalised["instances"]:
        for queue in (ingest_queue(instance), forward_queue(instance)):
            if queue and queue not in queues:
                queues.append(queue)
    for queue in queues:
        lines.append('  %s[("%s")]' % (_node("q", queue), queue))
    for instance in normalised["instances"]:
        label = "%s<br/>%s %s" % (instance["name"], instance["role"], instance["kind"])
        lines.append('  %s["%s"]' % (_node("i", instance["name"]), label))
    for instance in normalised["instances"]:
        ingest, forward = ingest_queue(instance), forward_queue(instance)
        node = _node("i", instance["name"])
        if ingest:
            if instance["role"] == "primary":
                lines.append("  endpoints --> %s" % _node("q", ingest))
            lines.append("  %s --> %s" % (_node("q", ingest), node))
        if forward:
            lines.append("  %s -- forwards --> %s" % (node, _node("q", forward)))
    return "\n".join(lines)


def instance_rows(normalised):
    rows = []
    for instance in normalised["instances"]:
        try:
            url = strip_userinfo(instance_url(instance))
        except (KeyError, TypeError, ValueError):
            url = instance.get("url")
        rows.append(
            {
                "name": instance["name"],
                "kind": instance["kind"],
                "role": instance["role"],
                "target": (instance.get("target") or {}).get("type"),
                "url": url,
                "ingests": ingest_queue(instance),
                "forwards_to": forward_queue(instance),
                "backup_of": instance.get("backup_of"),
            }
        )
    return rows


def shown_settings(instance):
    secrets = secret_keys(instance)
    return {key: mask(key, value, secrets) for key, value in sorted(instance["settings"].items())}


def markdown(normalised, title, queues, results=None):
    """The report: a title, the diagram, the instances and queues, and what the run did (if given)."""
    parts = ["# %s" % title, "", "Transport: `%s`" % normalised["transport"]["type"], "", "```mermaid"]
    parts += [mermaid(normalised), "```", "", "## Instances", ""]
    parts += ["| name | kind | role | target | URL | ingests | forwards to |", "|---|---|---|---|---|---|---|"]
    for row in instance_rows(normalised):
        parts.append(
            "| %s | %s | %s | %s | %s | %s | %s |"
            % tuple(row[k] or "" for k in ("name", "kind", "role", "target", "url", "ingests", "forwards_to"))
        )
    parts += ["", "## Queues", ""] + ["- `%s`" % queue for queue in queues]
    if results:
        parts += ["", "## What this run did", "", "| step | result |", "|---|---|"]
        parts += ["| %s | %s |" % (step, outcome) for step, outcome in results]
    return "\n".join(parts) + "\n"
