# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run's state: what the steps of a long procedure observed and did, merged step by step and kept in a JSON
file so an interrupted run can pick up where it stopped (servicecontrol.platform.run_state)."""

from __future__ import annotations

import json
import os
import tempfile


class RunStateError(ValueError):
    """A state or an update that cannot be merged or written; the message says which and why."""


def plain(value, what):
    """``value`` as plain JSON data (dicts, lists, str, numbers, bools, None), or a RunStateError naming ``what``."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise RunStateError("%s is not JSON data: %s" % (what, exc)) from None


def _identity(item):
    return json.dumps(item, sort_keys=True)


def merge(state, update):
    """``update`` merged into ``state``, recursively; neither is changed.

    Mappings merge key by key; a list gains the items of the update's list it does not hold yet, in order (a
    re-run that records the same ids again adds nothing); any other value is replaced.
    """
    if isinstance(state, dict) and isinstance(update, dict):
        merged = dict(state)
        for key, value in update.items():
            merged[key] = merge(state[key], value) if key in state else value
        return merged
    if isinstance(state, list) and isinstance(update, list):
        seen = {_identity(item) for item in state}
        merged = list(state)
        for item in update:
            identity = _identity(item)
            if identity not in seen:
                seen.add(identity)
                merged.append(item)
        return merged
    return update


def write(path, state):
    """Write ``state`` to ``path`` as indented JSON, atomically: a reader sees the old file or the new one, whole."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(state, stream, indent=4, sort_keys=True)
                stream.write("\n")
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
    except OSError as exc:
        raise RunStateError("Could not write the state file %s: %s" % (path, exc.strerror or exc)) from None
