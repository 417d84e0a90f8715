# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""ServiceControl's ``MSMQ`` transport: naming, validation and the plan for a thin PowerShell step.

MSMQ queues are private queues on the Windows host that runs ServiceControl, so nothing here talks
to MSMQ. The controller decides (names, transactional, permissions); the Windows host only runs a
PowerShell step with the structured parameters ``queue_creation_parameters`` returns.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    Transport,
    TransportConfigurationError,
)

TRANSPORT_TYPE = "MSMQ"
PRIVATE_PREFIX = "private$\\"
# MSMQ limits a queue name to 124 characters.
QUEUE_NAME_LIMIT = 124
# MSMQ path names cannot contain these (the backslash only separates machine, private$ and name).
INVALID_QUEUE_CHARACTERS = frozenset('\\+"\r\n')
LOCAL_MACHINE_NAMES = frozenset((".", "localhost"))
# What NServiceBus grants on a queue it creates (MsmqQueueCreator): the installing account may send,
# receive, peek and read properties; the local Administrators group gets full control.
INSTALLER_RIGHTS = ("WriteMessage", "ReceiveMessage", "PeekMessage", "GetQueueProperties")
ADMINISTRATORS_GROUP = "BUILTIN\\Administrators"
ADMINISTRATORS_SID = "S-1-5-32-544"  # well-known SID, so a localised Windows resolves the same group

NOT_SENT_HERE_MESSAGE = (
    "MSMQ messages are written into private queues on the Windows host that runs ServiceControl, which this module "
    "cannot reach: nothing was sent. MSMQ puts the NServiceBus headers as XML into the message's Extension property "
    "(docs/reference/transports.md §7.3); send the message with a PowerShell step on that host (System.Messaging), "
    "or run the probe on another transport."
)
NOT_HERE_MESSAGE = (
    "MSMQ queues live on the Windows host that runs ServiceControl and cannot be managed from this host. "
    "Use the servicecontrol.platform.queues role targeting that Windows host: it creates them with a "
    "PowerShell step (transactional private queues with NServiceBus's permissions)."
)


def _is_local_machine(machine):
    lowered = machine.strip().lower()
    if lowered in LOCAL_MACHINE_NAMES:
        return True
    try:
        return ipaddress.ip_address(lowered).is_loopback
    except ValueError:
        return False


def queue_name_of(name):
    """The private queue name for a logical name/address (``queue`` or ``queue@machine``).

    Raises InvalidQueueNameError for names MSMQ cannot hold and for remote addresses, which
    NServiceBus never creates (it creates only queues on its own machine).
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidQueueNameError("Queue name %r is empty; give the queue's name, e.g. 'error'." % (name,))
    parts = name.split("@")
    if len(parts) > 2:
        raise InvalidQueueNameError(
            "Queue '%s' has more than one '@'; an MSMQ address is 'queue' or 'queue@machine'." % name
        )
    queue = parts[0]
    if not queue.strip():
        raise InvalidQueueNameError("Queue '%s' has an empty queue part before '@'." % name)
    if len(parts) == 2:
        machine = parts[1]
        if not machine.strip():
            raise InvalidQueueNameError("Queue '%s' has an empty machine part after '@'." % name)
        if not _is_local_machine(machine):
            raise InvalidQueueNameError(
                "Queue '%s' is on machine '%s'; NServiceBus never creates remote MSMQ queues. Create '%s' on '%s' "
                "itself (target that host) and use the plain queue name there." % (name, machine, queue, machine)
            )
    if queue.lower().startswith(PRIVATE_PREFIX):
        queue = queue[len(PRIVATE_PREFIX) :]
    bad = sorted({char for char in queue if char in INVALID_QUEUE_CHARACTERS})
    if bad:
        raise InvalidQueueNameError(
            "Queue '%s' contains %s, which MSMQ queue names cannot hold. Use another name."
            % (name, ", ".join(repr(char) for char in bad))
        )
    if len(queue) > QUEUE_NAME_LIMIT:
        raise InvalidQueueNameError(
            "Queue '%s' is %d characters long; MSMQ queue names hold at most %d. Use a shorter name."
            % (name, len(queue), QUEUE_NAME_LIMIT)
        )
    return queue


def queue_creation_parameters(name, installing_account):
    """Structured parameters for the PowerShell step that creates one queue as NServiceBus does.

    ``installing_account`` is the account ServiceControl runs as (NServiceBus's installer user); it gets
    send/receive/peek/get-properties rights, BUILTIN\\Administrators gets FullControl. The step must
    leave an existing queue untouched (NServiceBus does not change permissions of existing queues).
    """
    if not isinstance(installing_account, str) or not installing_account.strip():
        raise TransportConfigurationError(
            "MSMQ queue '%s' needs the installing account (the account ServiceControl runs as, e.g. "
            "'NT SERVICE\\Particular.ServiceControl' or 'DOMAIN\\svc-servicecontrol') to grant it access." % name
        )
    queue = queue_name_of(name)
    return {
        "name": name,
        "queue_name": queue,
        "path": ".\\" + PRIVATE_PREFIX + queue,
        "transactional": True,
        "permissions": [
            {"identity": installing_account.strip(), "rights": list(INSTALLER_RIGHTS), "access": "Allow"},
            {
                "identity": ADMINISTRATORS_GROUP,
                "sid": ADMINISTRATORS_SID,
                "rights": ["FullControl"],
                "access": "Allow",
            },
        ],
    }


class MsmqTransport(Transport):
    """Names and validation only; the queues themselves are made on the Windows host (see NOT_HERE_MESSAGE)."""

    def __init__(self, transport_type, connection_string, variant=None, options=None):
        super().__init__(transport_type, connection_string, variant=variant, options=options)
        if connection_string is not None and str(connection_string).strip():
            raise TransportConfigurationError(
                "Transport MSMQ takes no connection string (ServiceControl's MSMQ connection string is empty); "
                "remove it."
            )

    def physical_name(self, name):
        return PRIVATE_PREFIX + queue_name_of(name)

    def physical_key(self, physical):
        # MSMQ queue names are case-insensitive.
        return physical.lower()

    def open(self):
        raise TransportConfigurationError(NOT_HERE_MESSAGE)

    def describe(self, name):
        raise TransportConfigurationError(NOT_HERE_MESSAGE)

    def ensure(self, name, check_mode=False):
        raise TransportConfigurationError(NOT_HERE_MESSAGE)

    def delete(self, name, check_mode=False):
        raise TransportConfigurationError(NOT_HERE_MESSAGE)

    def depth(self, name):
        raise TransportConfigurationError(NOT_HERE_MESSAGE)

    def send(self, name, message, check_mode=False):
        # The name is still checked, so a bad one is reported as such.
        self.physical_name(name)
        raise TransportConfigurationError(NOT_SENT_HERE_MESSAGE)
