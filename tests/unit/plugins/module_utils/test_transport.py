# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest
import yaml

from ansible_collections.servicecontrol.platform.plugins.doc_fragments.transport import ModuleDocFragment
from ansible_collections.servicecontrol.platform.plugins.module_utils import _transport
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    TRANSPORT_TYPES,
    InvalidQueueNameError,
    Transport,
    TransportConfigurationError,
    TransportDependencyError,
    family_of,
    open_transport,
    open_transport_from_module,
    parse_key_value_connection_string,
    transport_argument_spec,
    transport_options_from_params,
)

SECRET = "Pa55-w0rd-XYZ"


class CaseInsensitiveTransport(Transport):
    """Minimal transport: lower-cases names, compares them case-insensitively, rejects names with '/'."""

    supported_options = frozenset(("sqs_endpoint_url",))

    def physical_name(self, name):
        if "/" in name:
            raise InvalidQueueNameError("Queue name '%s' contains '/'." % name)
        return name.replace(".", "-")

    def physical_key(self, physical):
        return physical.lower()

    def describe(self, name):
        raise NotImplementedError

    def ensure(self, name, check_mode=False):
        raise NotImplementedError

    def delete(self, name, check_mode=False):
        raise NotImplementedError

    def depth(self, name):
        raise NotImplementedError

    def send(self, name, message, check_mode=False):
        raise NotImplementedError


# -- registry ---------------------------------------------------------------------------------------


def test_every_servicecontrol_transport_type_has_a_family():
    assert set(TRANSPORT_TYPES) == {
        "RabbitMQ.QuorumConventionalRouting",
        "RabbitMQ.ClassicConventionalRouting",
        "RabbitMQ.QuorumDirectRouting",
        "RabbitMQ.ClassicDirectRouting",
        "SQLServer",
        "PostgreSQL",
        "NetStandardAzureServiceBus",
        "AmazonSQS",
        "AzureStorageQueue",
        "MSMQ",
        "LearningTransport",
    }
    assert family_of("RabbitMQ.ClassicDirectRouting") == (
        "rabbitmq",
        {"queue_type": "classic", "routing_topology": "direct"},
    )


def test_unknown_transport_suggests_the_right_spelling():
    with pytest.raises(TransportConfigurationError) as error:
        family_of("rabbitmq.quorumconventionalrouting")
    message = str(error.value)
    assert "Unknown transport 'rabbitmq.quorumconventionalrouting'" in message
    assert "Did you mean 'RabbitMQ.QuorumConventionalRouting'?" in message
    assert "SQLServer" in message


def test_unknown_transport_without_close_match_lists_the_names():
    with pytest.raises(TransportConfigurationError) as error:
        open_transport("Kafka", "bootstrap=x")
    assert "Did you mean" not in str(error.value)
    assert "LearningTransport" in str(error.value)


def test_open_transport_picks_the_rabbitmq_implementation():
    transport = open_transport("RabbitMQ.ClassicConventionalRouting", "host=h;password=%s" % SECRET, {"timeout": 5})
    assert type(transport).__name__ == "RabbitMQTransport"
    assert transport.transport_type == "RabbitMQ.ClassicConventionalRouting"
    assert transport.variant == {"queue_type": "classic", "routing_topology": "conventional"}


# -- options -----------------------------------------------------------------------------------------


def test_options_of_other_transports_are_rejected_but_none_values_are_ignored():
    CaseInsensitiveTransport(
        "AmazonSQS", "x", options={"sqs_endpoint_url": "http://x", "rabbitmq_delivery_limit_policy": None}
    )
    with pytest.raises(TransportConfigurationError) as error:
        CaseInsensitiveTransport("AmazonSQS", "x", options={"rabbitmq_delivery_limit_policy": True, "bogus": 1})
    message = str(error.value)
    assert "bogus, rabbitmq_delivery_limit_policy do not apply to transport AmazonSQS" in message
    assert "ca_path, client_cert, client_key, sqs_endpoint_url, timeout, validate_certs" in message


def test_argument_spec_matches_the_doc_fragment():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = transport_argument_spec()
    assert set(spec) == set(documented)
    for name, option in spec.items():
        doc = documented[name]
        assert doc["type"] == option["type"], name
        assert doc.get("default") == option.get("default"), name
        assert doc.get("required", False) == option.get("required", False), name
        assert doc.get("choices") == option.get("choices"), name
    assert spec["connection_string"]["no_log"] is True


