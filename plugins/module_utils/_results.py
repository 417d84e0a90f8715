# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""The one shape of a queue's state and of an ensure()/delete()/send() result, for every transport.

``queue_state`` is what ``Transport.describe()`` returns; ``operation_result`` is what ``ensure()`` and
``delete()`` return; ``send_result`` is what ``send()`` returns. Modules turn them into ``before``/``after`` diffs, so
every transport must build them here: a key missing in one transport would show up as a spurious difference.
"""

from __future__ import annotations

#: Actions that change something; ``changed`` is derived from the action, never set separately.
CHANGING_ACTIONS = frozenset(("created", "updated", "deleted"))
ACTIONS = CHANGING_ACTIONS | frozenset(("existed", "absent"))


def queue_state(name, physical, *, exists, depth=None, properties=None):
    """describe(): the logical and physical name, whether it exists, its depth (None: unknown) and the
    transport-specific properties that ensure() compares."""
    return {
        "name": name,
        "physical_name": physical,
        "exists": bool(exists),
        "depth": depth,
        "properties": dict(properties or {}),
    }


def absent_state(name, physical, properties=None):
    """describe() of a queue that does not exist."""
    return queue_state(name, physical, exists=False, properties=properties)


def operation_result(action, before, after, commands, notes=None):
    """The ensure()/delete() result: before/after are describe()-shaped, commands the native operations
    (performed, or that check mode would perform; never a secret)."""
    if action not in ACTIONS:
        raise ValueError("unknown queue action %r" % (action,))
    return {
        "name": before["name"],
        "physical_name": before["physical_name"],
        "action": action,
        "changed": action in CHANGING_ACTIONS,
        "before": before,
        "after": after,
        "commands": list(commands),
        "notes": list(notes or []),
    }


def send_result(name, physical, message, *, native_message_id=None, commands=(), notes=None):
    """The send() result: the queue (logical and physical), the NServiceBus message id, the id the transport gave the
    message (None until it is sent, or when the transport does not say), the headers sent and the native operations
    (performed, or that check mode would perform; never a secret). A send always changes the queue."""
    return {
        "name": name,
        "physical_name": physical,
        "action": "sent",
        "changed": True,
        "message_id": message.message_id,
        "native_message_id": native_message_id,
        "headers": dict(message.headers),
        "body_length": len(message.body),
        "commands": list(commands),
        "notes": list(notes or []),
    }
