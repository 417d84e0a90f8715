#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: run_state
short_description: Write a run's state, kept in a fact, to a JSON file on the controller
version_added: 0.1.0
author: "servicecontrol.platform maintainers (@servicecontrol-platform)"
description:
  - Writes the value of the fact O(fact) to O(path) as indented JSON, atomically (a reader sees the old file or
    the new one, never half of one).
  - Keep the state in the fact with M(ansible.builtin.set_fact), merging what each step observed with the
    P(servicecontrol.platform.run_state_merge#filter) filter. Only a fact set that way outranks every other
    source of the variable, so later tasks and plays read what was recorded.
  - This is how C(servicecontrol.platform.replace_error_instance) records each phase, so an interrupted run
    resumes from what it observed. It runs in the action plugin, on the controller, in-process; no module is
    sent to a host. A write costs milliseconds, which matters inside an ingestion pause.
notes:
  - The file is written on the controller, whatever host the task runs for.
  - "The task never reports a change: the file is the run's own record, not something the playbook manages."
extends_documentation_fragment:
  - servicecontrol.platform.attributes
attributes:
  check_mode:
    support: full
    details:
      - The file is not written.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - The same state written twice gives the same file.
  action:
    description: The work is done by the action plugin of the same name, on the controller.
    support: full
options:
  fact:
    description: The fact that holds the state (a mapping of JSON data); the task fails when it is not set.
    type: str
    default: run_state
  path:
    description: The state file to write.
    type: path
    required: true
seealso:
  - module: ansible.builtin.set_fact
  - plugin: servicecontrol.platform.run_state_merge
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Start from what an earlier, interrupted run recorded
  ansible.builtin.set_fact:
    upgrade_state: >-
      {{ lookup('ansible.builtin.file', 'report/upgrade.state.json', errors='ignore')
         | default('{}', true) | from_json }}

- name: Record that the pause started, in memory only (the next write takes it along)
  ansible.builtin.set_fact:
    upgrade_state: "{{ upgrade_state | servicecontrol.platform.run_state_merge(update) }}"
  vars:
    update: {phases: {pause: {started: "{{ now(utc=true).isoformat() }}"}}}

- name: Record the messages the drain retried
  ansible.builtin.set_fact:
    upgrade_state: "{{ upgrade_state | servicecontrol.platform.run_state_merge(update) }}"
  vars:
    update: {snapshot: {retried_ids: "{{ drained.retried_ids }}"}}

- name: Write the state, so a re-run resumes from here
  servicecontrol.platform.run_state:
    fact: upgrade_state
    path: report/upgrade.state.json
"""

RETURN = r"""
written:
  description: Whether O(path) was written (not in check mode).
  returned: success
  type: bool
path:
  description: O(path), as given.
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402 - after the documentation, as ansible-doc expects


def main():
    # Reached only when the action plugin is bypassed (it does all the work on the controller).
    module = AnsibleModule(
        argument_spec={
            "fact": {"type": "str", "default": "run_state"},
            "path": {"type": "path", "required": True},
        },
        supports_check_mode=True,
    )
    module.fail_json(msg="servicecontrol.platform.run_state runs in its action plugin, on the controller.")


if __name__ == "__main__":
    main()
