#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: queue_info
short_description: Read ServiceControl queues on any ServiceControl transport
version_added: 0.1.0
author: "servicecontrol.platform maintainers (@servicecontrol-platform)"
description:
  - Reports, for each queue, whether it exists, its physical name on the transport, how many messages wait in it and
    the transport properties that decide whether ServiceControl can use it (for example the RabbitMQ queue type,
    durability, arguments, exchange and binding).
  - Queue names are the logical names ServiceControl settings use; names the transport cannot represent fail the task
    before the transport is contacted.
  - Use it for pre-checks, for example to confirm that V(error) is empty before replacing an Error instance.
options:
  queues:
    description:
      - Logical names of the queues, as ServiceControl settings name them.
      - Duplicates are reported once.
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - servicecontrol.platform.transport
  - servicecontrol.platform.attributes
  - servicecontrol.platform.attributes.INFO_MODULE
  - servicecontrol.platform.attributes.ACTION_GROUP_TRANSPORT
requirements:
  - The Python library of the chosen transport on the host that runs the module; only that one is imported.
notes:
  - On RabbitMQ the message count comes from the management API, whose counters are refreshed every few seconds; right
    after a queue is created the count may be unknown (V(null)) and right after a publish it may be a few seconds old.
seealso:
  - module: servicecontrol.platform.queue
"""

EXAMPLES = r"""
- name: Read the ServiceControl queues
  servicecontrol.platform.queue_info:
    transport: RabbitMQ.QuorumConventionalRouting
    connection_string: "{{ vault_rabbitmq_connection_string }}"
    queues: [error, audit, error.log]
  register: sc_queues

- name: Stop when messages still wait in the error queue
  ansible.builtin.assert:
    that:
      - (sc_queues.queues | selectattr('name', 'equalto', 'error') | first).depth in [0, none]
    fail_msg: The error queue still holds messages; let the Error instance ingest them first.

- name: List queues that are missing
  ansible.builtin.debug:
    msg: "{{ sc_queues.queues | rejectattr('exists') | map(attribute='name') | list }}"
"""

RETURN = r"""
queues:
  description: One entry per queue, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Logical queue name, as given.
      type: str
      sample: error
    physical_name:
      description: The name of the queue on the transport.
      type: str
      sample: error
    exists:
      description: Whether the queue exists.
      type: bool
      sample: true
    depth:
      description:
        - Number of messages in the queue (on RabbitMQ, ready plus unacknowledged).
        - V(null) when the queue does not exist or the transport cannot tell yet.
      type: int
      sample: 42
    properties:
      description:
        - Transport-specific facts about the queue; empty when the queue does not exist.
        - On RabbitMQ C(vhost), C(queue_type), C(durable), C(auto_delete), C(exclusive), C(arguments),
          C(routing_topology), C(exchange) (conventional topology; C(null) when missing), C(binding) (conventional
          topology) and C(policy).
      type: dict
      sample:
        vhost: /
        queue_type: quorum
        durable: true
        auto_delete: false
        exclusive: false
        arguments:
          x-queue-type: quorum
        routing_topology: conventional
        exchange:
          type: fanout
          durable: true
          auto_delete: false
        binding: true
        policy: null
  sample:
    - name: error
      physical_name: error
      exists: true
      depth: 42
      properties:
        vhost: /
        queue_type: quorum
        durable: true
        auto_delete: false
        exclusive: false
        arguments:
          x-queue-type: quorum
        routing_topology: conventional
        exchange:
          type: fanout
          durable: true
          auto_delete: false
        binding: true
        policy: null
    - name: audit_backup
      physical_name: audit_backup
      exists: false
      depth: null
      properties: {}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (  # noqa: E402
    TransportError,
    fail_on_transport_error,
    open_transport_from_module,
    transport_argument_spec,
)


def main():
    argument_spec = transport_argument_spec()
    argument_spec.update(queues=dict(type="list", elements="str", required=True))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    names = list(dict.fromkeys(module.params["queues"]))
    if not names or any(not (name or "").strip() for name in names):
        module.fail_json(msg="Option queues must list at least one queue name, and no name may be empty.")

    transport = open_transport_from_module(module)
    queues = []
    try:
        transport.validate_names(names)
        with transport:
            for name in names:
                state = transport.describe(name)
                queues.append(
                    dict(
                        name=name,
                        physical_name=state["physical_name"],
                        exists=bool(state["exists"]),
                        depth=state.get("depth"),
                        properties=state.get("properties") or {},
                    )
                )
    except TransportError as exc:
        fail_on_transport_error(module, exc, queues=queues)

    module.exit_json(changed=False, queues=queues)


if __name__ == "__main__":
    main()
