#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: failed_messages
short_description: Retry or archive a ServiceControl Error instance's failed messages by rules, and wait until done
version_added: 0.1.0
author: "servicecontrol.platform maintainers (@servicecontrol-platform)"
description:
  - Drains the unresolved failed messages of one ServiceControl Error instance by rules, as the "Replacing an Error
    instance" procedure asks (retry or archive every failed message until none is unresolved), and as a pre-clean
    while the instance still ingests.
  - Each unresolved message goes to the first rule that matches it; messages no rule matches get O(default_action).
  - Uses ServiceControl's bulk routes rather than one request per message. A whole failure group goes by
    C(POST /api/recoverability/groups/{id}/errors/retry) or C(.../archive). A rule that selects exactly one failed
    queue or endpoint retries by C(POST /api/errors/queues/{queue}/retry) or C(POST /api/errors/{endpoint}/retry/all).
    O(default_action=retry) goes by C(POST /api/errors/retry/all), sent only once the archives are carried out,
    since it retries every unresolved message. Everything else goes by id batches of 1000 to C(POST /api/errors/retry)
    or C(POST /api/errors/archive). Lists are read 1000 per page.
  - The module lists messages (C(GET /api/errors?status=unresolved)) and a group's members only when a decision needs
    them; a failed-message view does not say which groups the message is in.
  - ServiceControl carries the requests out asynchronously (bulk retries are staged in batches of 1000 and dispatched
    by a loop that runs every 30 seconds), so by default the task then waits, polling counts (C(HEAD /api/errors)),
    and prints progress lines on the controller.
  - "The duplicate-retry guard: retrying on a backup instance (one that ingests the queue a primary forwards to) can
    send a message to its endpoint twice, once from each instance. On a backup every retry is refused unless
    O(allow_backup_retry=true); even then only messages whose copy on the primary (O(primary_url), same unique id)
    is still unresolved and was never retried are retried, the others are reported as skipped. Archiving is allowed."
notes:
  - The waiting runs in the action plugin, on the controller, which must reach O(url).
  - Rules are matched against what the instance reports when the task starts; messages that fail while the task runs
    (with O(wait_for=dispatched), while the instance still ingests) are left for the next run, except that
    C(errors/retry/all) for O(default_action=retry) takes every message unresolved when ServiceControl handles it.
  - "Facts used: docs/reference/servicecontrol.md sections 2.3 to 2.7 (routes, shapes, batch sizes, paging)."
extends_documentation_fragment:
  - servicecontrol.platform.connection
  - servicecontrol.platform.attributes
  - servicecontrol.platform.attributes.ACTION_GROUP_API
attributes:
  check_mode:
    support: full
    details:
      - Reads only, and returns the plan with the count per rule and what would be retried and archived.
  diff_mode:
    support: full
    details:
      - The unresolved count before, and after (expected) with what is retried and archived.
  idempotent:
    support: full
    details:
      - When nothing unresolved matches a rule or the default action, nothing is sent and RV(changed) is false.
