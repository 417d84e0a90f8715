"""The instance role on the container target, for real: podman runs the stand-in images on this machine.

The role creates the instance's RavenDB container and volume, runs the one-shot ``--setup`` container, starts
the instance container configured only by environment variables, waits for its API and verifies it; a
repeat changes nothing; a changed setting re-creates the instance container and keeps the data in the
RavenDB volume; removal needs confirmation. podman runs with lab/containers/containers.conf (host
networking), so ports are picked free and names are unique per run.
"""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from functional_support import free_port

# The fixtures are imported to be used by name as test parameters (pytest finds them in this module).
from test_containers_podman import CONTAINERS_CONF, images, podman, rabbitmq, send_failures  # noqa: F401  # pylint: disable=unused-import
from test_instance_role_lab import run_role

VERSION = "6.19.2"


@pytest.fixture
def names():
    prefix = "sct-role-%s" % uuid.uuid4().hex[:8]
    yield prefix
    listed = podman("ps", "-a", "--format", "{{.Names}}", check=False).stdout.split()
    for name in [n for n in listed if n.startswith(prefix)]:
        podman("rm", "-f", "-v", "-t", "2", name, check=False, timeout=60)
    for volume in [
        v for v in podman("volume", "ls", "--format", "{{.Name}}", check=False).stdout.split() if v.startswith(prefix)
    ]:
        podman("volume", "rm", "-f", volume, check=False, timeout=60)


def topology(rabbitmq_connection, names, port, ravendb_port, **settings):
    return {
        "transport": {"type": "RabbitMQ.QuorumConventionalRouting", "connection_string": rabbitmq_connection},
        "instances": [
            {
                "name": "Particular.ServiceControl",
                "kind": "error",
                "version": VERSION,
                "url": "http://localhost:%d/api" % port,
                "target": {
                    "type": "container",
                    "engine": "podman",
                    "network": "host",
                    "port": port,
                    "ravendb_port": ravendb_port,
                    "container_name": names,
                    # The stand-in image only: on the host's network it cannot map 33333 to another port.
                    "environment": {"LAB_CONTAINER_PORT": port},
                },
                "settings": {
                    "ServiceBus/ErrorQueue": "%s-error" % names,
                    "ServiceControl/ForwardErrorMessages": False,
                    **settings,
                },
            }
        ],
    }


def failed_ids(port):
    response = httpx.get("http://localhost:%d/api/errors" % port, timeout=10)
    response.raise_for_status()
    return sorted(item["message_id"] for item in response.json())


def test_container_target_create_repeat_reconfigure_remove(images, rabbitmq, names, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("CONTAINERS_CONF", str(CONTAINERS_CONF))
    port, ravendb_port = free_port(), free_port()
    connection_string = rabbitmq[0]
    described = topology(connection_string, names, port, ravendb_port)

    code, output, _counts = run_role(tmp_path, described, check=True)
    assert code == 0, output
    assert names not in podman("ps", "-a", "--format", "{{.Names}}").stdout, "check mode creates no container"

    code, output, counts = run_role(tmp_path, described)
    assert code == 0, output
    assert counts["changed"] >= 3  # database, setup, instance
    assert "password=" not in output

    code, output, counts = run_role(tmp_path, described)
    assert code == 0, output
    assert counts["changed"] == 0, "\n".join(x for x in output.splitlines() if x.startswith(("changed", "TASK")))

    send_failures(connection_string, "Sales", "%s-error" % names, 2)
    for _attempt in range(60):
        if len(failed_ids(port)) == 2:
            break
        time.sleep(0.5)
    before = failed_ids(port)
    assert len(before) == 2

    # Pausing ingestion is a changed setting: the instance container is re-created, the data stays.
    code, output, counts = run_role(tmp_path, described, "-e", json.dumps({"instance_ingestion": False}))
    assert code == 0, output
    assert counts["changed"] >= 1
    inspected = json.loads(podman("inspect", names).stdout)[0]
    assert "SERVICECONTROL_INGESTERRORMESSAGES=false" in inspected["Config"]["Env"]
    assert failed_ids(port) == before

    code, output, _counts = run_role(tmp_path, described, "-e", "instance_state=absent")
    assert code != 0 and "instance_confirm_remove=true" in output
    code, output, _counts = run_role(
        tmp_path, described, "-e", "instance_state=absent", "-e", json.dumps({"instance_confirm_remove": True})
    )
    assert code == 0, output
    remaining = podman("ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert not [name for name in remaining if name.startswith(names)]
    # Without remove_database the RavenDB volume, and so every failed message, is kept.
    assert "%s-db-data" % names in podman("volume", "ls", "--format", "{{.Name}}").stdout
