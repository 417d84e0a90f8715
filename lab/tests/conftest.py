"""Shared fixtures for the lab tests: where the real services are, and whether they are up.

A test needing a service that is unreachable fails when CI=true and is skipped (with the reason)
otherwise. Endpoints come from SCTEST_* environment variables, else from tests/endpoints.env.
"""

from __future__ import annotations

import os
import socket
import urllib.parse
from pathlib import Path

import pytest

_ENDPOINTS_FILE = Path(__file__).resolve().parents[2] / "tests" / "endpoints.env"


def _endpoint(key: str) -> str:
    if os.environ.get(key):
        return os.environ[key]
    if _ENDPOINTS_FILE.is_file():
        for line in _ENDPOINTS_FILE.read_text(encoding="utf-8").splitlines():
            name, sep, value = line.partition("=")
            if sep and name.strip() == key:
                return value.strip()
    return ""


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _require(service: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    reason = "%s is not reachable on %s:%s (start it with: bash tests/services.sh start)" % (service, host, port)
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + "; CI=true, so this is a failure, not a skip.")
    pytest.skip(reason)


def _key_value(connection_string: str) -> dict[str, str]:
    pairs = {}
    for part in connection_string.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            pairs[key.strip().lower()] = value.strip()
    return pairs


@pytest.fixture(scope="session")
def rabbitmq_connection_string() -> str:
    """ServiceControl-style RabbitMQ connection string of the running broker."""
    value = _endpoint("SCTEST_RABBITMQ_CONNECTION_STRING") or "host=127.0.0.1;port=5672;username=guest;password=guest"
    pairs = _key_value(value)
    _require("RabbitMQ", pairs.get("host", "127.0.0.1"), int(pairs.get("port", "5672")))
    return value


@pytest.fixture(scope="session")
def rabbitmq_management_url(rabbitmq_connection_string: str) -> str:
    """Base URL of the RabbitMQ management API (guest/guest)."""
    value = _endpoint("SCTEST_RABBITMQ_MANAGEMENT_URL") or "http://127.0.0.1:15672"
    url = urllib.parse.urlsplit(value)
    _require("RabbitMQ management API", url.hostname or "127.0.0.1", url.port or 15672)
    return value.rstrip("/")


@pytest.fixture(scope="session")
def postgresql_connection_string() -> str:
    """Npgsql-style PostgreSQL connection string of the running server."""
    value = (
        _endpoint("SCTEST_POSTGRESQL_CONNECTION_STRING")
        or "Host=127.0.0.1;Port=55432;Database=postgres;Username=postgres;Password=unused"
    )
    pairs = _key_value(value)
    _require("PostgreSQL", pairs.get("host", pairs.get("server", "127.0.0.1")), int(pairs.get("port", "5432")))
    return value


@pytest.fixture(params=["LearningTransport", "RabbitMQ.QuorumConventionalRouting"])
def lab_broker(request, tmp_path):
    """Queues for a lab instance test: a Learning-transport directory, or the RabbitMQ broker (skipped
    when unreachable); queue names get a unique suffix (lab/tests/instance_support.py)."""
    import uuid

    from lab.tests.instance_support import Broker

    suffix = uuid.uuid4().hex[:8]
    if request.param == "LearningTransport":
        return Broker("LearningTransport", str(tmp_path / "learning"), suffix)
    return Broker(request.param, request.getfixturevalue("rabbitmq_connection_string"), suffix)


@pytest.fixture
def apis(tmp_path):
    """The Error and Audit instances' APIs (route tables, no server, no store), for the route-table tests."""
    from lab.instance.api import AuditApi, ErrorApi
    from lab.instance.audit import AuditInstance
    from lab.instance.error import ErrorInstance
    from lab.settings import load_settings
    from lab.transports import open_lab_transport

    environ = {
        "TRANSPORTTYPE": "LearningTransport",
        "CONNECTIONSTRING": str(tmp_path / "lt"),
        "SERVICECONTROL_FORWARDERRORMESSAGES": "false",
        "SERVICECONTROL_ERRORRETENTIONPERIOD": "15",
    }

    def factory():
        return open_lab_transport("LearningTransport", str(tmp_path / "lt"))

    error = ErrorInstance(load_settings("error", None, environ), factory, store=None)
    try:
        yield ErrorApi(error), AuditApi(AuditInstance(load_settings("audit", None, environ), factory, store=None))
    finally:
        error.sender.close()
