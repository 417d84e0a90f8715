#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: queue
short_description: Create or remove ServiceControl queues on any ServiceControl transport
version_added: 0.1.0
author: "servicecontrol.platform maintainers (@servicecontrol-platform)"
description:
  - Creates the queues ServiceControl and the BCDR pattern use (V(error), V(audit), V(error.log), V(error_backup),
    V(Particular.ServiceControl.staging), ...) exactly as NServiceBus and ServiceControl create them on the chosen
    transport, or removes them.
  - Queue names are the logical names ServiceControl settings and endpoints use; the module maps them to the
    transport's physical names (for example V(error.log) becomes C(error-log) on Amazon SQS).
  - Every name is checked against the transport's naming rules before anything is created, so a bad name fails the
    task without a half-made set of queues.
  - An existing queue whose unchangeable properties differ from what ServiceControl expects (for example a classic
    RabbitMQ queue where a quorum queue is needed) fails the task with a message that names the queue, the property,
    both values and how to fix it. Missing parts that can be added (for example the fanout exchange or binding of a
    conventional RabbitMQ queue) are added and the queue is reported as V(updated).
  - Messages in a queue are never touched, except that O(state=absent) deletes the queue with its messages.
options:
  queues:
    description:
      - Logical names of the queues, as ServiceControl settings name them.
      - Duplicates are handled once.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(present) creates missing queues; V(absent) deletes the queues (with their messages) and, on RabbitMQ with a
        conventional routing topology, the exchanges created with them.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - servicecontrol.platform.transport
  - servicecontrol.platform.attributes
  - servicecontrol.platform.attributes.ACTION_GROUP_TRANSPORT
attributes:
  check_mode:
    support: full
    details:
      - Reads the current state and reports what would be created or deleted, without changing anything.
  diff_mode:
    support: full
    details:
      - The diff shows, per queue, whether it exists and its transport properties, before and after.
      - The message count is left out of the diff because it changes independently of this module.
  idempotent:
    support: full
requirements:
  - The Python library of the chosen transport on the host that runs the module; only that one is imported.
notes:
  - RabbitMQ is managed through the management HTTP API (plugin C(rabbitmq_management)), which must be reachable
    from the host that runs the module; its URL is C(ManagementApiUrl) from the connection string, or derived from
    C(host) (C(http://<host>:15672), or C(https://<host>:15671) with C(useTls=true)).
seealso:
  - module: servicecontrol.platform.queue_info
  - name: ServiceControl transports
    description: The TransportType names and connection strings ServiceControl accepts.
    link: https://docs.particular.net/servicecontrol/transports
  - name: ServiceControl backup and disaster recovery (BCDR)
    description: Where the error_backup and audit_backup queues come from.
    link: https://docs.particular.net/servicecontrol/bcdr
"""

EXAMPLES = r"""
- name: Create the queues of an Error and an Audit instance with forwarding to BCDR backup queues
  servicecontrol.platform.queue:
    transport: RabbitMQ.QuorumConventionalRouting
    connection_string: "{{ vault_rabbitmq_connection_string }}"
    queues:
      - error
      - audit
      - error_backup
      - audit_backup
      - Particular.ServiceControl
      - Particular.ServiceControl.Errors
      - Particular.ServiceControl.staging

- name: Set the transport once for every transport module of a play
  module_defaults:
    group/servicecontrol.platform.transport:
      transport: SQLServer
      connection_string: "{{ vault_sqlserver_connection_string }}"
  block:
    - name: Create the error log queue ServiceControl forwards to
      servicecontrol.platform.queue:
        queues: [error.log]

- name: Quorum queues on RabbitMQ 4 with the delivery-limit policy NServiceBus receivers expect
  servicecontrol.platform.queue:
    transport: RabbitMQ.QuorumDirectRouting
    connection_string: "host=rabbit.example.com;username=sc;password={{ vault_rabbitmq_password }};useTls=true"
    queues: [error, audit]
    rabbitmq_delivery_limit_policy: true

- name: Remove the queues of a decommissioned backup instance
  servicecontrol.platform.queue:
    transport: AmazonSQS
    connection_string: "Region=eu-west-1;QueueNamePrefix=prod-"
    queues: [error_backup, audit_backup]
    state: absent
"""

RETURN = r"""
queues:
  description: What was done (or, in check mode, would be done) to each queue, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Logical queue name, as given.
      type: str
      sample: error.log
    physical_name:
      description: The name of the queue on the transport.
      type: str
      sample: error.log
    action:
      description:
        - V(created), V(updated) (the queue existed but parts such as a RabbitMQ exchange or binding were added),
          V(existed), V(deleted) or V(absent).
      type: str
      sample: created
    changed:
      description: Whether this queue was (or would be) changed.
      type: bool
      sample: true
    commands:
      description: The native operations performed, or that would be performed in check mode.
      type: list
      elements: str
      sample:
        - 'PUT /api/queues/%2F/error.log {"arguments": {"x-queue-type": "quorum"}, "auto_delete": false,
          "durable": true}'
        - 'PUT /api/exchanges/%2F/error.log {"arguments": {}, "auto_delete": false, "durable": true,
          "internal": false, "type": "fanout"}'
        - 'POST /api/bindings/%2F/e/error.log/q/error.log {"arguments": {}, "routing_key": ""}'
    notes:
      description: Remarks of the transport about this queue, for example why no delivery-limit policy was needed.
      type: list
      elements: str
      sample:
        - RabbitMQ 3.10.8 has no default delivery limit on quorum queues; no delivery-limit policy is needed.
  sample:
    - name: error
      physical_name: error
      action: created
      changed: true
      commands:
        - 'PUT /api/queues/%2F/error {"arguments": {"x-queue-type": "quorum"}, "auto_delete": false, "durable": true}'
        - 'PUT /api/exchanges/%2F/error {"arguments": {}, "auto_delete": false, "durable": true, "internal": false,
          "type": "fanout"}'
        - 'POST /api/bindings/%2F/e/error/q/error {"arguments": {}, "routing_key": ""}'
      notes: []
    - name: audit
      physical_name: audit
      action: existed
      changed: false
      commands: []
      notes: []
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (  # noqa: E402
    TransportDependencyError,
    TransportError,
    fail_on_transport_error,
    open_transport_from_module,
    transport_argument_spec,
)

