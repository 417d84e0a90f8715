"""Containers for real: the lab's stand-ins for Particular's images, run with podman on this machine.

The images (``make images``, lab/containers/build.py) carry Particular's names and tags and behave like
the real ones where the collection's container target depends on it (docs/reference/servicecontrol.md §3.2):
settings from the environment, ``--setup``, the fixed in-container port, the health check, no state in the
instance container (its documents live in the RavenDB container's volume), and no start without RavenDB.

podman runs with lab/containers/containers.conf (runc, cgroupfs, explicit ulimits, host networking), so
every container here shares the host's network: ports are picked free, names are unique per run, and
everything created is removed at the end. Under CI=true a missing podman, missing images or an unreachable
RabbitMQ fail the test; elsewhere they skip it with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import httpx
import pytest
from functional_support import free_port

ROOT = Path(__file__).resolve().parents[2]
CONTAINERS_CONF = ROOT / "lab" / "containers" / "containers.conf"
VERSION = "6.19.2"
ERROR_IMAGE = "particular/servicecontrol:%s" % VERSION
AUDIT_IMAGE = "particular/servicecontrol-audit:%s" % VERSION
MONITORING_IMAGE = "particular/servicecontrol-monitoring:%s" % VERSION
RAVENDB_IMAGE = "particular/servicecontrol-ravendb:%s" % VERSION
TRANSPORT = "RabbitMQ.QuorumConventionalRouting"
#: Upper bounds for every wait in this file, in seconds.
HEALTHY_WITHIN = 60
INGESTED_WITHIN = 30
PODMAN_STEP = 120


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " (CI=true: this is a failure, not a skip)")
    pytest.skip(reason)


def _endpoint(key: str, default: str) -> str:
    if os.environ.get(key):
        return os.environ[key]
    env_file = ROOT / "tests" / "endpoints.env"
    if env_file.is_file():
        for line in env_file.read_text(encoding="utf-8").splitlines():
            name, sep, value = line.partition("=")
            if sep and name.strip() == key:
                return value.strip()
    return default


def podman(*args: str, timeout: float = PODMAN_STEP, check: bool = True) -> subprocess.CompletedProcess:
    completed = subprocess.run(  # noqa: S603 - fixed argv
        ["podman", *args],  # noqa: S607
        env=dict(os.environ, CONTAINERS_CONF=str(CONTAINERS_CONF)),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check:
        assert completed.returncode == 0, "podman %s: %s%s" % (" ".join(args), completed.stdout, completed.stderr)
    return completed


@pytest.fixture(scope="module")
def images() -> None:
    if shutil.which("podman") is None:
        _unavailable("podman is not installed (make system-deps installs it)")
    from lab.containers import build

    if not build.up_to_date((VERSION,)):
        _unavailable("the stand-in images are missing or older than lab/: run make images")


@pytest.fixture(scope="module")
def rabbitmq() -> tuple[str, str]:
    """(connection string, management URL) of the RabbitMQ service on loopback."""
    connection_string = _endpoint(
        "SCTEST_RABBITMQ_CONNECTION_STRING", "host=127.0.0.1;port=5672;username=guest;password=guest"
    )
    management = _endpoint("SCTEST_RABBITMQ_MANAGEMENT_URL", "http://127.0.0.1:15672").rstrip("/")
    pairs = {}
    for part in connection_string.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            pairs[key.strip().lower()] = value.strip()
    try:
        with socket.create_connection((pairs.get("host", "127.0.0.1"), int(pairs.get("port", "5672"))), timeout=2):
            pass
    except OSError as exc:
        _unavailable("RabbitMQ is not reachable (bash tests/services.sh start): %s" % exc)
    return connection_string, management


class Run:
    """Unique names for one test, and the cleanup of everything created under them."""

    def __init__(self, management_url: str | None = None) -> None:
        self.prefix = "sct-%s" % uuid.uuid4().hex[:8]
        self.management_url = management_url
        self.containers: list[str] = []
        self.volumes: list[str] = []

    def name(self, suffix: str) -> str:
        return "%s-%s" % (self.prefix, suffix)

    def run(self, name: str, image: str, *args: str, env: dict[str, str] | None = None, detach: bool = True, **kw):
        """``podman run`` a container named ``<prefix>-<name>``; extra podman options go in ``options``."""
        options = list(kw.pop("options", ()))
        for key, value in (env or {}).items():
            options += ["-e", "%s=%s" % (key, value)]
        full = self.name(name)
        self.containers.append(full)
        mode = ["-d"] if detach else []
        return podman("run", *mode, "--name", full, *options, image, *args, **kw)

    def volume(self, name: str) -> str:
        full = self.name(name)
        podman("volume", "create", full)
        self.volumes.append(full)
        return full

    def cleanup(self) -> None:
        for container in reversed(self.containers):
            podman("rm", "-f", "-v", "-t", "2", container, check=False, timeout=60)
        for volume in self.volumes:
            podman("volume", "rm", "-f", volume, check=False, timeout=60)
        if self.management_url:
            self._delete_rabbitmq_objects()

    def _delete_rabbitmq_objects(self) -> None:
        auth = ("guest", "guest")
        for kind in ("queues", "exchanges"):
            listing = httpx.get("%s/api/%s/%%2F" % (self.management_url, kind), auth=auth, timeout=10)
            for item in listing.json() if listing.status_code == 200 else []:
                if item["name"].startswith(self.prefix):
                    quoted = urllib.parse.quote(item["name"], safe="")
                    httpx.delete("%s/api/%s/%%2F/%s" % (self.management_url, kind, quoted), auth=auth, timeout=10)


@pytest.fixture
def run(rabbitmq):
    state = Run(rabbitmq[1])
    yield state
    state.cleanup()


def wait_healthy(container: str) -> None:
    """Run the image's health check until it passes (podman has no systemd timer here to run it by itself)."""
    deadline = time.monotonic() + HEALTHY_WITHIN
    while True:
        check = podman("healthcheck", "run", container, check=False, timeout=60)
        if check.returncode == 0:
            break
        running = podman("inspect", "--format", "{{.State.Running}}", container, check=False).stdout.strip()
        if running != "true" or time.monotonic() > deadline:
            logs = podman("logs", container, check=False)
            raise AssertionError(
                "%s did not become healthy (running=%s): %s%s" % (container, running, logs.stdout, logs.stderr)
            )
        time.sleep(0.5)
    status = podman("inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip()
    assert status == "healthy"


def ravendb(run: Run, name: str, volume: str) -> str:
    """A RavenDB stand-in container with its data in ``volume``; returns its URL (RAVENDB_CONNECTIONSTRING)."""
    port = free_port()
    url = "http://127.0.0.1:%d" % port
    run.run(name, RAVENDB_IMAGE, env={"RAVEN_ServerUrl": url}, options=["-v", "%s:/var/lib/ravendb/data" % volume])
    wait_healthy(run.name(name))
    return url


def error_total(port: int) -> tuple[int, list[str]]:
    response = httpx.get("http://127.0.0.1:%d/api/errors" % port, params={"per_page": 100}, timeout=5)
    assert response.status_code == 200, response.text
    return int(response.headers["Total-Count"]), sorted(m["id"] for m in response.json())


def wait_for_total(port: int, expected: int) -> list[str]:
    deadline = time.monotonic() + INGESTED_WITHIN
    while True:
        total, ids = error_total(port)
        if total == expected:
            return ids
        assert time.monotonic() < deadline, "expected %d failed messages, the API shows %d" % (expected, total)
        time.sleep(0.3)


def send_failures(connection_string: str, endpoint: str, error_queue: str, count: int) -> None:
    command = [sys.executable, "-m", "lab", "endpoint", "--transport", TRANSPORT, "--endpoint", endpoint]
    command += ["--error-queue", error_queue, "--audit-queue", "", "--setup", "fail", "--count", str(count)]
    completed = subprocess.run(  # noqa: S603 - fixed argv
        command,
        cwd=ROOT,
        env=dict(os.environ, LAB_TRANSPORT_CONNECTION_STRING=connection_string, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["sent"] == count


def instance_environment(rabbitmq: tuple[str, str], api_port: int, **settings: str) -> dict[str, str]:
    """The transport, the RavenDB URL (when given) and the instance's own settings, as environment variables."""
    return {
        "TRANSPORTTYPE": TRANSPORT,
        "CONNECTIONSTRING": rabbitmq[0],
        # Host networking cannot publish the fixed port on another one; the lab's knob stands for -p PORT:33333.
        "LAB_CONTAINER_PORT": str(api_port),
        **settings,
    }


def test_error_instance_keeps_its_failed_messages_in_the_ravendb_container(images, rabbitmq, run: Run):
    connection_string = rabbitmq[0]
    data = run.volume("ravendb-data")
    raven_url = ravendb(run, "db", data)
    api_port = free_port()
    error_queue = run.name("error")
    environment = instance_environment(
        rabbitmq,
        api_port,
        RAVENDB_CONNECTIONSTRING=raven_url,
        SERVICECONTROL_INSTANCENAME=run.name("sc"),
        SERVICEBUS_ERRORQUEUE=error_queue,
    )

    # --setup: a one-shot container creates the queues (and the database) and exits 0.
    setup = run.run("setup", ERROR_IMAGE, "--setup", env=environment, detach=False)
    assert "Created queue %s" % error_queue in setup.stdout
    assert httpx.get(raven_url + "/admin/databases", params={"name": "primary"}, timeout=5).status_code == 200

    run.run("sc", ERROR_IMAGE, env=environment)
    wait_healthy(run.name("sc"))
    root = httpx.get("http://127.0.0.1:%d/api" % api_port, timeout=5)
    assert root.status_code == 200
    assert root.headers["X-Particular-Version"] == VERSION
    inspect = json.loads(podman("inspect", run.name("sc")).stdout)[0]
    assert inspect["Config"]["User"] == "1654", "the instance runs as .NET's APP_UID, not root"
    assert "ForwardErrorMessages=false" in inspect["Config"]["Env"], "the image's built-in settings"

    send_failures(connection_string, run.name("Sales"), error_queue, 3)
    ids = wait_for_total(api_port, 3)

    # A setting changes by re-creating the container; pausing ingestion is such a change.
    podman("rm", "-f", "-v", "-t", "5", run.name("sc"))
    run.run("sc-paused", ERROR_IMAGE, env={**environment, "SERVICECONTROL_INGESTERRORMESSAGES": "false"})
    wait_healthy(run.name("sc-paused"))
    assert error_total(api_port) == (3, ids), "the failed messages outlive the instance container"
    send_failures(connection_string, run.name("Sales"), error_queue, 1)
    time.sleep(2)
    assert error_total(api_port)[0] == 3, "ingestion is paused: the new failure waits in the error queue"

    # No RavenDB, no instance: it refuses to start, and so does --setup.
    podman("rm", "-f", "-v", "-t", "5", run.name("sc-paused"))
    podman("rm", "-f", "-v", "-t", "5", run.name("db"))
    refused = run.run("sc-refused", ERROR_IMAGE, env=environment, detach=False, check=False, timeout=90)
    assert refused.returncode != 0
    assert "Unrecoverable error" in refused.stderr
    assert "%s is unreachable" % raven_url in refused.stderr
    refused_setup = run.run("setup-refused", ERROR_IMAGE, "--setup", env=environment, detach=False, check=False)
    assert refused_setup.returncode != 0

    # A new RavenDB container on the same volume has every document: the data lives in the volume.
    environment["RAVENDB_CONNECTIONSTRING"] = ravendb(run, "db-again", data)
    run.run("sc-again", ERROR_IMAGE, env=environment)
    wait_healthy(run.name("sc-again"))
    assert set(ids) < set(wait_for_total(api_port, 4)), "all three are back, and the queued failure arrives"


def test_audit_image_setup_and_run(images, rabbitmq, run: Run):
    raven_url = ravendb(run, "db", run.volume("audit-data"))
    api_port = free_port()
    environment = instance_environment(
        rabbitmq,
        api_port,
        RAVENDB_CONNECTIONSTRING=raven_url,
        SERVICECONTROL_AUDIT_INSTANCENAME=run.name("audit"),
        SERVICEBUS_AUDITQUEUE=run.name("audit-queue"),
        SERVICECONTROLQUEUEADDRESS=run.name("sc"),
    )
    run.run("audit", AUDIT_IMAGE, "--setup-and-run", env=environment)
    wait_healthy(run.name("audit"))
    configuration = httpx.get("http://127.0.0.1:%d/api/configuration" % api_port, timeout=5)
    assert configuration.headers["X-Particular-Version"] == VERSION
    assert configuration.json()["data_retention"]["audit_retention_period"] == "7.00:00:00", "the image's default"
    databases = httpx.get(raven_url + "/admin/databases", params={"name": "audit"}, timeout=5)
    assert databases.status_code == 200, "the Audit instance's database is named audit"


def test_monitoring_image_setup_and_run(images, rabbitmq, run: Run):
    api_port = free_port()
    environment = instance_environment(
        rabbitmq, api_port, MONITORING_INSTANCENAME=run.name("monitoring"), MONITORING_ERRORQUEUE=run.name("error")
    )
    run.run("monitoring", MONITORING_IMAGE, "--setup-and-run", env=environment)
    wait_healthy(run.name("monitoring"))
    connection = httpx.get("http://127.0.0.1:%d/connection" % api_port, timeout=5)
    assert connection.status_code == 200
    assert connection.headers["X-Particular-Version"] == VERSION
    queues = httpx.get("%s/api/queues/%%2F" % rabbitmq[1], auth=("guest", "guest"), timeout=10).json()
    assert run.name("monitoring") in {queue["name"] for queue in queues}, "--setup-and-run created its queue"


def _collections_path() -> Path:
    if os.environ.get("ANSIBLE_COLLECTIONS_PATH"):
        return Path(os.environ["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0])
    inside_tree = ROOT.parent.parent.name == "ansible_collections"
    return ROOT.parents[2] if inside_tree else ROOT / ".build" / "collections"


def test_ansible_container_modules_drive_podman(images, tmp_path: Path):
    """What the collection's container target does: community.docker.docker_container through podman's
    Docker-compatible API, and containers.podman.podman_container with the project's containers.conf.

    Each starts a container from a stand-in image; a second identical run must report no change."""
    collections = _collections_path()
    for needed in ("community/docker", "containers/podman"):
        if not (collections / "ansible_collections" / needed).is_dir():
            _unavailable("%s is not in %s (make collections)" % (needed.replace("/", "."), collections))
    state = Run()
    socket_path = tmp_path / "podman.sock"
    service = subprocess.Popen(  # noqa: S603 - fixed argv
        ["podman", "system", "service", "--time=0", "unix://%s" % socket_path],  # noqa: S607
        env=dict(os.environ, CONTAINERS_CONF=str(CONTAINERS_CONF)),
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "service.log").open("wb"),
    )
    state.containers += [state.name("docker-api"), state.name("podman-module")]
    ports = {"docker": free_port(), "podman": free_port()}
    try:
        deadline = time.monotonic() + 30
        while not socket_path.exists():
            assert service.poll() is None, (tmp_path / "service.log").read_text()
            assert time.monotonic() < deadline, "podman system service did not open its socket"
            time.sleep(0.1)
        docker = {
            "community.docker.docker_container": {
                "docker_host": "unix://%s" % socket_path,
                "name": state.name("docker-api"),
                "image": "docker.io/" + RAVENDB_IMAGE,
                "network_mode": "host",
                "env": {"RAVEN_ServerUrl": "http://127.0.0.1:%d" % ports["docker"]},
                "state": "started",
                # podman's Docker API leaves the image's EXPOSE and VOLUME out of a host-networked container's
                # inspect, so docker_container would re-create it on every run without these two comparisons.
                "comparisons": {"exposed_ports": "ignore", "volumes": "ignore"},
            }
        }
        podman_module = {
            "containers.podman.podman_container": {
                "name": state.name("podman-module"),
                "image": "docker.io/" + RAVENDB_IMAGE,
                "network": "host",
                "env": {"RAVEN_ServerUrl": "http://127.0.0.1:%d" % ports["podman"]},
                "state": "started",
            }
        }
        tasks = []
        for name, task in (("docker", docker), ("podman", podman_module)):
            tasks += [{**task, "register": name + "_first"}, {**task, "register": name + "_second"}]
            that = ["%s_first is changed" % name, "%s_second is not changed" % name]
            tasks.append({"ansible.builtin.assert": {"that": that}})
        playbook = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]
        (tmp_path / "play.yml").write_text(json.dumps(playbook), encoding="utf-8")
        command = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local"]
        command += ["-e", "ansible_python_interpreter=%s" % sys.executable, str(tmp_path / "play.yml")]
        environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1")
        environment["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
        completed = subprocess.run(  # noqa: S603 - fixed argv
            command, env=environment, capture_output=True, text=True, timeout=180, check=False
        )
        assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
        for name, port in ports.items():
            deadline = time.monotonic() + HEALTHY_WITHIN
            while True:
                try:
                    alive = httpx.get("http://127.0.0.1:%d/setup/alive" % port, timeout=2)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the container started by the %s module never answered" % name
                    time.sleep(0.3)
            assert alive.status_code == 204
    finally:
        service.terminate()
        try:
            service.wait(timeout=15)
        except subprocess.TimeoutExpired:
            service.kill()
        state.cleanup()
