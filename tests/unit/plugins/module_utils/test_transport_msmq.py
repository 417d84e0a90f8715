# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MSMQ transport: naming, validation and the parameters of the PowerShell step on the Windows host."""

from __future__ import annotations

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils import _transport_msmq as msmq
from ansible_collections.servicecontrol.platform.plugins.module_utils._messages import Message
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    TransportConfigurationError,
    open_transport,
)


def make(connection_string=None):
    return open_transport("MSMQ", connection_string)


@pytest.mark.parametrize(
    ("name", "physical"),
    [
        ("error", "private$\\error"),
        ("error.log", "private$\\error.log"),
        ("Particular.ServiceControl@.", "private$\\Particular.ServiceControl"),
        ("audit@localhost", "private$\\audit"),
        ("audit@127.0.0.1", "private$\\audit"),
        ("private$\\error", "private$\\error"),
    ],
)
def test_physical_names(name, physical):
    assert make().physical_name(name) == physical


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("error@SQL01", "never creates remote MSMQ queues"),
        ("a@b@c", "more than one '@'"),
        ("@host", "empty queue part"),
        ("error@", "empty machine part"),
        ("", "empty"),
        ("a+b", "'\\+'"),
        ('a"b', "'\"'"),
        ("a\\b", "cannot hold"),
        ("q" * 125, "at most 124"),
    ],
)
def test_bad_names(name, message):
    with pytest.raises(InvalidQueueNameError, match=message):
        make().physical_name(name)


def test_names_are_case_insensitive():
    with pytest.raises(InvalidQueueNameError, match="both map to the physical queue"):
        make().validate_names(["Error", "error"])


def test_connection_string_must_be_empty():
    assert make("").physical_name("error") == "private$\\error"
    with pytest.raises(TransportConfigurationError, match="takes no connection string"):
        make("Server=x")


def test_open_refuses_and_points_to_the_role():
    transport = make()
    with pytest.raises(TransportConfigurationError) as error:
        transport.open()
    assert "Windows host that runs ServiceControl" in str(error.value)
    assert "servicecontrol.platform.queues role" in str(error.value)
    with pytest.raises(TransportConfigurationError, match="PowerShell step"):
        transport.ensure("error", check_mode=True)


def test_powershell_step_parameters_match_nservicebus():
    assert msmq.queue_creation_parameters("error.log", "NT SERVICE\\Particular.ServiceControl") == {
        "name": "error.log",
        "queue_name": "error.log",
        "path": ".\\private$\\error.log",
        "transactional": True,
        "permissions": [
            {
                "identity": "NT SERVICE\\Particular.ServiceControl",
                "rights": ["WriteMessage", "ReceiveMessage", "PeekMessage", "GetQueueProperties"],
                "access": "Allow",
            },
            {
                "identity": "BUILTIN\\Administrators",
                "sid": "S-1-5-32-544",
                "rights": ["FullControl"],
                "access": "Allow",
            },
        ],
    }


def test_powershell_step_needs_an_account_and_a_local_name():
    with pytest.raises(TransportConfigurationError, match="installing account"):
        msmq.queue_creation_parameters("error", " ")
    with pytest.raises(InvalidQueueNameError, match="remote"):
        msmq.queue_creation_parameters("error@SQL01", "svc")


def test_send_is_refused_after_the_name_is_checked():
    with pytest.raises(TransportConfigurationError) as error:
        make().send("error", Message("1", {}, b""))
    assert "nothing was sent" in str(error.value) and "PowerShell step on that host" in str(error.value)
    with pytest.raises(InvalidQueueNameError, match="remote"):
        make().send("error@OTHERHOST", Message("1", {}, b""))
