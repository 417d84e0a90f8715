#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: create N RabbitMQ queues with one servicecontrol.platform.queue task vs a loop of
community.rabbitmq.rabbitmq_queue tasks, both through real ansible-playbook runs against a running broker.

Figures, not pass/fail. Run from the repository root with the project venv:

    python benchmarks/queue_rabbitmq.py [--count 200]

Both sides create the same queues (durable quorum queues, no exchange: the RabbitMQ.QuorumDirectRouting shape,
since rabbitmq_queue creates queues only); the conventional topology (queue + exchange + binding) is timed as
an extra line. Every run starts from no queues and is followed by a second, idempotent run; all queues are
checked on the broker and removed between runs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
from ansible import release as ansible_release

ROOT = Path(__file__).resolve().parent.parent
ENDPOINTS = ROOT / "tests" / "endpoints.env"
# The dependency collections as `make collections` unpacks them from the ansible bundle (stable), or the
# collection tree `make tree` rebuilds next to them.
DEPENDENCY_COLLECTIONS = next(
    (
        path
        for path in (ROOT / ".build" / "deps" / "unpacked", ROOT / ".build" / "collections")
        if (path / "ansible_collections" / "community" / "rabbitmq").is_dir()
    ),
    ROOT / ".build" / "collections",
)


def endpoints():
    values = {}
    for line in ENDPOINTS.read_text().splitlines():
        if line.startswith("SCTEST_") and "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def collections_path(workdir):
    """This working tree as servicecontrol.platform first, then the dependency collections (community.rabbitmq)."""
    link_root = Path(workdir) / "collections"
    (link_root / "ansible_collections" / "servicecontrol").mkdir(parents=True)
    (link_root / "ansible_collections" / "servicecontrol" / "platform").symlink_to(ROOT)
    if not (DEPENDENCY_COLLECTIONS / "ansible_collections" / "community" / "rabbitmq").is_dir():
        sys.exit("community.rabbitmq is missing from %s; run `make collections` first." % DEPENDENCY_COLLECTIONS)
    return "%s:%s" % (link_root, DEPENDENCY_COLLECTIONS)


def write_playbooks(workdir, names, connection_string, management):
    ours = [
        {
            "name": "Create the queues with servicecontrol.platform.queue",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "One task for every queue",
                    "servicecontrol.platform.queue": {
                        "transport": "{{ transport }}",
                        "connection_string": connection_string,
                        "queues": names,
                    },
                }
            ],
        }
    ]
    theirs = [
        {
            "name": "Create the queues with community.rabbitmq.rabbitmq_queue",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "One task run per queue",
                    "community.rabbitmq.rabbitmq_queue": {
                        "name": "{{ item }}",
                        "durable": True,
                        "auto_delete": False,
                        "arguments": {"x-queue-type": "quorum"},
                        "login_host": management["host"],
                        "login_port": str(management["port"]),
                        "login_protocol": management["scheme"],
                        "login_user": management["user"],
                        "login_password": management["password"],
                        "vhost": "/",
                    },
                    "loop": names,
                }
            ],
        }
    ]
    paths = {}
    for label, play in (("ours", ours), ("community", theirs)):
        paths[label] = Path(workdir) / ("%s.yml" % label)
        # JSON is YAML; no PyYAML dependency for writing.
        paths[label].write_text(json.dumps(play, indent=2))
    return paths


def run_playbook(playbook, env, extra_vars=None):
    command = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        "ansible_python_interpreter=%s" % sys.executable,
        str(playbook),
    ]
    if extra_vars:
        command[-1:-1] = ["-e", json.dumps(extra_vars)]
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-4000:])
        sys.exit("ansible-playbook %s failed (exit %d)" % (playbook.name, completed.returncode))
    return elapsed


