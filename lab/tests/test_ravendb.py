"""The RavenDB stand-in (lab/ravendb.py) and the instances' store on it (lab/instance/ravendb_store.py).

ServiceControl in a container keeps its documents in a RavenDB container reached through
``RAVENDB_CONNECTIONSTRING`` (docs/reference/servicecontrol.md §3.2); on start it checks the server
version and creates its database, and it does not start when the server cannot be reached.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import httpx
import pytest

from lab import ravendb
from lab.instance.ravendb_store import RavenDocumentStore, RavenRequestError, RavenUnavailableError
from lab.instance.store import DocumentStore
from lab.ravendb import RavenServer
from lab.settings import SettingsError, load_settings
from lab.tests.instance_support import failed_message, wait_until
from lab.tests.test_instance_process import error_env, free_port, lab_command, stop, wait_for_api
from lab.transports import open_lab_transport

V6 = (6, 19, 2)


@pytest.fixture
def server(tmp_path: Path):
    raven = RavenServer("http://127.0.0.1:0", tmp_path / "raven")
    raven.start()
    yield raven
    raven.stop()


def url_of(raven: RavenServer) -> str:
    return "http://127.0.0.1:%d" % raven.port


def exercise(store) -> list:
    """The same calls on either store; returns what each answered."""
    seen: list = []
    store.put("FailedMessages", "b", {"id": "b", "status": "unresolved"})
    store.put("FailedMessages", "a", {"id": "a", "status": "unresolved", "text": "ünïcode"})
    store.put("KnownEndpoints", "a", {"name": "Sales"})
    seen.append(store.get("FailedMessages", "a"))
    seen.append(store.get("FailedMessages", "missing"))
    seen.append([d["id"] for d in store.all("FailedMessages")])
    seen.append(store.count("FailedMessages"))
    seen.append(store.update("FailedMessages", "b", lambda d: d.update(status="archived")))
    seen.append(store.update("FailedMessages", "missing", lambda d: None))
    seen.append(store.delete("KnownEndpoints", "a"))
    seen.append(store.delete("KnownEndpoints", "a"))
    store.put_body("a", b"\x00body\xff")
    seen.append(store.get_body("a"))
    seen.append(store.get_body("missing"))
    with store.transaction():
        store.put("FailedMessages", "c", {"id": "c"})
        store.put_body("c", b"c-body")
        seen.append(store.get("FailedMessages", "c"))  # read back inside the batch
        seen.append(store.count("FailedMessages"))
        seen.append(store.get_body("c"))
    with pytest.raises(ZeroDivisionError), store.transaction():
        store.put("FailedMessages", "d", {"id": "d"})
        1 / 0  # noqa: B018 - the batch must be dropped
    seen.append([d["id"] for d in store.all("FailedMessages")])
    seen.append(store.count("KnownEndpoints"))
    return seen


def test_the_remote_store_answers_like_the_local_one(tmp_path: Path, server: RavenServer):
    local = DocumentStore(tmp_path / "local")
    remote = RavenDocumentStore.open(url_of(server), "primary", tmp_path / "db", V6)
    try:
        assert exercise(remote) == exercise(local)
    finally:
        local.close()
        remote.close()


def test_documents_survive_a_server_restart_in_the_data_directory(tmp_path: Path):
    first = RavenServer("http://127.0.0.1:0", tmp_path / "data")
    first.start()
    store = RavenDocumentStore.open(url_of(first), "primary", tmp_path / "db", V6)
    store.put("FailedMessages", "x", {"id": "x"})
    store.put_body("x", b"payload")
    store.close()
    first.stop()
    assert (tmp_path / "data" / "Databases" / "primary").is_dir()

    second = RavenServer("http://127.0.0.1:0", tmp_path / "data")
    second.start()
    try:
        again = RavenDocumentStore.open(url_of(second), "primary", tmp_path / "elsewhere", V6)
        assert again.get("FailedMessages", "x") == {"id": "x"}
        assert again.get_body("x") == b"payload"
        again.close()
    finally:
        second.stop()


def test_ravendb_routes(server: RavenServer):
    base = url_of(server)
    assert httpx.get(base + "/setup/alive").status_code == 204
    assert httpx.get(base + "/build/version").json()["ProductVersion"] == "6.2"
    assert httpx.get(base + "/admin/databases", params={"name": "audit"}).status_code == 503
    assert httpx.put(base + "/admin/databases", json={"DatabaseName": "audit"}).status_code == 201
    assert httpx.put(base + "/admin/databases", json={"DatabaseName": "audit"}).status_code == 409
    missing = httpx.get(base + "/databases/nope/docs", params={"id": "x"})
    assert missing.status_code == 503
    assert missing.json()["Type"].endswith("DatabaseDoesNotExistException")
    batch = {
        "Commands": [
            {"Type": "PUT", "Id": "Things/1", "Document": {"n": 1, "@metadata": {"@collection": "Things"}}},
            {"Type": "Nonsense", "Id": "Things/2"},
        ]
    }
    assert httpx.post(base + "/databases/audit/bulk_docs", json=batch).status_code == 400
    assert httpx.get(base + "/databases/audit/docs", params={"id": "Things/1"}).status_code == 404, "all or nothing"


def test_open_creates_the_database_and_tolerates_an_existing_one(tmp_path: Path, server: RavenServer):
    first = RavenDocumentStore(url_of(server), "primary", tmp_path)
    assert first.ensure_database() is True
    assert first.ensure_database() is False
    first.close()


def test_an_unreachable_server_is_an_os_error_naming_the_url(tmp_path: Path):
    port = free_port()
    with pytest.raises(RavenUnavailableError, match="127.0.0.1:%d is unreachable" % port) as raised:
        RavenDocumentStore.open("http://127.0.0.1:%d" % port, "primary", tmp_path, V6)
    assert isinstance(raised.value, OSError)


def test_a_server_older_than_the_client_is_refused(tmp_path: Path, server: RavenServer, monkeypatch):
    monkeypatch.setitem(ravendb.BUILD, "ProductVersion", "5.4")
    with pytest.raises(RavenRequestError, match=r"expects RavenDB Server version 6\.2 or higher.*using 5\.4"):
        RavenDocumentStore.open(url_of(server), "primary", tmp_path, V6)
    RavenDocumentStore.open(url_of(server), "primary", tmp_path, (5, 11, 0)).close()


def test_tls_connection_strings_are_refused_clearly(tmp_path: Path):
    with pytest.raises(ValueError, match="must be an http:// URL"):
        RavenDocumentStore("https://raven:443", "primary", tmp_path)


# ---------------------------------------------------------------- settings


def test_connection_string_and_database_name_are_read_like_servicecontrol():
    base = {"TRANSPORTTYPE": "LearningTransport", "FORWARDERRORMESSAGES": "false", "ERRORRETENTIONPERIOD": "15"}
    error = load_settings("error", environ={**base, "RAVENDB_CONNECTIONSTRING": "http://db:8080"})
    assert (error.ravendb_connection_string, error.ravendb_database_name) == ("http://db:8080", "primary")
    qualified = {
        **base,
        "RAVENDB_CONNECTIONSTRING": "http://bare",
        "SERVICECONTROL_RAVENDB_CONNECTIONSTRING": "http://q",
    }
    assert load_settings("error", environ=qualified).ravendb_connection_string == "http://q"
    audit = load_settings("audit", environ={**base, "RavenDB_ConnectionString": "http://db:8080"})
    assert (audit.ravendb_connection_string, audit.ravendb_database_name) == ("http://db:8080", "audit")
    named = {**base, "SERVICECONTROL_AUDIT_RAVENDB_DATABASENAME": "audit2"}
    assert load_settings("audit", environ=named).ravendb_database_name == "audit2"
    assert load_settings("error", environ=base).ravendb_connection_string is None
    # The key is RavenDB/ConnectionString: a name without the inner separator is read by nobody.
    wrong = {**base, "SERVICECONTROL_RAVENDBCONNECTIONSTRING": "http://db:8080"}
    assert load_settings("error", environ=wrong).ravendb_connection_string is None


def test_audit_refuses_a_connection_string_together_with_dbpath():
    env = {"TRANSPORTTYPE": "LearningTransport", "RAVENDB_CONNECTIONSTRING": "http://db:8080", "DBPATH": "/data"}
    with pytest.raises(SettingsError, match="RavenDB/ConnectionString and DbPath cannot be specified at the same"):
        load_settings("audit", environ=env)


def test_in_a_container_the_port_is_fixed_unless_the_lab_moves_it():
    env = {
        "TRANSPORTTYPE": "LearningTransport",
        "FORWARDERRORMESSAGES": "false",
        "ERRORRETENTIONPERIOD": "15",
        "DOTNET_RUNNING_IN_CONTAINER": "true",
        "SERVICECONTROL_PORT": "1234",
    }
    settings = load_settings("error", environ=env)
    assert (settings.host_name, settings.port) == ("*", 33333)
    assert load_settings("error", environ={**env, "LAB_CONTAINER_PORT": "40001"}).port == 40001


# ---------------------------------------------------------------- the instance process on the stand-in


def test_the_instance_keeps_its_failed_messages_in_ravendb_and_refuses_to_start_without_it(tmp_path: Path):
    raven = RavenServer("http://127.0.0.1:0", tmp_path / "raven")
    raven.start()
    port = free_port()
    env = error_env(tmp_path, port, RAVENDB_CONNECTIONSTRING=url_of(raven))
    try:
        setup = lab_command("--kind", "error", "--setup", env=env, timeout=30)
        assert setup.returncode == 0, setup.stderr
        with urllib.request.urlopen(url_of(raven) + "/admin/databases?name=primary", timeout=5) as answer:  # noqa: S310
            assert json.load(answer)["DatabaseName"] == "primary", "--setup creates the database"

        process = lab_command("--kind", "error", env=env, background=True)
        try:
            wait_for_api("http://localhost:%d/api" % port, process)
            with open_lab_transport("LearningTransport", env["CONNECTIONSTRING"]) as transport:
                transport.send("error", failed_message("Sales"))
                transport.send("error", failed_message("Billing"))
            url = "http://localhost:%d/api/errors" % port
            wait_until(lambda: httpx.head(url, timeout=2).headers["Total-Count"] == "2", what="ingestion")
        finally:
            assert stop(process) == 0
        assert raven.database("primary").stats()["Collections"]["FailedMessages"] == 2

        # A new instance with another (empty) DbPath finds them: the data is in RavenDB, not beside the instance.
        moved = {**env, "SERVICECONTROL_DBPATH": str(tmp_path / "db2"), "SERVICECONTROL_INGESTERRORMESSAGES": "false"}
        process = lab_command("--kind", "error", env=moved, background=True)
        try:
            wait_for_api("http://localhost:%d/api" % port, process)
            assert httpx.head(url, timeout=2).headers["Total-Count"] == "2"
        finally:
            assert stop(process) == 0
    finally:
        raven.stop()

    refused = lab_command("--kind", "error", env=env, timeout=30)
    assert refused.returncode == 1
    assert "Unrecoverable error: The RavenDB server at %s is unreachable" % url_of(raven) in refused.stderr
    setup = lab_command("--kind", "error", "--setup", env=env, timeout=30)
    assert setup.returncode == 1
    assert "is unreachable" in setup.stderr


def test_skip_queue_creation(tmp_path: Path):
    env = error_env(tmp_path, free_port())
    result = lab_command("--kind", "error", "--setup", "--skip-queue-creation", env=env, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "Skipping queue creation" in result.stderr
    assert not (tmp_path / "learning").exists()
