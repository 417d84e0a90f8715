# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Learning transport on the real filesystem (tmp_path): directories, depth, check mode, bad names."""

from __future__ import annotations

import os

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils import _transport_learning as learning
from ansible_collections.servicecontrol.platform.plugins.module_utils._messages import Message
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    TransportConfigurationError,
    TransportError,
    open_transport,
)


def make(root):
    return open_transport("LearningTransport", str(root))


def tree(root):
    return sorted(os.path.relpath(os.path.join(d, n), root) for d, dirs, files in os.walk(root) for n in dirs + files)


# -- connection string ------------------------------------------------------------------------------


def test_expands_windows_and_posix_variables():
    environ = {"TEMP": "/srv/data", "SC": "sc"}
    assert learning.expand_environment("%TEMP%/.learningtransport", environ) == ("/srv/data/.learningtransport", [])
    assert learning.expand_environment("$TEMP/${SC}/x", environ) == ("/srv/data/sc/x", [])
    assert learning.expand_environment("%NOPE%/$ALSO_NOPE", environ) == ("%NOPE%/$ALSO_NOPE", ["ALSO_NOPE", "NOPE"])


def test_storage_root_uses_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SC_LEARNING_ROOT", str(tmp_path))
    assert make("%SC_LEARNING_ROOT%/.learningtransport").root == str(tmp_path / ".learningtransport")


@pytest.mark.parametrize(
    ("connection_string", "message"),
    [
        ("", "needs a connection string"),
        ("relative/dir", "not an absolute path"),
        ("%SURELY_NOT_SET_VARIABLE%/x", "SURELY_NOT_SET_VARIABLE, which are not set"),
    ],
)
def test_bad_roots_fail_clearly(connection_string, message):
    with pytest.raises(TransportConfigurationError, match=message):
        make(connection_string)


# -- names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty"),
        (".", "storage directory or above"),
        ("..", "storage directory or above"),
        ("a/b", "'/'"),
        ("a\\b", "'\\\\\\\\'"),
        ("err:or", "':'"),
        ("what?", "'?'"),
        ("tab\there", "'\\\\t'"),
        ("error.", "ends with a space or a dot"),
        ("CON", "reserved device name"),
        ("nul.log", "reserved device name"),
        ("q" * 256, "longer than 255 bytes"),
    ],
)
def test_bad_names_are_refused(tmp_path, name, message):
    with pytest.raises(InvalidQueueNameError, match=message):
        make(tmp_path).physical_name(name)


def test_servicecontrol_names_are_directories_under_the_root(tmp_path):
    transport = make(tmp_path)
    for name in ("error", "audit", "error.log", "Particular.ServiceControl", "Particular.ServiceControl.staging"):
        assert transport.physical_name(name) == str(tmp_path / name)


# -- ensure / describe / depth / delete -------------------------------------------------------------


def test_ensure_creates_the_queue_and_bodies_directories(tmp_path):
    root = tmp_path / "store"
    with make(root) as transport:
        result = transport.ensure("error.log")
        assert (result["changed"], result["action"]) == (True, "created")
        assert result["commands"] == ["mkdir %s" % (root / "error.log"), "mkdir %s" % (root / "error.log" / ".bodies")]
        assert (root / "error.log" / ".bodies").is_dir()
        assert result["after"] == transport.describe("error.log")
        again = transport.ensure("error.log")
    assert (again["changed"], again["action"], again["commands"]) == (False, "existed", [])


def test_check_mode_does_nothing_and_predicts_the_real_result(tmp_path):
    with make(tmp_path) as transport:
        dry = transport.ensure("error", check_mode=True)
        assert tree(tmp_path) == []
        real = transport.ensure("error")
    assert dry == real


def test_existing_directory_without_bodies_gets_it(tmp_path):
    (tmp_path / "audit").mkdir()
    (tmp_path / "audit" / "1.metadata.txt").write_text("{}")
    with make(tmp_path) as transport:
        dry = transport.ensure("audit", check_mode=True)
        real = transport.ensure("audit")
    assert dry == real
    assert (real["action"], real["commands"]) == ("updated", ["mkdir %s" % (tmp_path / "audit" / ".bodies")])
    assert real["after"]["depth"] == 1


