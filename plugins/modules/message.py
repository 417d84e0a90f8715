#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: message
short_description: Send an NServiceBus message (a probe failure or audit) to a queue on any ServiceControl transport
version_added: 0.1.0
author: "servicecontrol.platform maintainers (@servicecontrol-platform)"
description:
  - Sends one message to an existing queue in the transport's native format, the way an NServiceBus endpoint sends it,
    so that a real ServiceControl instance (or the lab) reads it like any other message.
  - V(failed) builds what NServiceBus recoverability puts into the error queue - the headers of the original message
    plus every fault header (C(NServiceBus.FailedQ), C(NServiceBus.ExceptionInfo.*) with the inner exception type,
    help link, source, stack trace and data, C(NServiceBus.TimeOfFailure), the processing endpoint, machine and host)
    - so that an Error instance ingests it as a failed message.
  - V(audit) builds what an endpoint sends to the audit queue after processing a message (the original headers plus
    C(NServiceBus.ProcessingStarted), C(NServiceBus.ProcessingEnded) and the processing endpoint, machine and host).
  - V(custom) sends only the message id, the probe marker and the headers given.
  - Every message is marked as a probe with the header C(ServiceControl.Platform.Probe) (its value is the message id)
    unless O(probe=false), so that later steps can find it, and archive it by O(message_id) or by the returned
    RV(unique_message_id).
  - Used to prove ServiceControl forwarding in a backup and disaster-recovery setup (a probe failure and a probe audit
    that must show up on the primary and on the backup) and to check an Error-instance replacement (a probe failure
    that stays in the error queue while ingestion is paused).
  - The queue must exist; the module never creates one (use M(servicecontrol.platform.queue)).
options:
  queue:
    description:
      - Logical name of the queue, as ServiceControl settings name it, for example V(error), V(audit) or
        V(error_backup). The module maps it to the transport's physical name.
    type: str
    required: true
  kind:
    description:
      - What the message looks like. V(failed) and V(audit) are described above; V(custom) carries only
        C(NServiceBus.MessageId), the probe marker and O(headers).
    type: str
    choices: [failed, audit, custom]
    default: failed
  message_id:
    description:
      - The NServiceBus message id (C(NServiceBus.MessageId)). When not given, a new GUID, returned as
        RV(message_id).
      - Give one to make repeated sends recognisable; each run still sends another message (see the notes).
    type: str
  headers:
    description:
      - Headers to add or to override, for example C(NServiceBus.ExceptionInfo.Message) or C(NServiceBus.Retries).
        Values are sent as strings; a V(null) value removes the header the module would otherwise send.
      - C(NServiceBus.MessageId) is set with O(message_id), not here.
      - A V(failed) message without C(NServiceBus.FailedQ) is not imported by ServiceControl but stored as a failed
        import; the result's RV(notes) say so.
    type: dict
  body:
    description:
      - The message body, sent as UTF-8.
      - When not given, a small JSON document naming the probe,
        C({"Probe":"<message id>","SentBy":"servicecontrol.platform"}).
    type: str
  endpoint:
    description:
      - V(failed) and V(audit) only. The endpoint the message was sent by (C(NServiceBus.OriginatingEndpoint),
        C(NServiceBus.ReplyToAddress)) and, unless O(processing_endpoint) says otherwise, the one that processed it.
      - When not given, V(ServiceControl.Platform.Probe).
    type: str
  processing_endpoint:
    description:
      - V(failed) and V(audit) only. The endpoint that processed (or failed to process) the message
        (C(NServiceBus.ProcessingEndpoint)). ServiceControl derives the unique message id from it.
      - When not given, O(endpoint).
    type: str
  failed_queue:
    description:
      - V(failed) only. The address of the queue whose processing failed (C(NServiceBus.FailedQ)), where ServiceControl
        sends a retry.
      - When not given, the processing endpoint's name. On PostgreSQL endpoints write their quoted address, for example
        C("public"."Sales"); give that form if the probe is ever to be retried there.
    type: str
  probe:
    description:
      - Mark the message with the header C(ServiceControl.Platform.Probe) whose value is the message id.
    type: bool
    default: true
