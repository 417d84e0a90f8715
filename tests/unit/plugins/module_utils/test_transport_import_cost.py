# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Heavy SDKs are imported only for the transport in use (a fresh interpreter per case)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils import _transport

# The directory that holds ansible_collections/, as this interpreter found it (not symlink-resolved).
COLLECTIONS_ROOT = Path(os.path.abspath(_transport.__file__)).parents[5]

HEAVY = ("boto3", "botocore", "azure.storage.queue", "azure.servicebus", "psycopg", "pymssql", "httpx")

PROBE = """
import json, sys
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import open_transport
open_transport(sys.argv[1], sys.argv[2])
print(json.dumps(sorted(m for m in %r if m in sys.modules)))
""" % (HEAVY,)

CASES = [
    ("RabbitMQ.QuorumConventionalRouting", "host=localhost;username=u;password=p", ["httpx"]),
    ("PostgreSQL", "Server=localhost;Database=db;User Id=u;Password=p", ["psycopg"]),
    ("SQLServer", "Data Source=localhost;Initial Catalog=db;User Id=u;Password=p", ["pymssql"]),
    ("AmazonSQS", "Region=us-east-1", ["boto3", "botocore"]),
    ("AzureStorageQueue", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=a2V5", ["azure.storage.queue"]),
    (
        "NetStandardAzureServiceBus",
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=a2V5",
        ["azure.servicebus"],
    ),
    ("LearningTransport", "/var/lib/servicecontrol/.learningtransport", []),
]


@pytest.mark.parametrize("transport, connection_string, expected", CASES, ids=[c[0] for c in CASES])
def test_only_the_sdk_of_the_chosen_transport_is_imported(transport, connection_string, expected):
    environment = dict(os.environ, PYTHONPATH=str(COLLECTIONS_ROOT))
    completed = subprocess.run(  # noqa: S603 - fixed interpreter and script
        [sys.executable, "-c", PROBE, transport, connection_string],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    imported = json.loads(completed.stdout.strip().splitlines()[-1])
    assert imported == expected
