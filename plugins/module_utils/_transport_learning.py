# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""ServiceControl's ``LearningTransport``: a queue is a directory under the storage root.

The connection string is the storage directory; ServiceControl expands environment variables in it.
A queue ``error`` is ``<root>/error/`` holding one ``<id>.metadata.txt`` per message, with the bodies
in ``<root>/error/.bodies/``. Sending creates both directories, so creating them here is what a
sender would do and harmless to ServiceControl.

A message is sent as NServiceBus's dispatcher writes it (docs/reference/transports.md §8): the body file first, then
the metadata written elsewhere and moved into the queue directory in one step, so a receiver never sees half a message.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid

from ansible_collections.servicecontrol.platform.plugins.module_utils._results import (
    operation_result,
    queue_state,
    send_result,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    Transport,
    TransportConfigurationError,
    TransportError,
)

TRANSPORT_TYPE = "LearningTransport"
BODIES_DIRECTORY = ".bodies"
METADATA_SUFFIX = ".metadata.txt"
BODY_SUFFIX = ".body.txt"
# Windows rejects these in file names, and ServiceControl with the Learning transport often runs there.
INVALID_NAME_CHARACTERS = frozenset('<>:"/\\|?*') | frozenset(chr(code) for code in range(32))
RESERVED_WINDOWS_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + ["COM%d" % n for n in range(1, 10)] + ["LPT%d" % n for n in range(1, 10)]
)
NAME_BYTE_LIMIT = 255  # one path component on common filesystems

_WINDOWS_VARIABLE = re.compile(r"%([^%]+)%")
_POSIX_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand_environment(path, environ=None):
    """Expand ``%VAR%`` (as ServiceControl does on Windows) and ``$VAR`` / ``${VAR}`` forms.

    Returns (expanded path, sorted list of variables that are not set). Unset variables are left as
    written, like Environment.ExpandEnvironmentVariables, and reported so the caller can fail clearly.
    """
    environ = os.environ if environ is None else environ
    missing = set()

    def windows(match):
        name = match.group(1)
        if name in environ:
            return environ[name]
        missing.add(name)
        return match.group(0)

    def posix(match):
        name = match.group(1) or match.group(2)
        if name in environ:
            return environ[name]
        missing.add(name)
        return match.group(0)

    return _POSIX_VARIABLE.sub(posix, _WINDOWS_VARIABLE.sub(windows, path)), sorted(missing)


def storage_root(connection_string, environ=None):
    """The absolute storage directory a ServiceControl Learning connection string names."""
    if connection_string is None or not str(connection_string).strip():
        raise TransportConfigurationError(
            "Transport LearningTransport needs a connection string: the storage directory, e.g. "
            "/var/lib/servicecontrol/.learningtransport (the same path ServiceControl's connection string has)."
        )
    path, missing = expand_environment(str(connection_string).strip(), environ)
    if missing:
        raise TransportConfigurationError(
            "The LearningTransport connection string uses environment variable(s) %s, which are not set on the "
            "host that runs the module. Set them there or write the directory out in full." % ", ".join(missing)
        )
    if not os.path.isabs(path):
        raise TransportConfigurationError(
            "The LearningTransport storage directory '%s' is not an absolute path on the host that runs the module; "
            "give the full path (ServiceControl would resolve a relative path against its own working directory)."
            % path
        )
    return os.path.normpath(path)


def name_problem(name):
    """Why a logical queue name cannot be a Learning transport directory, or None if it can."""
    if not isinstance(name, str) or not name.strip():
        return "Queue name %r is empty; give the queue's name, e.g. 'error'." % (name,)
    if name in (".", ".."):
        return "Queue name '%s' is not allowed: it would point at the storage directory or above it." % name
    bad = sorted({char for char in name if char in INVALID_NAME_CHARACTERS})
    if bad:
        return (
            "Queue '%s' contains %s, which cannot appear in a directory name (path separators, Windows-reserved "
            "characters and control characters are refused). Use another name."
            % (name, ", ".join(repr(char) for char in bad))
        )
    return _portability_problem(name)


def _portability_problem(name):
    """Names a Windows-hosted ServiceControl could not use, or too long for a directory entry."""
    if name.endswith((" ", ".")):
        return (
            "Queue '%s' ends with a space or a dot, which Windows drops from directory names. Use another name." % name
        )
    if name.split(".")[0].upper() in RESERVED_WINDOWS_NAMES:
        return "Queue '%s' is a reserved device name on Windows. Use another name." % name
    if len(name.encode("utf-8")) > NAME_BYTE_LIMIT:
        return "Queue '%s' is longer than %d bytes, the limit for a directory name. Use a shorter name." % (
            name,
            NAME_BYTE_LIMIT,
        )
    return None


def serialize_headers(headers):
    """The metadata file as NServiceBus 10 writes it: the headers as a JSON object indented by two spaces, CRLF line
    ends (HeaderSerializer, System.Text.Json); receivers read any JSON object (docs/reference/transports.md §8)."""
    return json.dumps(headers, indent=2).replace("\n", "\r\n")


