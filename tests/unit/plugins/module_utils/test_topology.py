# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy
import re

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils._settings import effective_settings, log_queue_of
from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import (
    TopologyError,
    topology_queues,
    validate_topology,
)

SECRET = "s3cr3t-password"

DR_TOPOLOGY = {
    "transport": {
        "type": "RabbitMQ.QuorumConventionalRouting",
        "connection_string": "host=rabbit;username=admin;password=%s" % SECRET,
    },
    "instances": [
        {
            "name": "Particular.ServiceControl",
            "kind": "error",
            "role": "primary",
            "settings": {"ServiceControl/ForwardErrorMessages": True, "ServiceBus/ErrorLogQueue": "error_backup"},
        },
        {
            "name": "Particular.ServiceControl.Audit",
            "kind": "audit",
            "settings": {
                "ServiceControl.Audit/ForwardAuditMessages": "True",
                "ServiceBus/AuditLogQueue": "audit_backup",
            },
        },
        {
            "name": "Particular.ServiceControl.Backup",
            "kind": "error",
            "role": "backup",
            "settings": {"ServiceBus/ErrorQueue": "error_backup", "ServiceControl/ForwardErrorMessages": False},
        },
        {
            "name": "Particular.ServiceControl.Audit.Backup",
            "kind": "audit",
            "role": "backup",
            "settings": {"ServiceBus/AuditQueue": "audit_backup"},
        },
    ],
}


def dr_topology():
    return copy.deepcopy(DR_TOPOLOGY)


def test_dr_topology_gives_standard_then_backup_queues_in_documented_order():
    assert topology_queues(dr_topology()) == ["error", "audit", "error_backup", "audit_backup"]


def test_instance_queues_follow_servicecontrol_setup():
    queues = topology_queues(dr_topology(), include_instance_queues=True)
    assert queues[:4] == ["error", "audit", "error_backup", "audit_backup"]
    assert "Particular.ServiceControl.staging" in queues
    assert "Particular.ServiceControl.Errors" in queues
    assert "Particular.ServiceControl.Backup.staging" in queues
    assert "Particular.ServiceControl.Audit.Errors" in queues
    # Audit instances have no staging queue; the throughput queue appears once although two error instances use it.
    assert "Particular.ServiceControl.Audit.staging" not in queues
    assert queues.count("ServiceControl.ThroughputData") == 1


def test_defaults_are_servicecontrols():
    settings = effective_settings("error", {"ServiceControl/ForwardErrorMessages": "true"})
    assert settings["ServiceBus/ErrorQueue"] == "error"
    assert settings["ServiceBus/ErrorLogQueue"] == "error.log"
    assert settings["ServiceControl/ForwardErrorMessages"] is True
    assert settings["ServiceControl/IngestErrorMessages"] is True
    assert effective_settings("audit", {})["ServiceBus/AuditLogQueue"] == "audit.log"


def test_log_queue_keeps_msmq_machine_suffix():
    assert log_queue_of("error@SCHOST") == "error.log@SCHOST"
    assert log_queue_of("error") == "error.log"


def test_forwarding_with_default_log_queue_is_derived_from_the_ingest_queue():
    topology = {
        "transport": {"type": "LearningTransport", "connection_string": "C:\\ProgramData\\lt"},
        "instances": [
            {
                "name": "Particular.ServiceControl",
                "kind": "error",
                "settings": {"ServiceBus/ErrorQueue": "failures", "ServiceControl/ForwardErrorMessages": True},
            }
        ],
    }
    assert topology_queues(topology) == ["failures", "failures.log"]


def test_backup_sharing_the_primary_name_is_rejected_with_advice():
    topology = dr_topology()
    topology["instances"][2]["name"] = "Particular.ServiceControl"
    with pytest.raises(TopologyError) as error:
        validate_topology(topology)
    message = str(error.value)
    assert "share the InstanceName 'Particular.ServiceControl'" in message
    assert "'Particular.ServiceControl.Backup'" in message


def test_backup_ingesting_the_primary_queue_is_rejected():
    topology = dr_topology()
    topology["instances"][2]["settings"]["ServiceBus/ErrorQueue"] = "error"
    with pytest.raises(
        TopologyError, match=re.escape("Backup error instance Particular.ServiceControl.Backup ingests 'error'")
    ):
        validate_topology(topology)


