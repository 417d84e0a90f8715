"""Learning transport: native on-disk format and queue behaviour."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from lab.transports import LabMessage, QueueNotFoundError, open_lab_transport
from lab.transports.learning import LearningTransport, storage_root


def _message(n: int = 1) -> LabMessage:
    return LabMessage(
        headers={
            "NServiceBus.MessageId": "msg-%d" % n,
            "NServiceBus.ReplyToAddress": "Sales/Replies",
            "NServiceBus.ContentType": "application/json",
        },
        body=b'{"OrderId": %d}' % n,
    )


@pytest.fixture
def transport(tmp_path):
    lab_transport = open_lab_transport("LearningTransport", str(tmp_path / "root"))
    lab_transport.create_queue("error")
    yield lab_transport
    lab_transport.close()


def test_files_on_disk_have_native_names_and_json(transport, tmp_path):
    message = _message()
    transport.send("error", message)

    queue_dir = tmp_path / "root" / "error"
    files = sorted(p.name for p in queue_dir.iterdir() if p.is_file())
    assert files == ["%s.metadata.txt" % message.native_id]
    bodies = sorted(p.name for p in (queue_dir / ".bodies").iterdir())
    assert bodies == ["%s.body.txt" % message.native_id]

    raw = (queue_dir / files[0]).read_text(encoding="utf-8")
    assert json.loads(raw) == message.headers
    assert "Sales\\/Replies" in raw  # DataContractJsonSerializer-style escaping, readable by NSB 7-10
    assert (queue_dir / ".bodies" / bodies[0]).read_bytes() == b'{"OrderId": 1}'


def test_reads_a_message_written_by_nservicebus(transport, tmp_path):
    queue_dir = tmp_path / "root" / "error"
    native_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    (queue_dir / ".bodies" / (native_id + ".body.txt")).write_bytes(b"<xml/>")
    # NServiceBus 10 writes plain indented JSON with CRLF line ends.
    (queue_dir / (native_id + ".metadata.txt")).write_text(
        '{\r\n  "NServiceBus.MessageId": "abc",\r\n  "NServiceBus.FailedQ": "Sales"\r\n}', encoding="utf-8"
    )
    received = transport.receive("error")
    assert received.native_id == native_id
    assert received.headers == {"NServiceBus.MessageId": "abc", "NServiceBus.FailedQ": "Sales"}
    assert received.body == b"<xml/>"


def test_send_receive_complete_abandon_depth(transport, tmp_path):
    for n in range(3):
        transport.send("error", _message(n))
    assert transport.depth("error") == 3

    first = transport.receive("error")
    assert first.message_id == "msg-0"
    assert first.body == b'{"OrderId": 0}'
    # Claimed: moved under .pending/<txid>/, still counted by depth.
    pending = list((tmp_path / "root" / "error" / ".pending").glob("*/*.metadata.txt"))
    assert [p.name for p in pending] == ["%s.metadata.txt" % first.native_id]
    assert transport.depth("error") == 3

    transport.abandon(first)
    assert transport.depth("error") == 3
    assert not list((tmp_path / "root" / "error" / ".pending").iterdir())

    seen = []
    while (received := transport.receive("error")) is not None:
        seen.append(received.message_id)
        transport.complete(received)
    assert sorted(seen) == ["msg-0", "msg-1", "msg-2"]
    assert transport.depth("error") == 0
    assert list((tmp_path / "root" / "error" / ".bodies").iterdir()) == []
    assert transport.receive("error") is None


def test_complete_twice_is_refused(transport):
    transport.send("error", _message())
    received = transport.receive("error")
    transport.complete(received)
    with pytest.raises(ValueError, match="already completed"):
        transport.complete(received)


def test_send_to_missing_queue_fails(transport, tmp_path):
    with pytest.raises(QueueNotFoundError, match="does not exist"):
        transport.send("nowhere", _message())
    assert not (tmp_path / "root" / "nowhere").exists()
    assert transport.queue_exists("error")
    assert not transport.queue_exists("nowhere")


def test_bad_queue_names_are_refused(transport):
    for name in ("../escape", "a/b", ".pending", ""):
        with pytest.raises(ValueError, match="Invalid queue name"):
            transport.create_queue(name)


def test_create_queue_is_idempotent_and_native(transport, tmp_path):
    transport.create_queue("error")
    assert sorted(p.name for p in (tmp_path / "root" / "error").iterdir()) == [".bodies"]


def test_expired_time_to_be_received_is_dropped(transport, tmp_path):
    message = _message()
    message.headers["NServiceBus.Transport.Learning.TimeToBeReceived"] = "00:00:01"
    transport.send("error", message)
    metadata = tmp_path / "root" / "error" / ("%s.metadata.txt" % message.native_id)
    old = time.time() - 10
    os.utime(metadata, (old, old))
    assert transport.receive("error") is None
    assert transport.depth("error") == 0


def test_concurrent_receivers_never_get_the_same_message(tmp_path):
    root = str(tmp_path / "root")
    sender = LearningTransport(root)
    sender.create_queue("audit")
    total = 200
    for n in range(total):
        sender.send("audit", _message(n))

    results: list[list[str]] = [[] for _ in range(4)]

    def drain(bucket: list[str]) -> None:
        receiver = LearningTransport(root)
        while (received := receiver.receive("audit")) is not None:
            bucket.append(received.message_id)
            receiver.complete(received)

    threads = [threading.Thread(target=drain, args=(bucket,)) for bucket in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [message_id for bucket in results for message_id in bucket]
    assert len(everything) == total
    assert len(set(everything)) == total
    assert sender.depth("audit") == 0


def test_connection_string_expands_environment_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_ROOT_TEST", str(tmp_path))
    assert storage_root("%LAB_ROOT_TEST%/.learningtransport") == tmp_path / ".learningtransport"
    assert storage_root("$LAB_ROOT_TEST/x") == tmp_path / "x"
    with pytest.raises(ValueError, match="empty"):
        storage_root("  ")


def test_unknown_transport_is_refused_clearly():
    with pytest.raises(ValueError, match="does not emulate the transport 'SQLServer'"):
        open_lab_transport("SQLServer", "Server=x")
