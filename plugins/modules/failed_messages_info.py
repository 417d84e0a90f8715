#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: failed_messages_info
short_description: Read the failed messages of a ServiceControl Error instance - counts, groups, breakdowns, messages
version_added: 0.1.0
author: "servicecontrol.platform maintainers (@servicecontrol-platform)"
description:
  - Reads, without changing anything, what an Error instance holds in failed messages.
  - Counts per status from C(HEAD /api/errors?status=...) (C(Total-Count)); the open failure groups of one classifier
    from C(GET /api/recoverability/groups/{classifier}); and, from the unresolved messages
    (C(GET /api/errors?status=unresolved), 1000 per page), counts by receiving endpoint, message type, exception type
    and failed queue, and how many failed in the last O(recent_minutes).
  - With O(include_messages=true), the messages themselves, filtered by O(status), for reconciliation by unique id,
    read 5000 per page. When O(status) names every status, that one read of every failed message gives the counts,
    the breakdowns and RV(messages) alike, so they agree with each other.
  - Used by the replacement playbook for its quiet-period check and its reconciliation.
extends_documentation_fragment:
  - servicecontrol.platform.connection
  - servicecontrol.platform.attributes
  - servicecontrol.platform.attributes.INFO_MODULE
  - servicecontrol.platform.attributes.ACTION_GROUP_API
options:
  classifier:
    description: The classifier whose groups RV(groups) lists.
    type: str
    default: Exception Type and Stack Trace
  recent_minutes:
    description: RV(recent_failures) counts the unresolved messages whose C(time_of_failure) is this recent.
    type: int
    default: 15
  include_messages:
    description: Return RV(messages).
    type: bool
    default: false
  status:
    description: The statuses of the messages RV(messages) lists.
    type: list
    elements: str
    choices: [unresolved, retryissued, retry_issued, archived, resolved]
    default: [unresolved]
  message_fields:
    description:
      - The fields each entry of RV(messages) has; all of them when not set.
      - A reconciliation by unique id needs only C(id), C(message_id) and C(status). Fewer fields keep a result of
        thousands of messages small, and Ansible handles a small result much faster.
    type: list
    elements: str
    choices: [id, message_id, status, receiving_endpoint, message_type, exception_type, queue, time_of_failure,
              number_of_processing_attempts]
seealso:
  - module: servicecontrol.platform.failed_messages
"""

EXAMPLES = r"""
- name: Measure the quiet period
  servicecontrol.platform.failed_messages_info:
    url: http://servicecontrol:33333/api
    recent_minutes: 30
  register: failures
  delegate_to: localhost

- name: Refuse while messages still fail
  ansible.builtin.assert:
    that: failures.recent_failures == 0
    fail_msg: "{{ failures.recent_failures }} messages failed in the last 30 minutes"

- name: Every failed message the instance holds, for reconciliation
  servicecontrol.platform.failed_messages_info:
    url: http://servicecontrol:33333/api
    include_messages: true
    status: [unresolved, retryissued, archived, resolved]
    message_fields: [id, message_id, status]
  register: everything
  delegate_to: localhost
"""

RETURN = r"""
counts:
  description: Failed messages per status.
  returned: always
  type: dict
  sample: {unresolved: 42, retry_issued: 0, archived: 1200, resolved: 310}
groups:
  description: Open failure groups (with unresolved messages) of O(classifier).
  returned: always
  type: list
  elements: dict
  sample:
    - {id: 4b7f5e0a-3c55-41ab-7d3c-1c0d7a9e2f10, title: "System.InvalidOperationException: ...",
       count: 40, classifier: Exception Type and Stack Trace}
by_endpoint:
  description: Unresolved messages per receiving endpoint name.
  returned: always
  type: dict
  sample: {Sales: 30, Billing: 12}
by_message_type:
  description: Unresolved messages per message type.
  returned: always
  type: dict
by_exception_type:
  description: Unresolved messages per exception type.
  returned: always
  type: dict
by_queue:
  description: Unresolved messages per failed queue address.
  returned: always
  type: dict
recent_failures:
  description: Unresolved messages that failed in the last O(recent_minutes) (against the instance's clock).
  returned: always
  type: int
messages:
  description:
    - The messages with a status in O(status); each with C(id) (the unique failed-message id), C(message_id),
      C(status), C(receiving_endpoint), C(message_type), C(exception_type), C(queue), C(time_of_failure) and
      C(number_of_processing_attempts), or only those O(message_fields) names.
  returned: when O(include_messages=true)
  type: list
  elements: dict
http_calls:
  description: HTTP requests made.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402 - after the documentation, as ansible-doc expects

from ansible_collections.servicecontrol.platform.plugins.module_utils._api import (  # noqa: E402
    ServiceControlApiError,
    api_argument_spec,
    client_from_module,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._failed_messages import (  # noqa: E402
    DEFAULT_CLASSIFIER,
    MESSAGE_FIELDS,
    count_requests,
    read_overview,
)


def main():
    module = AnsibleModule(
        argument_spec=api_argument_spec(
            classifier={"type": "str", "default": DEFAULT_CLASSIFIER},
            recent_minutes={"type": "int", "default": 15},
            include_messages={"type": "bool", "default": False},
            status={
                "type": "list",
                "elements": "str",
                "choices": ["unresolved", "retryissued", "retry_issued", "archived", "resolved"],
                "default": ["unresolved"],
            },
            message_fields={"type": "list", "elements": "str", "choices": list(MESSAGE_FIELDS)},
        ),
        supports_check_mode=True,
    )
    params = module.params
    client = client_from_module(module)
    counter = count_requests(client)
    try:
        with client:
            result = read_overview(
                client,
                params["classifier"],
                params["recent_minutes"],
                params["include_messages"],
                params["status"],
                fields=params["message_fields"] or MESSAGE_FIELDS,
            )
    except ServiceControlApiError as exc:
        module.fail_json(**exc.fail_kwargs())
    module.exit_json(changed=False, http_calls=counter[0], **result)


if __name__ == "__main__":
    main()