def test_forwarding_to_the_ingested_queue_is_rejected():
    topology = dr_topology()
    topology["instances"][0]["settings"]["ServiceBus/ErrorLogQueue"] = "error"
    with pytest.raises(TopologyError, match="forwards to 'error', the queue it ingests"):
        validate_topology(topology)


def test_every_problem_is_reported_at_once_and_no_secret_leaks():
    topology = dr_topology()
    topology["transport"]["type"] = "RabbitMQ"
    topology["instances"][0]["kind"] = "primary"
    topology["instances"][1]["settings"]["ServiceControl/ForwardAuditMessages"] = True
    topology["instances"][3]["colour"] = "blue"
    with pytest.raises(TopologyError) as error:
        validate_topology(topology)
    message = str(error.value)
    assert "transport.type 'RabbitMQ' is not a ServiceControl TransportType" in message
    assert "has kind 'primary'" in message
    assert "setting 'ServiceControl/ForwardAuditMessages' does not belong to a audit instance" in message
    assert "unknown key(s) colour" in message
    assert SECRET not in message


def test_bad_boolean_setting_names_the_key():
    topology = dr_topology()
    topology["instances"][0]["settings"]["ServiceControl/ForwardErrorMessages"] = "yes please"
    with pytest.raises(TopologyError, match="ServiceControl/ForwardErrorMessages must be true or false"):
        validate_topology(topology)


def test_instance_name_setting_must_agree_with_name():
    topology = dr_topology()
    topology["instances"][0]["settings"]["ServiceControl/InstanceName"] = "Other"
    with pytest.raises(TopologyError, match=re.escape("differs from name 'Particular.ServiceControl'")):
        validate_topology(topology)


@pytest.mark.parametrize("bad", [None, [], {"transport": {}}, {"transport": {"type": "MSMQ"}, "instances": []}])
def test_shapeless_input_fails_clearly(bad):
    with pytest.raises(TopologyError):
        validate_topology(bad)


# -- transport.options ---------------------------------------------------------------------------------


def test_valid_transport_options_are_accepted():
    topology = dr_topology()
    topology["transport"]["options"] = {
        "timeout": 12.5,
        "ca_path": "/etc/ca.pem",
        "rabbitmq_delivery_limit_policy": True,
    }
    validate_topology(topology)


def test_misspelt_or_foreign_transport_options_are_refused_with_the_valid_list():
    topology = dr_topology()
    topology["transport"]["options"] = {"timout": 5, "sqs_endpoint_url": "http://moto:5000"}
    with pytest.raises(TopologyError) as raised:
        validate_topology(topology)
    message = str(raised.value)
    assert "transport.options has option(s) sqs_endpoint_url, timout that do not apply to " in message
    assert (
        "valid options: ca_path, client_cert, client_key, rabbitmq_delivery_limit_policy, timeout, validate_certs"
        in (message)
    )
    assert SECRET not in message


def test_the_queues_role_passes_every_option_the_queue_module_takes():
    """The role names each transport option explicitly; it must name exactly the module's options."""
    import pathlib

    import yaml

    from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
        COMMON_OPTIONS,
        TRANSPORT_SPECIFIC_OPTIONS,
    )

    root = pathlib.Path(__file__).resolve().parents[4]
    tasks = yaml.safe_load((root / "roles" / "queues" / "tasks" / "main.yml").read_text(encoding="utf-8"))
    (queue_task,) = [task for task in tasks if "servicecontrol.platform.queue" in task]
    arguments = queue_task["servicecontrol.platform.queue"]
    passed = {name for name, value in arguments.items() if "__queues_transport.options.%s " % name in str(value)}
    assert passed == set(COMMON_OPTIONS) | set(TRANSPORT_SPECIFIC_OPTIONS)


def test_an_unknown_top_level_key_is_refused_with_the_valid_ones():
    from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import (
        TopologyError,
        validate_topology,
    )

    topology = {
        "transport": {"type": "LearningTransport", "connection_string": "/srv/learning"},
        "instances": [
            {
                "name": "Particular.ServiceControl",
                "kind": "error",
                "settings": {"ServiceControl/ErrorRetentionPeriod": "10"},
            }
        ],
        "servicepluse": [],
    }
    with pytest.raises(
        TopologyError,
        match=r"Unknown topology key\(s\): servicepluse; a topology has instances, servicepulse, transport",
    ):
        validate_topology(topology)
