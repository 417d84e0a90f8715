# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The replacement report: phases in order, the pause window, reconciliation, nothing secret."""

from __future__ import annotations

from ansible_collections.servicecontrol.platform.plugins.module_utils._replacement_report import (
    pause_window,
    phase_rows,
    replacement_markdown,
    seconds_between,
)

TOPOLOGY = {
    "transport": {"type": "RabbitMQ.QuorumConventionalRouting", "connection_string": "host=rabbit;password=s3cret"},
    "instances": [
        {"name": "Particular.ServiceControl.New", "kind": "error", "url": "http://sc:33334/api"},
        {
            "name": "Particular.ServiceControl.Audit",
            "kind": "audit",
            "url": "http://sc:44444/api",
            "settings": {"ServiceControl.Audit/ServiceControlQueueAddress": "Particular.ServiceControl.New"},
        },
    ],
}
PLAN = {
    "strategy": "new_name",
    "old": {"name": "Particular.ServiceControl", "url": "http://sc:33333/api"},
    "new": {"name": "Particular.ServiceControl.New", "url": "http://sc:33334/api"},
    "prepare_ahead": True,
    "audits_to_update": ["Particular.ServiceControl.Audit"],
    "endpoint_plugin_note": "Point the endpoints' heartbeats plugin at Particular.ServiceControl.New.",
    "topology": TOPOLOGY,
}
STATE = {
    "phases": {
        "preflight": {"ended": "2026-12-02T10:00:01+00:00"},
        "pause": {"started": "2026-12-02T10:00:10+00:00", "verified": "2026-12-02T10:00:21+00:00"},
        "drain": {
            "started": "2026-12-02T10:00:22+00:00",
            "ended": "2026-12-02T10:00:52+00:00",
            "retried": 40,
            "archived": 2,
            "plan": [{"name": "poison", "action": "archive", "count": 2, "route": "ids"}],
        },
        "resume": {"started": "2026-12-02T10:01:00+00:00", "ingesting": "2026-12-02T10:01:12.5+00:00"},
    },
    "snapshot": {"unresolved_ids": ["a", "b", "c"], "retried_ids": ["a", "b"], "archived_ids": ["c"]},
    "reconciliation": {"ok": False, "missing": ["b: retried, neither failed again nor processed"], "counts": {"x": 1}},
}


def test_seconds_between_iso_timestamps_and_missing_ends():
    assert seconds_between("2026-12-02T10:00:00+00:00", "2026-12-02T10:01:30.25+00:00") == 90.2
    assert seconds_between(None, "2026-12-02T10:00:00+00:00") is None
    assert seconds_between("not a time", "2026-12-02T10:00:00+00:00") is None


def test_pause_window_runs_from_ingestion_off_to_the_new_instance_ingesting():
    assert pause_window(STATE) == 62.5
    assert pause_window({"phases": {"pause": {"started": "2026-12-02T10:00:10+00:00"}}}) is None


def test_phase_rows_keep_the_documented_order_and_show_what_did_not_run():
    rows = phase_rows(STATE)
    assert [row[0][:2] for row in rows] == ["Pr", "Pr", "1.", "2.", "3.", "Th", "4."]
    assert rows[3] == ["2. Retry or archive every failed message", "done", "30.0 s", "retried 40, archived 2"]
    assert rows[4][1] == "not run"
    assert rows[2][1:3] == ["done", "11.0 s"]  # the pause is over when it is proven


def test_markdown_reports_pause_rules_reconciliation_and_topology_without_secrets():
    text = replacement_markdown(STATE, PLAN)
    assert text.startswith("# Replacing Error instance Particular.ServiceControl by Particular.ServiceControl.New\n")
    assert "- Ingestion pause: 62.5 s" in text
    assert "| poison | archive | 2 | ids |" in text
    assert "**not everything accounted for**" in text and "missing: b: retried" in text
    assert "```mermaid" in text and "Particular.ServiceControl.New" in text
    assert "heartbeats plugin" in text
    assert "s3cret" not in text


def test_markdown_of_a_plan_says_so_and_that_nothing_was_reconciled():
    text = replacement_markdown({"phases": {}, "snapshot": {}}, PLAN, check_mode=True)
    assert "(plan, check mode)" in text
    assert "Not reconciled yet." in text
    assert "- Ingestion pause: not over yet" in text
