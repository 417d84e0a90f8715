"""Learning transport (NServiceBus' filesystem transport), in its native on-disk layout.

Layout under the storage root (docs/reference/transports.md §8)::

    <root>/<queue>/<id>.metadata.txt        headers, a JSON object
    <root>/<queue>/.bodies/<id>.body.txt    raw body bytes
    <root>/<queue>/.pending/<txid>/...      messages claimed by a receiver

The body is written first and the metadata file is renamed into the queue directory in one step,
so a reader never sees a half-written message. A receiver claims a message by renaming its
metadata file into its own ``.pending/<txid>/`` directory, as the real message pump does: a rename
either succeeds for exactly one receiver or fails, so two receivers never get the same message.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import uuid
from pathlib import Path

from lab.transports import QueueNotFoundError, parse_timespan
from lab.transports.base import LabMessage, LabTransport

TRANSPORT_TYPE = "LearningTransport"

METADATA_SUFFIX = ".metadata.txt"
BODY_SUFFIX = ".body.txt"
BODY_DIR = ".bodies"
PENDING_DIR = ".pending"
#: Where NServiceBus keeps the time-to-be-received of a message (a .NET TimeSpan string).
TTBR_HEADER = "NServiceBus.Transport.Learning.TimeToBeReceived"

_WINDOWS_ENV_VAR = re.compile(r"%([^%]+)%")


def storage_root(connection_string: str) -> Path:
    """The storage directory a ServiceControl connection string names.

    ServiceControl expands environment variables in it (``%TEMP%`` style on Windows);
    ``$VAR`` and ``~`` are expanded too so the same value works on Linux.
    """
    if not connection_string or not connection_string.strip():
        raise ValueError("The LearningTransport connection string must be the storage directory path; it is empty.")
    expanded = _WINDOWS_ENV_VAR.sub(lambda m: os.environ.get(m.group(1), m.group(0)), connection_string.strip())
    return Path(os.path.expanduser(os.path.expandvars(expanded)))


def serialize_headers(headers: dict[str, str]) -> str:
    """Headers as NServiceBus writes them: an indented JSON object, with '/' escaped as '\\/'
    (DataContractJsonSerializer style, which every NServiceBus version reads)."""
    text = json.dumps(headers, indent=2, ensure_ascii=False)
    # '/' only occurs inside JSON strings, so escaping it everywhere is safe.
    return text.replace("/", "\\/")


def _check_queue_name(name: str) -> None:
    # The real transport refuses names that are not a single path segment (PathChecker).
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name or name.startswith("."):
        raise ValueError(
            "Invalid queue name %r for the LearningTransport: it must be a single directory name "
            "(no path separators, not starting with '.')." % name
        )


class _Receipt:
    def __init__(self, queue_dir: Path, tx_dir: Path, claimed: Path, native_id: str) -> None:
        self.queue_dir = queue_dir
        self.tx_dir = tx_dir
        self.claimed = claimed
        self.native_id = native_id


class LearningTransport(LabTransport):
    transport_type = TRANSPORT_TYPE

    def __init__(self, connection_string: str) -> None:
        self.root = storage_root(connection_string)

    def queue_path(self, name: str) -> Path:
        _check_queue_name(name)
        return self.root / name

    def transport_address(self, queue: str) -> str:
        """The address endpoints write in headers (FailedQ, ReplyToAddress): the queue name itself."""
        _check_queue_name(queue)
        return queue

    def create_queue(self, name: str) -> None:
        # A sender needs <queue>/.bodies; that is all NServiceBus creates for a sending address.
        (self.queue_path(name) / BODY_DIR).mkdir(parents=True, exist_ok=True)

    def queue_exists(self, name: str) -> bool:
        return self.queue_path(name).is_dir()

    def send(self, queue: str, message: LabMessage) -> None:
        queue_dir = self.queue_path(queue)
        if not queue_dir.is_dir():
            raise QueueNotFoundError(
                "LearningTransport queue %r does not exist (no directory %s)." % (queue, queue_dir)
            )
        body_dir = queue_dir / BODY_DIR
        body_dir.mkdir(exist_ok=True)
        native_id = str(uuid.uuid4())
        (body_dir / (native_id + BODY_SUFFIX)).write_bytes(message.body or b"")
        # Write the metadata beside the bodies (same filesystem, not scanned by receivers), then
        # rename it into the queue directory: the message appears complete or not at all.
        temp = body_dir / (native_id + ".metadata.tmp")
        temp.write_text(serialize_headers(message.headers), encoding="utf-8")
        os.replace(temp, queue_dir / (native_id + METADATA_SUFFIX))
        message.native_id = native_id

    def _candidates(self, queue_dir: Path) -> list[Path]:
        entries = []
        with os.scandir(queue_dir) as scan:
            for entry in scan:
                if entry.name.endswith(METADATA_SUFFIX) and entry.is_file():
                    try:
                        entries.append((entry.stat().st_mtime_ns, entry.name))
                    except FileNotFoundError:
                        continue  # taken by a competing receiver meanwhile
        # Oldest first: the real pump takes directory order; FIFO is the friendliest stand-in.
        return [queue_dir / name for _, name in sorted(entries)]

    def receive(self, queue: str) -> LabMessage | None:
        queue_dir = self.queue_path(queue)
        if not queue_dir.is_dir():
            raise QueueNotFoundError(
                "LearningTransport queue %r does not exist (no directory %s)." % (queue, queue_dir)
            )
        for path in self._candidates(queue_dir):
            tx_dir = queue_dir / PENDING_DIR / str(uuid.uuid4())
            tx_dir.mkdir(parents=True)
            claimed = tx_dir / path.name
            try:
                os.rename(path, claimed)
            except FileNotFoundError:
                tx_dir.rmdir()  # a competing receiver won this one
                continue
            native_id = path.name[: -len(METADATA_SUFFIX)]
            receipt = _Receipt(queue_dir, tx_dir, claimed, native_id)
            try:
                headers = json.loads(claimed.read_text(encoding="utf-8"))
            except ValueError:
                self.abandon(LabMessage(headers={}, receipt=receipt))  # leave it for a human to look at
                raise
            ttbr = headers.pop(TTBR_HEADER, None)
            if ttbr is not None and self._expired(claimed, ttbr):
                self._finish(receipt)  # NServiceBus drops expired messages silently
                continue
            body_path = queue_dir / BODY_DIR / (native_id + BODY_SUFFIX)
            body = body_path.read_bytes() if body_path.exists() else b""
            return LabMessage(
                headers={k: str(v) for k, v in headers.items()}, body=body, native_id=native_id, receipt=receipt
            )
        return None

    @staticmethod
    def _expired(claimed: Path, ttbr: str) -> bool:
        try:
            limit = parse_timespan(ttbr)
        except ValueError:
            return False
        # A rename keeps the modification time, so it still says when the message was sent.
        sent = dt.datetime.fromtimestamp(claimed.stat().st_mtime, tz=dt.timezone.utc)
        return sent + limit < dt.datetime.now(tz=dt.timezone.utc)

    @staticmethod
    def _receipt(message: LabMessage) -> _Receipt:
        if not isinstance(message.receipt, _Receipt):
            raise ValueError(
                "This message was not received from a LearningTransport (or was already completed/abandoned)."
            )
        return message.receipt

    def _finish(self, receipt: _Receipt) -> None:
        shutil.rmtree(receipt.tx_dir, ignore_errors=True)
        (receipt.queue_dir / BODY_DIR / (receipt.native_id + BODY_SUFFIX)).unlink(missing_ok=True)

    def complete(self, message: LabMessage) -> None:
        receipt = self._receipt(message)
        self._finish(receipt)
        message.receipt = None

    def abandon(self, message: LabMessage) -> None:
        receipt = self._receipt(message)
        os.rename(receipt.claimed, receipt.queue_dir / receipt.claimed.name)
        shutil.rmtree(receipt.tx_dir, ignore_errors=True)
        message.receipt = None

    def depth(self, queue: str) -> int:
        queue_dir = self.queue_path(queue)
        if not queue_dir.is_dir():
            raise QueueNotFoundError(
                "LearningTransport queue %r does not exist (no directory %s)." % (queue, queue_dir)
            )
        # ServiceControl counts the files directly in the queue directory; claimed ones are added
        # so depth includes received-but-not-completed messages like the other transports.
        count = sum(1 for entry in os.scandir(queue_dir) if entry.is_file())
        pending = queue_dir / PENDING_DIR
        if pending.is_dir():
            count += sum(1 for tx in pending.iterdir() if tx.is_dir() for f in tx.glob("*" + METADATA_SUFFIX))
        return count