def test_argument_spec_is_a_fresh_copy():
    spec = transport_argument_spec()
    spec["timeout"]["default"] = 1
    spec["rabbitmq_delivery_limit_policy"]["type"] = "str"
    assert transport_argument_spec()["timeout"]["default"] == 30
    assert transport_argument_spec()["rabbitmq_delivery_limit_policy"]["type"] == "bool"


def test_options_from_params_keeps_common_options_and_only_given_specific_ones():
    params = dict.fromkeys(transport_argument_spec())
    params.update(transport="AmazonSQS", connection_string=SECRET, timeout=7, validate_certs=False)
    params["sqs_message_retention_period"] = 60
    assert transport_options_from_params(params) == {
        "timeout": 7,
        "validate_certs": False,
        "ca_path": None,
        "client_cert": None,
        "client_key": None,
        "sqs_message_retention_period": 60,
    }


class FakeModule:
    def __init__(self, params):
        self.params = params
        self.failed = None

    def fail_json(self, **kwargs):
        self.failed = kwargs
        raise SystemExit(1)


def test_open_transport_from_module_fails_the_module_clearly():
    params = dict.fromkeys(transport_argument_spec())
    params.update(transport="RabbitMQ.QuorumDirectRouting", connection_string="password=%s" % SECRET, timeout=30)
    module = FakeModule(params)
    with pytest.raises(SystemExit):
        open_transport_from_module(module)
    assert "has no 'host'" in module.failed["msg"]
    assert SECRET not in str(module.failed)


def test_missing_library_goes_through_missing_required_lib(monkeypatch):
    def raise_missing(*_args, **_kwargs):
        raise TransportDependencyError("boto3", "Traceback ...", "AmazonSQS")

    monkeypatch.setattr(_transport, "open_transport", raise_missing)
    params = dict.fromkeys(transport_argument_spec())
    params.update(transport="AmazonSQS", timeout=30)
    module = FakeModule(params)
    with pytest.raises(SystemExit):
        open_transport_from_module(module)
    assert "Failed to import the required Python library (boto3)" in module.failed["msg"]
    assert module.failed["exception"] == "Traceback ..."


# -- validate_names ------------------------------------------------------------------------------------


def test_validate_names_collects_every_problem():
    transport = CaseInsensitiveTransport("AmazonSQS", "x")
    with pytest.raises(InvalidQueueNameError) as error:
        transport.validate_names(["error", "a/b", "error.log", "Error-Log", "c/d"])
    message = str(error.value)
    assert "'a/b'" in message and "'c/d'" in message
    assert "Queues 'error.log' and 'Error-Log' both map to the physical queue 'Error-Log'" in message


def test_validate_names_returns_the_mapping_and_accepts_repeats():
    transport = CaseInsensitiveTransport("AmazonSQS", "x")
    assert transport.validate_names(["error.log", "audit", "error.log"]) == {"error.log": "error-log", "audit": "audit"}


# -- key=value connection strings --------------------------------------------------------------------


def test_parse_key_value_connection_string():
    parsed = parse_key_value_connection_string(
        "Data Source=db;Initial Catalog=sc; Password='a;b=c' ;Queue Schema=\"nsb\";;", "SQLServer"
    )
    assert parsed == {"data source": "db", "initial catalog": "sc", "password": "a;b=c", "queue schema": "nsb"}


@pytest.mark.parametrize("value", [None, "", "   "])
def test_empty_connection_string(value):
    with pytest.raises(TransportConfigurationError) as error:
        parse_key_value_connection_string(value, "PostgreSQL")
    assert "Transport PostgreSQL needs a connection string" in str(error.value)


def test_malformed_part_is_named_by_position_without_echoing_it():
    with pytest.raises(TransportConfigurationError) as error:
        parse_key_value_connection_string("Server=db;User Id=sc;%s;Port=5432" % SECRET, "PostgreSQL")
    message = str(error.value)
    assert "part 3 has no 'Key=Value' form" in message
    assert "Server=<SERVER>;Port=5432" in message
    assert SECRET not in message
