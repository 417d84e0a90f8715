# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Failover as a derived topology: the backups promoted, the lost primaries left out."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils._failover import (
    failover_plan,
    failover_report,
    failover_topology,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import (
    TopologyError,
    forward_queue,
    ingest_queue,
    topology_queues,
    validate_topology,
)

SECRET = "s3cr3t-password"

# The documented BC/DR topology as a user writes it: the backups derived from the primaries.
DR = {
    "transport": {"type": "RabbitMQ.QuorumConventionalRouting", "connection_string": "host=r;password=%s" % SECRET},
    "instances": [
        {"name": "Particular.ServiceControl", "kind": "error", "url": "http://sc:33333/api",
         "settings": {"ServiceControl/RemoteInstances": '[{"api_uri":"http://sc:44444/api"}]'}},
        {"name": "Particular.ServiceControl.Audit", "kind": "audit", "url": "http://sc:44444/api",
         "settings": {"ServiceControl.Audit/ServiceControlQueueAddress": "Particular.ServiceControl"}},
        {"name": "Particular.Monitoring", "kind": "monitoring", "url": "http://sc:33633"},
        {"kind": "error", "role": "backup", "url": "http://dr:33333/api"},
        {"kind": "audit", "role": "backup", "url": "http://dr:44444/api"},
    ],
    "servicepulse": [
        {"name": "pulse", "kind": "standalone", "path": "/srv/app.constants.js", "url": "http://pulse:9090"},
        {"name": "integrated", "kind": "integrated", "instance": "Particular.ServiceControl", "url": "http://sc:33333/"},
    ],
}  # fmt: skip


def dr():
    return copy.deepcopy(DR)


def by_name(topology):
    return {i["name"]: i for i in validate_topology(topology)["instances"]}


def test_the_backups_take_over_the_endpoints_queues_and_the_primaries_are_left_out():
    after = by_name(failover_topology(dr()))
    assert sorted(after) == [
        "Particular.Monitoring",
        "Particular.ServiceControl.Audit.Backup",
        "Particular.ServiceControl.Backup",
    ]
    error, audit = after["Particular.ServiceControl.Backup"], after["Particular.ServiceControl.Audit.Backup"]
    assert (error["role"], audit["role"]) == ("primary", "primary")
    assert ingest_queue(error) == "error" and ingest_queue(audit) == "audit"
    assert forward_queue(error) is None and forward_queue(audit) is None
    # Integration events are published again: the primary that published them is gone.
    assert error["settings"]["ServiceControl/DisableExternalIntegrationsPublishing"] is False
    # What made them backups of a DR pair stays: their remotes, their queue address, their throughput queue.
    assert json.loads(error["settings"]["ServiceControl/RemoteInstances"]) == [{"api_uri": "http://dr:44444/api"}]
    assert audit["settings"]["ServiceControl.Audit/ServiceControlQueueAddress"] == "Particular.ServiceControl.Backup"
    assert (
        error["settings"]["LicensingComponent/ServiceControlThroughputDataQueue"]
        == "ServiceControl.ThroughputData.Backup"
    )
    assert error["url"] == "http://dr:33333/api"


def test_the_derived_topology_is_stable_and_keeps_the_transport():
    derived = failover_topology(dr())
    assert derived["transport"] == DR["transport"]
    assert failover_topology_again(derived) == derived
    assert topology_queues(derived) == ["error", "audit"]


def failover_topology_again(derived):
    # A failover of the failed-over topology has no backup left: refused, not silently repeated.
    with pytest.raises(TopologyError, match="no backup instance, so there is nothing to fail over to"):
        failover_topology(derived)
    return derived


def test_explicit_ingest_queues_of_the_primaries_are_followed():
    topology = dr()
    topology["instances"][0]["settings"]["ServiceBus/ErrorQueue"] = "failures"
    after = by_name(failover_topology(topology))
    assert ingest_queue(after["Particular.ServiceControl.Backup"]) == "failures"


def test_an_integrated_servicepulse_of_a_lost_primary_moves_to_its_backup():
    derived = failover_topology(dr())
    entries = {e["name"]: e for e in derived["servicepulse"]}
    assert entries["integrated"]["instance"] == "Particular.ServiceControl.Backup"
    assert "url" not in entries["integrated"]  # the lost primary's address
    assert entries["pulse"] == DR["servicepulse"][0]


def test_a_primary_without_a_backup_stays():
    topology = dr()
    del topology["instances"][4]  # no audit backup
    topology["instances"][3]["settings"] = {"ServiceControl/RemoteInstances": '[{"api_uri":"http://sc:44444/api"}]'}
    after = by_name(failover_topology(topology))
    assert after["Particular.ServiceControl.Audit"]["role"] == "primary"
    assert "Particular.ServiceControl" not in after


def test_the_plan_says_what_each_backup_drains_and_ingests_without_secrets():
    plan = failover_plan(dr())
    assert [(row["name"], row["takes_over_from"], row["drains"], row["ingests"]) for row in plan] == [
        ("Particular.ServiceControl.Backup", "Particular.ServiceControl", "error_backup", "error"),
        ("Particular.ServiceControl.Audit.Backup", "Particular.ServiceControl.Audit", "audit_backup", "audit"),
    ]
    changes = plan[0]["changes"]
    assert changes["ServiceBus/ErrorQueue"] == {"from": "error_backup", "to": "error"}
    assert changes["ServiceControl/DisableExternalIntegrationsPublishing"] == {"from": True, "to": False}
    assert plan[0]["url"] == "http://dr:33333/api"
    assert SECRET not in json.dumps(plan)


def test_the_report_has_the_links_the_plugin_note_and_how_to_re_establish_dr():
    links = [
        {"name": "pulse", "kind": "standalone", "link": "http://pulse:9090/?scu=http://dr:33333/api/", "note": "n"}
    ]
    report = failover_report(
        failover_plan(dr()), links, [("Refuse while a primary answers", "ok")], False, "si://dr:33333/api"
    )
    assert report.startswith("# ServiceControl BC/DR failover\n")
    assert "http://pulse:9090/?scu=http://dr:33333/api/" in report and "si://dr:33333/api" in report
    assert "input queue `Particular.ServiceControl`" in report and "to `Particular.ServiceControl.Backup`" in report
    assert "servicecontrol.platform.dr_setup" in report
    assert "| Refuse while a primary answers | ok |" in report
    assert "(plan, check mode)" in failover_report(failover_plan(dr()), [], None, True)
    assert SECRET not in report


def test_a_topology_without_backups_or_an_invalid_one_is_refused():
    topology = dr()
    del topology["instances"][3:]
    with pytest.raises(TopologyError, match="nothing to fail over to"):
        failover_topology(topology)
    broken = dr()
    broken["instances"][0]["kind"] = "primary"
    with pytest.raises(TopologyError, match="has kind 'primary'"):
        failover_topology(broken)
