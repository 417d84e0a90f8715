# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the functional tests share: the loopback services of tests/endpoints.env, lab instances, running a module.

Under CI=true an unreachable service fails the test; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENDPOINTS = ROOT / "tests" / "endpoints.env"


def endpoint(key):
    """A value of tests/endpoints.env."""
    for line in ENDPOINTS.read_text().splitlines():
        if line.startswith(key + "="):
            return line.split("=", 1)[1]
    raise AssertionError("%s is missing from %s" % (key, ENDPOINTS))


def require_reachable(url, service):
    """Fail (under CI) or skip when nothing listens at the URL's host and port."""
    parsed = urllib.parse.urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port), timeout=2).close()
    except OSError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail("%s at %s is unreachable under CI: %s" % (service, url, exc))
        pytest.skip("%s at %s is unreachable (start it: bash tests/services.sh start)" % (service, url))


def connect_postgresql(settings):
    """An autocommit psycopg connection for the parsed connection string; fails (under CI) or skips when refused."""
    import psycopg  # only the PostgreSQL tests need it

    try:
        return psycopg.connect(
            host=settings["host"],
            port=settings["port"],
            dbname=settings["database"],
            user=settings.get("username"),
            password=settings.get("password"),
            autocommit=True,
            connect_timeout=5,
        )
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL from tests/endpoints.env is unreachable under CI: %s" % exc)
        pytest.skip("PostgreSQL from tests/endpoints.env is unreachable (start it: bash tests/services.sh start)")


#: ansible-playbook of this Python against localhost over the local connection; the playbook and options follow.
LOCAL_PLAYBOOK = [
    str(Path(sys.executable).with_name("ansible-playbook")),
    "-i",
    "localhost,",
    "-c",
    "local",
    "-e",
    "ansible_python_interpreter=%s" % sys.executable,
]


def free_port():
    """A free loopback port between 20000 and 32767: one ServiceControl accepts (1-49151), below the kernel's
    ephemeral range, and clear of the fixed ports of the demo (33333...) and the molecule scenarios (36000-38999),
    which run beside these tests."""
    for port in random.sample(range(20000, 32768), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(port)
    raise AssertionError("no free port between 20000 and 32767")


@contextmanager
def lab_instance(kind, environment, tmp_path, port):
    """Run `python -m lab instance --setup-and-run` until the block ends; yield its API URL."""
    url = "http://localhost:%s/api" % port
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "LAB_CHECK_REMOTES_INTERVAL": "1", **environment}
    log = (tmp_path / ("%s-%s.log" % (kind, port))).open("wb")
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "lab", "instance", "--kind", kind, "--setup-and-run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback
                    break
            except OSError:
                assert process.poll() is None, "lab %s instance exited; see %s" % (kind, log.name)
                assert time.monotonic() < deadline, "lab %s instance did not answer on %s" % (kind, url)
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def run_module(module, arguments, *extra):
    """Run a module through `ansible` (AnsiballZ, the real module path) and return its result with ``failed``."""
    completed = subprocess.run(  # noqa: S603 - fixed argv
        [
            str(Path(sys.executable).with_name("ansible")),
            "localhost",
            "-c",
            "local",
            "-i",
            "localhost,",
            "-e",
            "ansible_python_interpreter=%s" % sys.executable,
            "-m",
            module,
            "-a",
            json.dumps(arguments),
            "-o",
            *extra,
        ],
        env=dict(os.environ, ANSIBLE_NOCOLOR="1"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode in (0, 2), completed.stderr
    # One-line output: "localhost | SUCCESS => {...}", "localhost | CHANGED => {...}" or "localhost | FAILED! => {...}".
    line = next(text for text in completed.stdout.splitlines() if text.startswith("localhost |"))
    status, _separator, payload = line.partition(" => ")
    result = json.loads(payload)
    result["failed"] = "FAILED" in status
    return result
