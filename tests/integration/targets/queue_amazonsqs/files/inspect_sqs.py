# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read SQS queues with boto3, independently of the collection: print {physical name: attributes or null}.

Usage: python inspect_sqs.py ENDPOINT_URL NAME...
"""

from __future__ import annotations

import json
import sys

import boto3


def main(endpoint_url, names):
    client = boto3.client(
        "sqs",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="inspector",
        aws_secret_access_key="inspector",
    )
    found = {}
    for name in names:
        try:
            url = client.get_queue_url(QueueName=name)["QueueUrl"]
        except client.exceptions.QueueDoesNotExist:
            found[name] = None
            continue
        found[name] = client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    print(json.dumps(found, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
