# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read Azure Storage queues with the SDK, independently of the collection.

Usage: python inspect_storage_queues.py NAME... < connection-string
Prints {physical name: {"metadata": {...}, "approximate_message_count": n} or null}. The connection string
(it holds the account key) comes on stdin so that it never shows in a process list or a task log.
"""

from __future__ import annotations

import json
import sys

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueServiceClient


def main(connection_string, names):
    service = QueueServiceClient.from_connection_string(connection_string, retry_total=0, connection_timeout=5)
    found = {}
    for name in names:
        try:
            properties = service.get_queue_client(name).get_queue_properties()
        except ResourceNotFoundError:
            found[name] = None
            continue
        found[name] = {
            "metadata": dict(properties.metadata or {}),
            "approximate_message_count": properties.approximate_message_count,
        }
    print(json.dumps(found, sort_keys=True))


if __name__ == "__main__":
    main(sys.stdin.read().strip(), sys.argv[1:])
