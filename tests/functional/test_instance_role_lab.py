"""The instance role on the lab target, run by real ansible-playbook: plan, create, repeat, reconfigure, stop, remove.

The lab instance is a real `python -m lab instance` process configured through the same controller-side
decisions as a Windows host (the .exe.config edit path) or a container (the environment path); the role
then reads it back over its API with instance_info and verifies it reports what the topology asked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from functional_support import LOCAL_PLAYBOOK, free_port

ROOT = Path(__file__).resolve().parents[2]
# The Learning transport's connection string is a directory path; a recognisable one shows whether it leaks.
SECRET = "lab-s3cret-in-connection-string"


def _collections_path():
    if "ANSIBLE_COLLECTIONS_PATH" in os.environ:
        return os.environ["ANSIBLE_COLLECTIONS_PATH"]
    inside_tree = ROOT.parent.parent.name == "ansible_collections"
    return str(ROOT.parents[2] if inside_tree else ROOT / ".build" / "collections")


def run_role(tmp_path, topology, *extra, check=False):
    """Run the role through ansible-playbook; return (exit code, output, recap counts)."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars": {"servicecontrol_topology": topology},
                    "tasks": [
                        {
                            "name": "Manage the instance",
                            "ansible.builtin.include_role": {"name": "servicecontrol.platform.instance"},
                            "vars": {"instance_name": "Particular.ServiceControl"},
                        }
                    ],
                }
            ]
        )
    )
    argv = [
        *LOCAL_PLAYBOOK,
        str(playbook),
        *extra,
    ]
    if check:
        argv.append("--check")
    environment = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=_collections_path())
    completed = subprocess.run(argv, env=environment, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
    output = completed.stdout + completed.stderr
    recap = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output)
    counts = dict(zip(("ok", "changed", "unreachable", "failed"), map(int, recap.groups()))) if recap else {}
    return completed.returncode, output, counts


def topology(tmp_path, port, config="exe_config", **settings):
    transport = tmp_path / SECRET
    transport.mkdir(exist_ok=True)
    return {
        "transport": {"type": "LearningTransport", "connection_string": str(transport)},
        "instances": [
            {
                "name": "Particular.ServiceControl",
                "kind": "error",
                "version": "6.19.2",
                "url": "http://localhost:%d/api" % port,
                "target": {
                    "type": "lab",
                    "directory": str(tmp_path / "instance"),
                    "command": [sys.executable, "-m", "lab", "instance"],
                    "chdir": str(ROOT),
                    "config": config,
                },
                "settings": {
                    "ServiceControl/Port": port,
                    "ServiceControl/DbPath": str(tmp_path / "db"),
                    "ServiceControl/ForwardErrorMessages": False,
                    "ServiceControl/ErrorRetentionPeriod": "10",
                    **settings,
                },
            }
        ],
    }


def pid_of(tmp_path):
    return (tmp_path / "instance" / "instance.pid").read_text().strip()


@pytest.fixture
def stop_instance(tmp_path):
    yield
    pid_file = tmp_path / "instance" / "instance.pid"
    if pid_file.exists():
        subprocess.run(["kill", "-TERM", "--", "-" + pid_file.read_text().strip()], check=False)  # noqa: S603, S607


@pytest.mark.parametrize("config", ["exe_config", "environment"])
def test_plan_create_repeat_reconfigure_stop_remove(tmp_path, stop_instance, config):
    port = free_port()
    described = topology(tmp_path, port, config)

    code, output, counts = run_role(tmp_path, described, check=True)
    assert code == 0, output
    assert not (tmp_path / "instance").exists(), "check mode must change nothing"
    assert "settings" in output and SECRET not in output

    code, output, counts = run_role(tmp_path, described)
    assert code == 0, output
    assert counts["changed"] >= 2
    first_pid = pid_of(tmp_path)
    assert SECRET not in output
    if config == "exe_config":
        written = (tmp_path / "instance" / "ServiceControl.exe.config").read_text()
        assert '<add key="ServiceControl/ForwardErrorMessages" value="false" />' in written
        assert 'name="NServiceBus/Transport"' in written

    code, output, counts = run_role(tmp_path, described)
    assert code == 0, output
    assert counts["changed"] == 0, output
    assert pid_of(tmp_path) == first_pid, "an unchanged instance is not restarted"

    forwarding = topology(
        tmp_path,
        port,
        config,
        **{"ServiceControl/ForwardErrorMessages": True, "ServiceBus/ErrorLogQueue": "error_backup"},
    )
    (tmp_path / SECRET / "error_backup").mkdir(parents=True, exist_ok=True)
    code, output, counts = run_role(tmp_path, forwarding)
    assert code == 0, output
    assert counts["changed"] >= 2
    assert pid_of(tmp_path) != first_pid, "a changed setting restarts the instance"
    assert "All assertions passed" in output or "Verify that the instance reports what was asked" in output

    paused_pid = pid_of(tmp_path)
    code, output, counts = run_role(tmp_path, forwarding, "-e", json.dumps({"instance_ingestion": False}))
    assert code == 0, output
    assert pid_of(tmp_path) != paused_pid, "switching ingestion off restarts the instance"
    if config == "exe_config":
        written = (tmp_path / "instance" / "ServiceControl.exe.config").read_text()
        assert '<add key="ServiceControl/IngestErrorMessages" value="false" />' in written
    else:
        written = (tmp_path / "instance" / "instance.env").read_text()
        assert "export SERVICECONTROL_INGESTERRORMESSAGES=false\n" in written

    if config == "exe_config":  # states do not depend on the settings path: once is enough
        code, output, counts = run_role(tmp_path, forwarding, "-e", "instance_state=stopped")
        assert code == 0, output
        assert not (tmp_path / "instance" / "instance.pid").exists()

        code, output, _counts = run_role(tmp_path, forwarding, "-e", "instance_state=absent")
        assert code != 0 and "instance_confirm_remove=true" in output
        assert (tmp_path / "instance").exists(), "an unconfirmed removal changes nothing"
    code, output, _counts = run_role(
        tmp_path, forwarding, "-e", "instance_state=absent", "-e", json.dumps({"instance_confirm_remove": True})
    )
    assert code == 0, output
    assert not (tmp_path / "instance").exists()


def test_refuses_before_any_change_what_servicecontrol_would_refuse(tmp_path):
    broken = topology(tmp_path, free_port())
    del broken["instances"][0]["settings"]["ServiceControl/ForwardErrorMessages"]
    del broken["instances"][0]["settings"]["ServiceControl/ErrorRetentionPeriod"]
    code, output, _counts = run_role(tmp_path, broken)
    assert code != 0
    assert "does not set ServiceControl/ForwardErrorMessages" in output
    assert "does not set ServiceControl/ErrorRetentionPeriod" in output
    assert not (tmp_path / "instance").exists()