def message_paths(queue_path, native_id):
    """(body file, metadata file) of the message ``native_id`` in a queue directory."""
    return (
        os.path.join(queue_path, BODIES_DIRECTORY, native_id + BODY_SUFFIX),
        os.path.join(queue_path, native_id + METADATA_SUFFIX),
    )


class LearningTransport(Transport):
    """Queue directories under the Learning transport's storage root on the host that runs the module."""

    def __init__(self, transport_type, connection_string, variant=None, options=None):
        super().__init__(transport_type, connection_string, variant=variant, options=options)
        self.root = storage_root(connection_string)

    def physical_name(self, name):
        problem = name_problem(name)
        if problem:
            raise InvalidQueueNameError(problem)
        return os.path.join(self.root, name)

    def open(self):
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise TransportError(
                "The LearningTransport storage path %s exists but is not a directory; point the connection string at "
                "a directory." % self.root
            )

    def _state(self, name, path, exists, depth, bodies):
        properties = {"path": path, "bodies_directory": bodies} if exists else {"path": path}
        return queue_state(name, path, exists=exists, depth=depth, properties=properties)

    def describe(self, name):
        path = self.physical_name(name)
        if not os.path.lexists(path):
            return self._state(name, path, False, None, False)
        if os.path.islink(path) or not os.path.isdir(path):
            raise TransportError(
                "%s exists but is not a directory, so it cannot be the queue '%s'. Move it away or use another queue "
                "name." % (path, name)
            )
        try:
            # ServiceControl's queue length = files directly in the queue directory (one per message).
            with os.scandir(path) as entries:
                depth = sum(1 for entry in entries if entry.is_file(follow_symlinks=False))
        except OSError as exc:
            raise TransportError("Cannot read queue directory %s: %s" % (path, exc.strerror or exc)) from None
        return self._state(name, path, True, depth, os.path.isdir(os.path.join(path, BODIES_DIRECTORY)))

    def depth(self, name):
        return self.describe(name)["depth"]

    def ensure(self, name, check_mode=False):
        before = self.describe(name)
        path = before["physical_name"]
        bodies = os.path.join(path, BODIES_DIRECTORY)
        if before["exists"] and before["properties"]["bodies_directory"]:
            return operation_result("existed", before, before, [])
        missing = [bodies] if before["exists"] else [path, bodies]
        commands = ["mkdir %s" % directory for directory in missing]
        if check_mode:
            after = self._state(name, path, True, before["depth"] or 0, True)
        else:
            try:
                # Like a sender: create the whole chain, the storage root included.
                os.makedirs(bodies, exist_ok=True)
            except OSError as exc:
                raise TransportError(
                    "Cannot create queue directory %s: %s. Check that the module's user may write to %s."
                    % (bodies, exc.strerror or exc, self.root)
                ) from None
            after = self.describe(name)
        return operation_result("updated" if before["exists"] else "created", before, after, commands)

    def delete(self, name, check_mode=False):
        before = self.describe(name)
        path = before["physical_name"]
        if not before["exists"]:
            return operation_result("absent", before, before, [])
        commands = ["rm -r %s" % path]
        if not check_mode:
            try:
                shutil.rmtree(path)
            except OSError as exc:
                raise TransportError(
                    "Cannot remove queue directory %s: %s. Part of it may already be gone; check the permissions and "
                    "run again." % (path, exc.strerror or exc)
                ) from None
        return operation_result("deleted", before, self._state(name, path, False, None, False), commands)

    def send(self, name, message, check_mode=False):
        state = self.describe(name)
        path = state["physical_name"]
        if not state["exists"]:
            raise self.missing_queue_error(name, path)
        # The native id is a new GUID; the NServiceBus id travels in the headers (docs/reference/transports.md §8).
        native_id = None if check_mode else str(uuid.uuid4())
        body_path, metadata_path = message_paths(path, native_id or "<new GUID>")
        commands = [
            "write %s (%d bytes)" % (body_path, len(message.body)),
            "write %s (%d headers)" % (metadata_path, len(message.headers)),
        ]
        if not check_mode:
            self._write_message(path, body_path, metadata_path, message)
        return send_result(name, path, message, native_message_id=native_id, commands=commands)

    def _write_message(self, path, body_path, metadata_path, message):
        # Written beside the bodies (same filesystem, never read by receivers), then moved in: one step.
        temporary = body_path[: -len(BODY_SUFFIX)] + ".metadata.tmp"
        try:
            os.makedirs(os.path.dirname(body_path), exist_ok=True)
            with open(body_path, "wb") as body:
                body.write(message.body)
            with open(temporary, "wb") as metadata:
                metadata.write(serialize_headers(message.headers).encode("utf-8"))
            os.replace(temporary, metadata_path)
        except OSError as exc:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise TransportError(
                "Cannot write the message into queue directory %s: %s. Check that the module's user may write there; "
                "the message was not sent." % (path, exc.strerror or exc)
            ) from None
