# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.servicecontrol.platform.plugins.modules import queue_info

SECRET = "s3cr3t-Pa55word"
BASE_ARGS = {
    "transport": "RabbitMQ.ClassicDirectRouting",
    "connection_string": "host=fake_broker.example.com;username=sc;password=%s" % SECRET,
}


def test_reports_each_queue_in_order(fake_broker, module_runner):
    fake_broker["queues"]["error"] = {"depth": 42, "queue_type": "classic"}

    result, failed, output = module_runner(queue_info.main, dict(BASE_ARGS, queues=["error", "audit", "error"]))

    assert not failed
    assert result["changed"] is False
    assert result["queues"] == [
        {
            "name": "error",
            "physical_name": "phys-error",
            "exists": True,
            "depth": 42,
            "properties": {"queue_type": "classic"},
        },
        {"name": "audit", "physical_name": "phys-audit", "exists": False, "depth": None, "properties": {}},
    ]
    assert fake_broker["connections"] == 1
    assert SECRET not in output


def test_check_mode_reads_the_same(fake_broker, module_runner):
    fake_broker["queues"]["audit"] = {"depth": 0, "queue_type": "quorum"}
    normal, _failed, _output = module_runner(queue_info.main, dict(BASE_ARGS, queues=["audit"]))
    check, _failed, _output = module_runner(queue_info.main, dict(BASE_ARGS, queues=["audit"]), check_mode=True)
    assert check == normal
    assert check["queues"][0]["depth"] == 0


def test_invalid_names_fail_before_connecting(fake_broker, module_runner):
    result, failed, _output = module_runner(queue_info.main, dict(BASE_ARGS, queues=["x!", "y!"]))
    assert failed
    assert "'x!'" in result["msg"] and "'y!'" in result["msg"]
    assert fake_broker.get("connections") is None


def test_transport_failure_is_reported_without_secret(fake_broker, module_runner):
    fake_broker["unreachable"] = True
    result, failed, output = module_runner(queue_info.main, dict(BASE_ARGS, queues=["error"]))
    assert failed
    assert result["msg"] == "Cannot reach the fake broker."
    assert SECRET not in output


def test_unknown_transport_option_is_rejected(fake_broker, module_runner):
    result, failed, _output = module_runner(
        queue_info.main, dict(BASE_ARGS, queues=["error"], sqs_endpoint_url="http://x")
    )
    assert failed
    assert "sqs_endpoint_url" in result["msg"]