# describe() keys shown in the diff; the message count is left out because it moves on its own.
DIFF_KEYS = ("physical_name", "exists", "properties")


def unique(names):
    """The names in their given order, each once."""
    return list(dict.fromkeys(names))


def diff_view(state):
    return {key: state.get(key) for key in DIFF_KEYS} if state else {"exists": False}


def summarize(outcome):
    return {
        "name": outcome["name"],
        "physical_name": outcome["physical_name"],
        "action": outcome["action"],
        "changed": bool(outcome["changed"]),
        "commands": list(outcome.get("commands") or []),
        "notes": list(outcome.get("notes") or []),
    }


def partial_failure_message(failed_name, error, done, not_attempted, check_mode):
    verb = "planned" if check_mode else "done"
    finished = ", ".join("%s (%s)" % (item["name"], item["action"]) for item in done) or "none"
    remaining = ", ".join(not_attempted) or "none"
    return (
        "Stopped at queue '%s': %s Queues already %s: %s. Not attempted: %s. Fix the cause and run the task again; "
        "queues already in the wanted state are left as they are." % (failed_name, error, verb, finished, remaining)
    )


def main():
    argument_spec = transport_argument_spec()
    argument_spec.update(
        queues=dict(type="list", elements="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    names = unique(module.params["queues"])
    if not names or any(not (name or "").strip() for name in names):
        module.fail_json(msg="Option queues must list at least one queue name, and no name may be empty.")

    transport = open_transport_from_module(module)
    try:
        transport.validate_names(names)
    except TransportError as exc:
        fail_on_transport_error(module, exc, changed=False)

    present = module.params["state"] == "present"
    outcomes = []
    current = None
    try:
        with transport:
            for current in names:
                if present:
                    outcomes.append(transport.ensure(current, check_mode=module.check_mode))
                else:
                    outcomes.append(transport.delete(current, check_mode=module.check_mode))
    except TransportError as exc:
        if current is None or isinstance(exc, TransportDependencyError):
            # Failed while connecting, before the first queue: nothing was touched.
            fail_on_transport_error(module, exc, changed=False, queues=[])
        done = [summarize(outcome) for outcome in outcomes]
        not_attempted = names[len(outcomes) + 1 :]
        fail_on_transport_error(
            module,
            TransportError(partial_failure_message(current, exc, done, not_attempted, module.check_mode)),
            changed=any(item["changed"] for item in done),
            queues=done,
        )

    queues = [summarize(outcome) for outcome in outcomes]
    result = dict(changed=any(item["changed"] for item in queues), queues=queues)
    if module._diff:
        result["diff"] = dict(
            before={outcome["name"]: diff_view(outcome.get("before")) for outcome in outcomes},
            after={outcome["name"]: diff_view(outcome.get("after")) for outcome in outcomes},
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