extends_documentation_fragment:
  - servicecontrol.platform.transport
  - servicecontrol.platform.attributes
  - servicecontrol.platform.attributes.ACTION_GROUP_TRANSPORT
attributes:
  check_mode:
    support: full
    details:
      - Connects, checks that the queue exists and reports the message and the native operation that would send it,
        without sending anything. RV(native_message_id) is then V(null) unless the transport uses the message id itself.
  diff_mode:
    support: full
    details:
      - The diff shows the message added to the queue (queue, message id, headers and body).
  idempotent:
    support: none
    details:
      - A message is an event, not a state. Each run outside check mode sends another message, with a new id unless
        O(message_id) is given. With the same O(message_id) and processing endpoint ServiceControl files a failed
        message under the same unique id, as another processing attempt.
requirements:
  - The Python library of the chosen transport on the host that runs the module; only that one is imported
    (C(azure-servicebus) sends through its C(ServiceBusClient) over AMQP, or AMQP over WebSockets when the connection
    string says C(TransportType=AmqpWebSockets)).
notes:
  - "Native formats. RabbitMQ: published through the management API to the default exchange with the queue as
    routing key, persistent, with C(message_id), C(correlation_id), C(reply_to), C(type), C(content_type) and every
    header in the headers table. PostgreSQL and SQLServer: the transport's INSERT with a new row id, the headers as
    JSON and the body. AmazonSQS: the wrapped JSON transport message with the C(NServiceBus.MessageId) attribute
    (bodies above 1 MiB, which NServiceBus would put into S3, are refused). AzureStorageQueue: the base64
    MessageWrapper, kept 30 days. NetStandardAzureServiceBus: the body with a new GUID as MessageId and every header as
    an application property. LearningTransport: C(<queue>/.bodies/<id>.body.txt), then C(<queue>/<id>.metadata.txt)."
  - V(MSMQ) is refused, because MSMQ messages are written on the Windows host that runs ServiceControl, which this
    module cannot reach.
  - What was verified how. Live tests send to RabbitMQ 3.10, PostgreSQL 15, moto (SQS), Azurite and the filesystem and
    read the message back with the brokers' own clients; a lab Error instance ingests the failed messages sent to its
    error queue on the Learning transport and RabbitMQ with the same message and unique ids. SQLServer (exact SQL and
    parameters) and NetStandardAzureServiceBus (exact ServiceBusMessage) are unit-tested only; no real ServiceControl
    was run.
seealso:
  - module: servicecontrol.platform.queue
  - module: servicecontrol.platform.queue_info
  - name: ServiceControl backup and disaster recovery (BCDR)
    description: The forwarding the probe messages prove.
    link: https://docs.particular.net/servicecontrol/bcdr
"""

EXAMPLES = r"""
- name: Send a probe failure into the error queue
  servicecontrol.platform.message:
    transport: RabbitMQ.QuorumConventionalRouting
    connection_string: "{{ vault_rabbitmq_connection_string }}"
    queue: error
    kind: failed
  register: probe_failure

- name: Wait for the Error instance to ingest it
  ansible.builtin.uri:
    url: "http://servicecontrol:33333/api/errors/{{ probe_failure.unique_message_id }}"
  register: ingested
  until: ingested.status == 200
  retries: 30
  delay: 2

- name: Send a probe audit from the Sales endpoint into the audit queue
  servicecontrol.platform.message:
    transport: SQLServer
    connection_string: "{{ vault_sqlserver_connection_string }}"
    queue: audit
    kind: audit
    endpoint: Sales

- name: Send a message without NServiceBus.FailedQ, which ServiceControl stores as a failed import
  servicecontrol.platform.message:
    transport: LearningTransport
    connection_string: /var/lib/servicecontrol/.learningtransport
    queue: error
    kind: failed
    headers:
      NServiceBus.FailedQ: null
"""

RETURN = r"""
message_id:
  description: The NServiceBus message id (C(NServiceBus.MessageId)), the one given or a new GUID.
  returned: success
  type: str
  sample: 6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e
unique_message_id:
  description:
    - The id ServiceControl files the message under, the C(id) of C(/api/errors/{id}) for a failed message and the
      C(unique_message_id) of an audited one - the deterministic GUID of the message id and the processing endpoint.
    - V(null) when ServiceControl could not derive one (no message id, or no processing endpoint).
  returned: success
  type: str
  sample: 0b8ecb1c-95c0-1f2e-7c39-3a8c4f2d9e61