options:
  rules:
    description:
      - Rules applied in order; the first rule whose given match keys all match a message wins.
      - A rule with no match key matches every message.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name used in RV(plan) and messages; default C(rule N). Names must be unique.
        type: str
      action:
        description: What to do with the messages the rule matches.
        type: str
        choices: [retry, archive]
        required: true
      group_id:
        description: Failure group id (case-insensitive), as C(GET /api/recoverability/groups/{classifier}) reports it.
        type: str
      group_title:
        description:
          - Failure group title; exact, or a shell-style pattern when it contains C(*) or C(?) (C([) is literal).
          - "Under the default classifier a title reads C(<exception type>: <first stack frame's Type.Method(params)>),
            for example C(System.FormatException: Billing.ChargeHandler.Handle(ChargeCard, IMessageHandlerContext))."
        type: str
      classifier:
        description:
          - The classifier the group keys refer to; only with O(rules[].group_id) or O(rules[].group_title).
          - One of C(Exception Type and Stack Trace), C(Message Type), C(Endpoint Address),
            C(Endpoint Instance), C(Endpoint Name).
          - Defaults to C(Exception Type and Stack Trace), ServiceControl's default classifier.
        type: str
      endpoint:
        description: Receiving endpoint name (C(receiving_endpoint.name), case-insensitive).
        type: str
      message_type:
        description: Message type full name (C(message_type)).
        type: str
      exception_type:
        description: Exception type full name (C(exception.exception_type)).
        type: str
      queue:
        description: Failed queue address (C(queue_address), case-insensitive).
        type: str
      older_than:
        description:
          - Minimum age of the failure (C(time_of_failure), against the instance's clock), as V(90s), V(30m), V(2h)
            or V(7d).
        type: str
  default_action:
    description: What to do with unresolved messages no rule matched.
    type: str
    choices: [retry, archive, keep]
    default: keep
  wait:
    description: Wait until ServiceControl has carried the requests out (see O(wait_for)).
    type: bool
    default: true
  wait_for:
    description:
      - V(none_unresolved) (the instance is paused, C(IngestErrorMessages=false)) is done when no message is
        unresolved (C(HEAD /api/errors?status=unresolved) is 0, apart from those kept by O(default_action=keep) or
        skipped by the guard). Re-failures go back to the error queue, which nobody ingests, so they do not count.
      - V(dispatched) (the instance still ingests, as in a pre-clean) is done when nothing acted on is still waiting
        for dispatch (no unresolved message left that was last modified before the task started, apart from those
        kept or skipped). Re-failures that come back as unresolved are counted in RV(refailed), not in RV(remaining).
    type: str
    choices: [none_unresolved, dispatched]
    default: none_unresolved
  timeout:
    description:
      - Seconds to wait in all (for the archives before C(errors/retry/all), and for the end); on timeout the task
        fails saying what is still waiting. The requests already sent stay accepted.
      - In this module O(timeout) is the wait; the per-request HTTP timeout is O(request_timeout).
    type: int
    default: 1800
  request_timeout:
    description: Seconds to wait for a connection and for each response (the O(timeout) of the other API modules).
    type: float
    default: 30
  poll_interval:
    description: Seconds between two polls while waiting.
    type: int
    default: 5
  backup:
    description: This instance is a backup in the topology (it ingests a primary's error log queue).
    type: bool
    default: false
  primary_url:
    description:
      - API address of the primary Error instance whose C(ServiceBus/ErrorLogQueue) this instance may ingest.
      - When given, the instance also counts as a backup when its configuration says so (its C(error_queue) is the
        primary's C(error_log_queue) and the primary has C(forward_error_messages) on), and the guard checks each
        message's copy there. The other connection options (token, TLS) are used for it too.
    type: str
  allow_backup_retry:
    description:
      - Retry on a backup anyway, but only the messages whose copy on O(primary_url) is still unresolved with a single
        processing attempt (never retried). Needs O(primary_url). Retries then go by id only.
    type: bool
    default: false
seealso:
  - module: servicecontrol.platform.failed_messages_info
  - name: Replacing an Error instance
    description: The procedure this module implements the drain step of.
    link: https://docs.particular.net/servicecontrol/migrations/replacing-error-instances
"""

EXAMPLES = r"""
- name: Pre-clean while the instance still ingests - archive known poison messages, retry the rest
  servicecontrol.platform.failed_messages:
    url: http://servicecontrol:33333/api
    rules:
      - name: poison orders
        action: archive
        group_title: "System.FormatException: Sales.PlaceOrderHandler*"
      - name: old billing failures
        action: archive
        endpoint: Billing
        older_than: 7d
    default_action: retry
    wait_for: dispatched
  register: preclean
  delegate_to: localhost

- name: Drain while ingestion is paused, until none is unresolved
  servicecontrol.platform.failed_messages:
    url: http://servicecontrol:33333/api
    default_action: retry
    wait_for: none_unresolved
    timeout: 3600
  delegate_to: localhost

- name: Show what would be done (check mode), per rule
  servicecontrol.platform.failed_messages:
    url: http://servicecontrol:33333/api
    rules:
      - {name: sales queue, action: retry, queue: Sales}
    default_action: archive
  check_mode: true
  register: plan
  delegate_to: localhost

- name: Retry on a backup only what the primary never retried
  servicecontrol.platform.failed_messages:
    url: http://servicecontrol-backup:33333/api
    primary_url: http://servicecontrol:33333/api
    backup: true
    allow_backup_retry: true
    default_action: retry
    wait_for: dispatched
  delegate_to: localhost
"""

RETURN = r"""
changed:
  description: True when at least one retry or archive request was sent (or, in check mode, would be).
  returned: always
  type: bool
plan:
  description:
    - Per rule, then C(default), the action, the number of unresolved messages it takes and the route(s) used
      (comma-separated; V(null) when the rule takes nothing). The C(default) entry with action C(keep) counts the
      messages left unresolved.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: poison orders, action: archive, count: 120, route: recoverability/groups/4b7f.../errors/archive}
    - {name: default, action: retry, count: 9880, route: errors/retry/all}
retried:
  description: Messages retried (in check mode, that would be).
  returned: always
  type: int
archived:
  description: Messages archived (in check mode, that would be).
  returned: always
  type: int
skipped:
  description: Messages a rule or the default chose for retry that the backup guard skipped (their primary copy
    was retried, resolved or archived, or is not there).
  returned: always
  type: int
retried_ids:
  description: Unique failed-message ids (C(id) of the failed-message view) retried.
  returned: always
  type: list
  elements: str
archived_ids:
  description: Unique failed-message ids archived.
  returned: always
  type: list
  elements: str
skipped_ids:
  description: Unique failed-message ids the backup guard skipped.
  returned: always
  type: list
  elements: str
refailed:
  description:
    - With O(wait_for=dispatched), messages acted on that came back as unresolved (failed again) while waiting.
    - Always 0 with O(wait_for=none_unresolved), whose re-failures wait in the error queue, and when not waiting.
  returned: always
  type: int
remaining:
  description:
    - Unresolved messages at the end (with O(wait_for=dispatched), without the re-failures). In check mode, those
      that would be left (kept or skipped).
  returned: always
  type: int
unresolved:
  description: Unresolved messages when the task started.
  returned: always
  type: int
backup:
  description: Whether the instance was treated as a backup (O(backup), or detected from O(primary_url)).
  returned: always
  type: bool
strategy:
  description: How the plan was made (C(nothing unresolved), C(default only), C(whole groups), C(by message)).
  returned: always
  type: str
http_calls:
  description: HTTP requests made (both instances, retries and polls included).
  returned: always
  type: int
elapsed:
  description: Seconds the task took.
  returned: always
  type: float
"""

import datetime as dt  # noqa: E402 - after the documentation, as ansible-doc expects
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402 - after the documentation, as ansible-doc expects

from ansible_collections.servicecontrol.platform.plugins.module_utils._api import (  # noqa: E402
    ServiceControlApiError,
    api_argument_spec,
    client_from_module,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._failed_messages import (  # noqa: E402
    DrainError,
    Reader,
    WaitState,
    build_plan,
    count_requests,
    drain_options,
    execute,
    finish,
    is_backup_of,
    parse_rules,
    primary_filter,
    timeout_message,
    wait,
)


def _archives_waiter(reader, deadline, poll_interval):
    def wait_for_archives(target):
        while reader.count("archived") < target:
            if time.monotonic() + poll_interval > deadline:
                raise DrainError(
                    "timed out waiting for the archive requests to be carried out before errors/retry/all; "
                    "the archives were accepted and errors/retry/all was not sent; run the task again"
                )
            time.sleep(poll_interval)

    return wait_for_archives


def run(module, client, primary, counters, started):
    params = module.params
    rules = parse_rules(params["rules"])
    backup = params["backup"]
    if primary is not None:
        mine = client.get_json("configuration")
        theirs = primary.get_json("configuration")
        backup = backup or is_backup_of(mine, theirs)
    retry_filter = None
    if backup and params["allow_backup_retry"]:
        if primary is None:
            raise DrainError(
                "allow_backup_retry is set for the backup %s but primary_url is not: the guard cannot check the "
                "primary's copies; set primary_url to the primary Error instance's API" % client.api_url
            )
        retry_filter = primary_filter(primary)
    reader = Reader(client)
    plan = build_plan(reader, rules, params["default_action"], retry_filter)
    result = {
        "changed": bool(plan.retried or plan.archived),
        "plan": plan.report(),
        "retried": plan.retried,
        "archived": plan.archived,
        "skipped": len(plan.skipped_ids),
        "retried_ids": sorted(set(plan.retried_ids)),
        "archived_ids": sorted(set(plan.archived_ids)),
        "skipped_ids": plan.skipped_ids,
        "refailed": 0,
        "remaining": plan.kept,
        "unresolved": plan.unresolved,
        "backup": bool(backup),
        "strategy": plan.strategy,
    }
    if backup and not params["allow_backup_retry"] and plan.retried:
        raise DrainError(
            "%s is a backup Error instance: retrying here can send a message twice (once from the primary too). "
            "%d message(s) would be retried, so nothing was done. Archive them instead, retry on the primary, or set "
            "allow_backup_retry with primary_url to retry only what the primary never retried"
            % (client.api_url, plan.retried),
            dict(result, changed=False),
        )
    if module._diff:
        result["diff"] = {
            "before": {"unresolved": plan.unresolved},
            "after": {"unresolved": plan.kept, "retried": plan.retried, "archived": plan.archived},
        }
    state = WaitState.from_plan(plan, params["wait_for"], reader.now or dt.datetime.now(dt.timezone.utc))
    if module.check_mode or not result["changed"]:
        return result, None
    deadline = started + params["timeout"]
    execute(client, plan, _archives_waiter(reader, deadline, params["poll_interval"]))
    if params["wait"]:
        outcome = wait(reader, state, max(0, deadline - time.monotonic()), params["poll_interval"])
        result.update(finish(reader, state))
        if outcome["timed_out"]:
            raise DrainError(timeout_message(state, outcome, params["timeout"], result["plan"]), result)
    else:
        result["remaining"] = reader.count("unresolved")
    return result, state


def main():
    module = AnsibleModule(
        argument_spec=api_argument_spec(
            **drain_options(),
        ),
        supports_check_mode=True,
    )
    started = time.monotonic()
    client = client_from_module(module, timeout=module.params["request_timeout"])
    counters = [count_requests(client)]
    primary = None
    if module.params["primary_url"]:
        primary = client_from_module(module, url=module.params["primary_url"], timeout=module.params["request_timeout"])
        counters.append(count_requests(primary))
    partial = {}
    try:
        with client:
            result, state = run(module, client, primary, counters, started)
    except DrainError as exc:
        partial = exc.args[1] if len(exc.args) > 1 else {}
        partial.update(http_calls=sum(c[0] for c in counters), elapsed=round(time.monotonic() - started, 3))
        module.fail_json(msg=exc.args[0], **partial)
    except ServiceControlApiError as exc:
        module.fail_json(http_calls=sum(c[0] for c in counters), **exc.fail_kwargs())
    finally:
        if primary is not None:
            primary.close()
    result["http_calls"] = sum(c[0] for c in counters)
    result["elapsed"] = round(time.monotonic() - started, 3)
    if state is not None:
        # For the action plugin, which waits on the controller (it removes this key).
        result["wait_state"] = state
    module.exit_json(**result)


if __name__ == "__main__":
    main()
