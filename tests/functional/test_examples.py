"""The infrastructure-as-code examples (examples/lab, examples/windows, examples/containers) stay usable.

For each example repository: ``ansible-playbook --syntax-check dr-setup.yml`` in it (its own ansible.cfg and
inventory), ansible-lint with the production profile on its directory, and the checks dr_setup makes before
its first change - topology validation with the derived backups (``topology_instances``), the queues
(``topology_queues``) and the deployment plan of every instance (``instance_plan``) - on the topology as the
example's inventory resolves it. Nothing is deployed: only examples/lab can run here (``make demo``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
#: Each example's target type and the inventory hosts its instances run on (None: the controller).
EXPECTED = {
    "lab": ("lab", [None, None, None, None]),
    "windows": ("windows", ["sc-primary.example.com"] * 2 + ["sc-dr.example.com"] * 2),
    "containers": ("container", ["containers-primary.example.com"] * 2 + ["containers-dr.example.com"] * 2),
}
INSTANCES = [
    "Particular.ServiceControl",
    "Particular.ServiceControl.Audit",
    "Particular.ServiceControl.Backup",
    "Particular.ServiceControl.Audit.Backup",
]
# What dr_setup's first play checks, run against the example's own inventory. The summary carries no secret:
# names, roles, target types, hosts, queues and the BC/DR settings.
VALIDATE = """---
- name: Validate the example's topology as dr_setup does before any change
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Validate the topology, derive the backups and the queues
      ansible.builtin.set_fact:
        example_instances: "{{ servicecontrol_topology | servicecontrol.platform.topology_instances }}"
        example_queues: >-
          {{ servicecontrol_topology | servicecontrol.platform.topology_queues(include_instance_queues=true) }}
    - name: Plan the deployment of every instance
      ansible.builtin.set_fact:
        example_plans: >-
          {{ example_plans | default([])
             + [servicecontrol_topology | servicecontrol.platform.instance_plan(item.name)] }}
      loop: "{{ example_instances }}"
      no_log: true  # a plan holds the target, which may hold a licence or a password
    - name: Show the summary
      ansible.builtin.debug:
        msg: >-
          EXAMPLE-SUMMARY {{ {'names': example_instances | map(attribute='name') | list,
                              'roles': example_instances | map(attribute='role') | list,
                              'urls': example_instances | map(attribute='url') | list,
                              'ingests': example_instances | map(attribute='ingests') | list,
                              'forwards_to': example_instances | map(attribute='forwards_to') | list,
                              'settings': example_plans | map(attribute='settings_shown') | list,
                              'targets': example_plans | map(attribute='target_type') | list,
                              'hosts': example_plans | map(attribute='host') | list,
                              'queues': example_queues} | to_json }}
"""


def _environment():
    environment = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", NO_COLOR="1")
    if "ANSIBLE_COLLECTIONS_PATH" not in environment:
        inside_tree = ROOT.parent.parent.name == "ansible_collections"
        collections = ROOT.parents[2] if inside_tree else ROOT / ".build" / "collections"
        environment["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
    return environment


def _run(argv, cwd, timeout=120):
    completed = subprocess.run(  # noqa: S603 - fixed argv
        argv, cwd=cwd, env=_environment(), capture_output=True, text=True, timeout=timeout, check=False
    )
    return completed.returncode, completed.stdout + completed.stderr


def _tool(name):
    return str(Path(sys.executable).with_name(name))


@pytest.fixture(scope="module")
def lint():
    """One ansible-lint run over the three examples (production profile, the repository's .ansible-lint)."""
    directories = ["examples/%s" % name for name in EXPECTED]
    code, output = _run([_tool("ansible-lint"), "--offline", "--profile", "production", *directories], ROOT, 300)
    return code, output


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_is_a_complete_repository_layout(name):
    example = EXAMPLES / name
    for part in ("ansible.cfg", "inventory/hosts.yml", "inventory/group_vars/all/topology.yml", "requirements.yml"):
        assert (example / part).is_file(), "%s lacks %s" % (example, part)
    assert "servicecontrol.platform.dr_setup" in (example / "dr-setup.yml").read_text(encoding="utf-8")
    if name != "lab":
        assert (example / "README.md").is_file()
        vault = (example / "inventory/group_vars/all/vault.yml").read_text(encoding="utf-8")
        topology = (example / "inventory/group_vars/all/topology.yml").read_text(encoding="utf-8")
        # The transport's connection string comes from a vault variable, and the vault file holds placeholders.
        assert re.search(r"connection_string: \"\{\{ vault_\w+ \}\}\"", topology)
        assert "CHANGE-ME" in vault and "ansible-vault encrypt" in vault


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_passes_syntax_check(name):
    code, output = _run([_tool("ansible-playbook"), "--syntax-check", "dr-setup.yml"], EXAMPLES / name)
    assert code == 0, output[-4000:]
    assert "playbook: dr-setup.yml" in output


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_passes_ansible_lint_production_profile(lint, name):
    code, output = lint
    assert re.search(r"[1-9][0-9]* files processed", output), output[-4000:]
    assert code in (0, 2), output[-4000:]  # 2: violations, reported by the example they are in
    assert "examples/%s/" % name not in output, output[-4000:]


def test_ansible_lint_passes_on_every_example(lint):
    code, output = lint
    assert code == 0, output[-4000:]
    assert "Profile 'production' was required, and it passed" in output, output[-4000:]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_topology_validates_and_every_instance_has_a_plan(name, tmp_path):
    playbook = tmp_path / "validate.yml"
    playbook.write_text(VALIDATE, encoding="utf-8")
    code, output = _run([_tool("ansible-playbook"), str(playbook)], EXAMPLES / name)
    assert code == 0, output[-4000:]
    found = re.search(r'"(EXAMPLE-SUMMARY .*)"\s*$', output, re.MULTILINE)
    assert found, output[-4000:]
    # The debug callback prints the message as a JSON string: unquote it, then read the summary.
    summary = json.loads(json.loads('"%s"' % found.group(1))[len("EXAMPLE-SUMMARY ") :])
    target, hosts = EXPECTED[name]
    assert summary["names"] == INSTANCES
    assert summary["roles"] == ["primary", "primary", "backup", "backup"]
    assert summary["targets"] == [target] * 4
    assert summary["hosts"] == hosts
    # The derived BC/DR wiring of docs/topology.md, the same in every example.
    assert summary["ingests"] == ["error", "audit", "error_backup", "audit_backup"]
    assert summary["forwards_to"][:2] == ["error_backup", "audit_backup"]
    assert not any(summary["forwards_to"][2:])
    error, _audit, error_backup, audit_backup = summary["settings"]
    assert error["ServiceControl/ForwardErrorMessages"] == "true"
    assert error_backup["ServiceControl/DisableExternalIntegrationsPublishing"] == "true"
    assert json.loads(error_backup["ServiceControl/RemoteInstances"]) == [{"api_uri": summary["urls"][3]}]
    assert audit_backup["ServiceControl.Audit/ServiceControlQueueAddress"] == "Particular.ServiceControl.Backup"
    assert summary["queues"][:4] == ["error", "audit", "error_backup", "audit_backup"]