def test_depth_counts_files_directly_in_the_queue_directory(tmp_path):
    queue = tmp_path / "error"
    (queue / ".bodies").mkdir(parents=True)
    for index in range(3):
        (queue / ("m%d.metadata.txt" % index)).write_text("{}")
        (queue / ".bodies" / ("m%d.body.txt" % index)).write_bytes(b"x")
    (queue / ".pending" / "tx").mkdir(parents=True)
    (queue / ".pending" / "tx" / "m9.metadata.txt").write_text("{}")
    with make(tmp_path) as transport:
        assert transport.depth("error") == 3
        state = transport.describe("error")
        assert state["properties"] == {"path": str(queue), "bodies_directory": True}
        assert transport.depth("missing") is None


def test_delete_removes_the_tree_check_mode_first(tmp_path):
    (tmp_path / "error" / ".bodies").mkdir(parents=True)
    (tmp_path / "error" / "a.metadata.txt").write_text("{}")
    (tmp_path / "audit").mkdir()
    with make(tmp_path) as transport:
        dry = transport.delete("error", check_mode=True)
        assert (tmp_path / "error" / "a.metadata.txt").exists()
        real = transport.delete("error")
        again = transport.delete("error")
    assert dry == real
    assert real["commands"] == ["rm -r %s" % (tmp_path / "error")]
    assert real["before"]["depth"] == 1
    assert not (tmp_path / "error").exists()
    assert (tmp_path / "audit").is_dir()
    assert (again["changed"], again["action"]) == (False, "absent")


def test_a_file_where_the_queue_should_be_is_an_error(tmp_path):
    (tmp_path / "error").write_text("not a queue")
    with make(tmp_path) as transport, pytest.raises(TransportError, match="exists but is not a directory"):
        transport.ensure("error")
    assert (tmp_path / "error").read_text() == "not a queue"


def test_root_that_is_a_file_fails_on_open(tmp_path):
    (tmp_path / "root").write_text("")
    with pytest.raises(TransportError, match="not a directory"), make(tmp_path / "root"):
        pass


# -- send ---------------------------------------------------------------------------------------------


def probe(**headers):
    return Message(
        "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e", {"NServiceBus.MessageId": "6f1c2d3e", "A/B": "é", **headers}, b"\x00{}"
    )


def test_send_writes_the_body_then_the_metadata_as_nservicebus_does(tmp_path):
    (tmp_path / "error").mkdir()
    with make(tmp_path) as transport:
        result = transport.send("error", probe())
    native = result["native_message_id"]
    assert tree(tmp_path) == [
        "error",
        os.path.join("error", ".bodies"),
        os.path.join("error", ".bodies", native + ".body.txt"),
        os.path.join("error", native + ".metadata.txt"),
    ]
    assert (tmp_path / "error" / ".bodies" / (native + ".body.txt")).read_bytes() == b"\x00{}"
    # System.Text.Json indented by two spaces with CRLF; non-ASCII escaped; '/' as it is.
    assert (tmp_path / "error" / (native + ".metadata.txt")).read_bytes() == (
        b'{\r\n  "NServiceBus.MessageId": "6f1c2d3e",\r\n  "A/B": "\\u00e9"\r\n}'
    )
    assert result["commands"] == [
        "write %s (3 bytes)" % (tmp_path / "error" / ".bodies" / (native + ".body.txt")),
        "write %s (2 headers)" % (tmp_path / "error" / (native + ".metadata.txt")),
    ]
    assert (result["action"], result["changed"], result["physical_name"]) == ("sent", True, str(tmp_path / "error"))
    assert result["message_id"] == "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e"
    with make(tmp_path) as transport:
        assert transport.depth("error") == 1


def test_send_in_check_mode_writes_nothing(tmp_path):
    (tmp_path / "error").mkdir()
    with make(tmp_path) as transport:
        result = transport.send("error", probe(), check_mode=True)
    assert tree(tmp_path) == ["error"]
    assert result["native_message_id"] is None
    assert result["commands"][1] == "write %s (2 headers)" % (tmp_path / "error" / "<new GUID>.metadata.txt")


def test_send_to_a_missing_queue_creates_nothing(tmp_path):
    with make(tmp_path) as transport, pytest.raises(TransportError, match="does not exist on LearningTransport"):
        transport.send("error", probe())
    assert tree(tmp_path) == []


def test_a_failed_write_leaves_no_metadata_file(tmp_path, monkeypatch):
    (tmp_path / "error").mkdir()

    def refuse(source, target):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(learning.os, "replace", refuse)
    with make(tmp_path) as transport, pytest.raises(TransportError, match="Permission denied"):
        transport.send("error", probe())
    assert not [name for name in tree(tmp_path) if name.endswith((".metadata.txt", ".tmp"))]