class Broker:
    """Direct management API access for checking and cleaning up (not timed)."""

    def __init__(self, management):
        self.client = httpx.Client(
            base_url="%s://%s:%d" % (management["scheme"], management["host"], management["port"]),
            auth=(management["user"], management["password"]),
            timeout=30,
        )

    def check(self, names, queue_type, with_exchange):
        for name in names:
            queue = self.client.get("/api/queues/%%2F/%s" % quote(name, safe=""))
            assert queue.status_code == 200, "queue %s missing" % name
            assert queue.json()["type"] == queue_type and queue.json()["durable"] is True
            exchange = self.client.get("/api/exchanges/%%2F/%s" % quote(name, safe=""))
            assert (exchange.status_code == 200) is with_exchange, "exchange %s: %d" % (name, exchange.status_code)

    def remove(self, names):
        for name in names:
            for kind in ("queues", "exchanges"):
                response = self.client.delete("/api/%s/%%2F/%s" % (kind, quote(name, safe="")))
                assert response.status_code in (204, 404)

    def version(self):
        return self.client.get("/api/overview").json()["rabbitmq_version"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=200, help="number of queues (default 200)")
    args = parser.parse_args()

    values = endpoints()
    connection_string = os.environ.get("SCTEST_RABBITMQ_CONNECTION_STRING", values["SCTEST_RABBITMQ_CONNECTION_STRING"])
    url = urlsplit(os.environ.get("SCTEST_RABBITMQ_MANAGEMENT_URL", values["SCTEST_RABBITMQ_MANAGEMENT_URL"]))
    settings = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)
    lowered = {key.lower(): value for key, value in settings.items()}
    management = {
        "scheme": url.scheme,
        "host": url.hostname,
        "port": url.port or (15671 if url.scheme == "https" else 15672),
        "user": lowered.get("managementapiusername") or lowered.get("username", "guest"),
        "password": lowered.get("managementapipassword") or lowered.get("password", "guest"),
    }
    broker = Broker(management)
    run_id = uuid.uuid4().hex[:8]
    names = ["bench-%s-%03d" % (run_id, index) for index in range(args.count)]

    with tempfile.TemporaryDirectory(prefix="sc-bench-") as workdir:
        env = dict(os.environ)
        env.update(
            ANSIBLE_COLLECTIONS_PATH=collections_path(workdir),
            ANSIBLE_LOCALHOST_WARNING="false",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
            ANSIBLE_HOME=str(Path(workdir) / "ansible-home"),
        )
        playbooks = write_playbooks(workdir, names, connection_string, management)
        broker.remove(names)
        figures = {}
        try:
            for label, extra, queue_type, with_exchange in (
                ("ours", {"transport": "RabbitMQ.QuorumDirectRouting"}, "quorum", False),
                ("community", None, "quorum", False),
                ("ours_conventional", {"transport": "RabbitMQ.QuorumConventionalRouting"}, "quorum", True),
            ):
                playbook = playbooks["community" if label == "community" else "ours"]
                created = run_playbook(playbook, env, extra)
                broker.check(names, queue_type, with_exchange)
                repeated = run_playbook(playbook, env, extra)
                broker.remove(names)
                figures[label] = (created, repeated)
                print("%-40s create %7.2f s   repeat %7.2f s" % (label, created, repeated), flush=True)
        finally:
            broker.remove(names)

    ours, theirs = figures["ours"], figures["community"]
    print()
    print(
        "queues: %d; RabbitMQ %s; ansible-core %s; community.rabbitmq %s; python %s; %s; %s"
        % (
            args.count,
            broker.version(),
            ansible_core_version(),
            community_rabbitmq_version(),
            platform.python_version(),
            platform.platform(),
            datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        )
    )
    print("servicecontrol.platform.queue (1 task, QuorumDirectRouting): create %.2f s, repeat %.2f s" % ours)
    print(
        "community.rabbitmq.rabbitmq_queue (loop of %d):             create %.2f s, repeat %.2f s"
        % (args.count, *theirs)
    )
    print(
        "ours (QuorumConventionalRouting: queue + exchange + binding): create %.2f s, repeat %.2f s"
        % (figures["ours_conventional"])
    )
    print("ratio (community / ours): create %.1fx, repeat %.1fx" % (theirs[0] / ours[0], theirs[1] / ours[1]))


def ansible_core_version():
    return ansible_release.__version__


def community_rabbitmq_version():
    manifest = DEPENDENCY_COLLECTIONS / "ansible_collections" / "community" / "rabbitmq" / "MANIFEST.json"
    return json.loads(manifest.read_text())["collection_info"]["version"]


if __name__ == "__main__":
    main()