native_message_id:
  description:
    - The transport's own id of the message - the AMQP C(message_id) on RabbitMQ (the message id), the row id on
      PostgreSQL and SQLServer, the SQS or Azure Storage message id, the Service Bus MessageId or the Learning file
      name.
    - V(null) in check mode, unless the transport uses the message id itself.
  returned: success
  type: str
  sample: 9d7b6a54-3c21-4e0f-9a8b-7c6d5e4f3a21
kind:
  description: The kind of message sent.
  returned: success
  type: str
  sample: failed
queue:
  description: The logical queue name, as given.
  returned: success
  type: str
  sample: error
physical_queue:
  description: The queue's name (or table, or directory) on the transport.
  returned: success
  type: str
  sample: '"public"."error"'
headers:
  description: The headers sent (or that check mode would send), after O(headers) were applied.
  returned: success
  type: dict
  sample:
    NServiceBus.MessageId: 6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e
    NServiceBus.FailedQ: ServiceControl.Platform.Probe
    NServiceBus.ExceptionInfo.ExceptionType: ServiceControl.Platform.ProbeException
    NServiceBus.TimeOfFailure: "2026-08-21 10:15:30:123456 Z"
    ServiceControl.Platform.Probe: 6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e
commands:
  description: The native operation that sent the message, or that check mode would run.
  returned: success
  type: list
  elements: str
  sample:
    - "POST /api/exchanges/%2F/amq.default/publish routing_key=error message_id=6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e
      delivery_mode=2 (37 headers, 58 bytes)"
notes:
  description: Remarks about the message, for example that ServiceControl will store it as a failed import.
  returned: success
  type: list
  elements: str
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.servicecontrol.platform.plugins.module_utils._messages import (  # noqa: E402
    KINDS,
    MessageError,
    build_message,
    import_problems,
    unique_message_id,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (  # noqa: E402
    TransportError,
    fail_on_transport_error,
    open_transport_from_module,
    transport_argument_spec,
)


def argument_spec():
    spec = transport_argument_spec()
    spec.update(
        queue=dict(type="str", required=True),
        kind=dict(type="str", choices=list(KINDS), default="failed"),
        message_id=dict(type="str"),
        headers=dict(type="dict"),
        body=dict(type="str"),
        endpoint=dict(type="str"),
        processing_endpoint=dict(type="str"),
        failed_queue=dict(type="str"),
        probe=dict(type="bool", default=True),
    )
    return spec


def message_from_params(params):
    """The Message the options describe; raises MessageError when they contradict each other."""
    return build_message(
        params["kind"],
        message_id=params["message_id"],
        headers=params["headers"],
        body=params["body"],
        endpoint=params["endpoint"],
        processing_endpoint=params["processing_endpoint"],
        failed_queue=params["failed_queue"],
        probe=params["probe"],
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    if not (params["queue"] or "").strip():
        module.fail_json(msg="Option queue is empty; give the queue's name, e.g. 'error'.", changed=False)
    try:
        message = message_from_params(params)
    except MessageError as exc:
        module.fail_json(msg=str(exc), changed=False)

    transport = open_transport_from_module(module)
    try:
        # The name is checked before the transport is contacted.
        transport.physical_name(params["queue"])
        with transport:
            sent = transport.send(params["queue"], message, check_mode=module.check_mode)
    except TransportError as exc:
        fail_on_transport_error(module, exc, changed=False)

    result = dict(
        changed=True,
        message_id=sent["message_id"],
        unique_message_id=unique_message_id(sent["headers"]),
        native_message_id=sent["native_message_id"],
        kind=params["kind"],
        queue=sent["name"],
        physical_queue=sent["physical_name"],
        headers=sent["headers"],
        commands=sent["commands"],
        notes=import_problems(params["kind"], sent["headers"]) + sent["notes"],
    )
    if module._diff:
        result["diff"] = dict(
            before={},
            after=dict(
                queue=sent["physical_name"],
                message_id=sent["message_id"],
                headers=sent["headers"],
                body=message.body.decode("utf-8", "replace"),
            ),
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
