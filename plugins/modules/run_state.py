#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: run_state
short_description: Merge what a step of a long procedure observed into the run's state, and keep it in a file
version_added: 0.1.0
author: "servicecontrol.platform maintainers (@servicecontrol-platform)"
description:
  - Merges O(update) into the fact O(fact) (empty when it is not set yet) and, with O(path), writes the result to
    that file as indented JSON, atomically (a reader sees the old file or the new one, never half of one).
  - Mappings merge key by key; a list gains only the items it does not hold yet, in order, so a re-run that
    records the same ids again adds nothing; any other value is replaced.
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
      - The fact is merged, the file is not written.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - The same update merged twice gives the same state.
  action:
    description: The work is done by the action plugin of the same name, on the controller.
    support: full
options:
  fact:
    description: The fact that holds the state; the merged state is set back into it.
    type: str
    default: run_state
  update:
    description: What to merge into the state.
    type: dict
    default: {}
  path:
    description: The state file to write. Without it, the fact alone is updated.
    type: path
  write:
    description:
      - Write O(path). V(false) keeps the update in the fact only, until the next write, for steps where every
        write would lengthen a critical window.
    type: bool
    default: true
seealso:
  - module: ansible.builtin.set_fact
"""

EXAMPLES = r"""
- name: Start from what an earlier, interrupted run recorded
  ansible.builtin.set_fact:
    upgrade_state: >-
      {{ lookup('ansible.builtin.file', 'report/upgrade.state.json', errors='ignore')
         | default('{}', true) | from_json }}

- name: Record that the pause started, in memory only (the next write takes it along)
  servicecontrol.platform.run_state:
    fact: upgrade_state
    update: {phases: {pause: {started: "{{ now(utc=true).isoformat() }}"}}}
    write: false

- name: Record the messages the drain retried
  servicecontrol.platform.run_state:
    fact: upgrade_state
    path: report/upgrade.state.json
    update: {snapshot: {retried_ids: "{{ drained.retried_ids }}"}}
"""

RETURN = r"""
ansible_facts:
  description: The merged state, in the fact O(fact).
  returned: success
  type: dict
written:
  description: Whether O(path) was written (not in check mode, nor with O(write=false)).
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
            "update": {"type": "dict", "default": {}},
            "path": {"type": "path"},
            "write": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    module.fail_json(msg="servicecontrol.platform.run_state runs in its action plugin, on the controller.")


if __name__ == "__main__":
    main()
