"""End to end: ``python -m lab instance`` as a process, as the collection's playbooks will run it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from lab.tests.instance_support import failed_message, wait_until
from lab.transports import open_lab_transport

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lab_command(*args: str, env: dict[str, str], timeout: float | None = None, background: bool = False):
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith(("SERVICECONTROL", "SERVICEBUS"))}
    environ.update(env)
    environ["PYTHONPATH"] = str(REPO) + os.pathsep + environ.get("PYTHONPATH", "")
    command = [sys.executable, "-m", "lab", "instance", *args]
    if background:
        return subprocess.Popen(command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603
    return subprocess.run(command, env=environ, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603


def error_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    return {
        "TRANSPORTTYPE": "LearningTransport",
        "CONNECTIONSTRING": str(tmp_path / "learning"),
        "SERVICECONTROL_FORWARDERRORMESSAGES": "false",
        "SERVICECONTROL_ERRORRETENTIONPERIOD": "15",
        "SERVICECONTROL_DBPATH": str(tmp_path / "db"),
        "SERVICECONTROL_PORT": str(port),
        **extra,
    }


def wait_for_api(url: str, process: subprocess.Popen) -> httpx.Response:
    def ready():
        if process.poll() is not None:
            raise AssertionError("the instance exited: %s" % process.stderr.read())
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            return None

    return wait_until(ready, timeout=15, interval=0.1, what=url)


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()


def test_setup_then_run_ingest_and_stop(tmp_path: Path):
    port = free_port()
    env = error_env(tmp_path, port, LAB_SERVICECONTROL_VERSION="6.18.1")
    setup = lab_command("--kind", "error", "--setup", env=env, timeout=30)
    assert setup.returncode == 0, setup.stderr
    assert "Created queue Particular.ServiceControl.staging" in setup.stdout
    assert (tmp_path / "learning" / "error").is_dir()

    process = lab_command("--kind", "error", env=env, background=True)
    try:
        response = wait_for_api("http://localhost:%d/api" % port, process)
        assert response.headers["X-Particular-Version"] == "6.18.1"
        with open_lab_transport("LearningTransport", str(tmp_path / "learning")) as transport:
            transport.send("error", failed_message("Sales"))
        url = "http://localhost:%d/api/errors" % port
        wait_until(lambda: httpx.head(url, timeout=2).headers["Total-Count"] == "1", what="ingestion")
    finally:
        assert stop(process) == 0


def test_config_file_and_settings_error_exit_code(tmp_path: Path):
    config = tmp_path / "ServiceControl.exe.config"
    config.write_text(
        '<configuration><appSettings><add key="ServiceControl/ErrorRetentionPeriod" value="50"/></appSettings>'
        "</configuration>",
        encoding="utf-8",
    )
    env = error_env(tmp_path, free_port())
    del env["SERVICECONTROL_ERRORRETENTIONPERIOD"]
    result = lab_command("--kind", "error", "--config", str(config), env=env, timeout=30)
    assert result.returncode == 1
    assert "ErrorRetentionPeriod settings is invalid, value should be maximum 45 days" in result.stderr


def test_forwarding_to_a_missing_log_queue_stops_the_process(tmp_path: Path):
    port = free_port()
    env = error_env(tmp_path, port, SERVICECONTROL_FORWARDERRORMESSAGES="true")
    (tmp_path / "learning" / "error").mkdir(parents=True)
    process = lab_command("--kind", "error", env=env, background=True)
    try:
        code = process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    stderr = process.stderr.read()
    assert code == 0, "ServiceControl stops the host normally (StopApplication)"
    assert "Unable to write to forwarding queue error.log" in stderr


def test_setup_and_run_audit_with_ingestion_disabled_creates_nothing(tmp_path: Path):
    port = free_port()
    env = {
        "TRANSPORTTYPE": "LearningTransport",
        "CONNECTIONSTRING": str(tmp_path / "learning"),
        "SERVICECONTROL_AUDIT_DBPATH": str(tmp_path / "db"),
        "SERVICECONTROL_AUDIT_PORT": str(port),
        "INGESTAUDITMESSAGES": "false",
    }
    process = lab_command("--kind", "audit", "--setup-and-run", env=env, background=True)
    try:
        response = wait_for_api("http://localhost:%d/api/configuration" % port, process)
        assert response.json()["transport"]["audit_queue"] == "audit"
        assert not (tmp_path / "learning").exists() or not any((tmp_path / "learning").iterdir())
        assert process.poll() is None, "the instance keeps running with ingestion disabled"
    finally:
        assert stop(process) == 0
