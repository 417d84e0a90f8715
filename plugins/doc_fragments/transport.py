# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE doc fragment: for this collection's own modules only.

from __future__ import annotations


class ModuleDocFragment:
    # Options of every module that talks to the transport directly (queue, queue_info, ...).
    # The argument spec is plugins/module_utils/_transport.py transport_argument_spec().
    DOCUMENTATION = r"""
options:
  transport:
    description:
      - The transport, named exactly as ServiceControl's C(TransportType) setting names it (5.x and 6.x names,
        also accepted by 4.31 and later).
      - The RabbitMQ names decide the queue type (classic or quorum) and the routing topology (conventional or
        direct) the same way they do for ServiceControl.
    type: str
    required: true
    choices:
      - AmazonSQS
      - AzureStorageQueue
      - LearningTransport
      - MSMQ
      - NetStandardAzureServiceBus
      - PostgreSQL
      - RabbitMQ.ClassicConventionalRouting
      - RabbitMQ.ClassicDirectRouting
      - RabbitMQ.QuorumConventionalRouting
      - RabbitMQ.QuorumDirectRouting
      - SQLServer
  connection_string:
    description:
      - The transport connection string in ServiceControl's format for O(transport), the same value ServiceControl
        keeps in its C(NServiceBus/Transport) connection string.
      - For RabbitMQ, C(host=<HOST>;username=<USER>;password=<PASSWORD>) with the optional keys C(port),
        C(virtualHost), C(useTls), C(ManagementApiUrl), C(ManagementApiUserName) and C(ManagementApiPassword), or
        an C(amqp://) / C(amqps://) URI.
      - For V(LearningTransport), the path of the learning transport directory.
      - Not used for V(MSMQ).
      - The value is never logged and never returned.
    type: str
  timeout:
    description:
      - Seconds to wait for each request to the broker, database or service before failing.
    type: int
    default: 30
  validate_certs:
    description:
      - Verify the TLS certificate of the broker or service.
      - Set to V(false) only for test systems with self-signed certificates.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file with the certificate authorities to trust when verifying TLS certificates, instead of the
        system store.
    type: path
  rabbitmq_delivery_limit_policy:
    description:
      - RabbitMQ only. When V(true), quorum queues on RabbitMQ 4.x get the policy C(nsb.<queue>.delivery-limit)
        (C(delivery-limit) 100000, applied to quorum queues, priority 0) that the NServiceBus RabbitMQ transport
        creates when a receiver starts, so that RabbitMQ 4's default delivery limit of 20 does not drop messages.
      - On RabbitMQ 3.x quorum queues have no delivery limit, so nothing is done and the result says so.
      - When not set, the transport treats it as V(false).
    type: bool
  sqs_message_retention_period:
    description:
      - V(AmazonSQS) only. Message retention period of new queues, in seconds.
      - When not set, the transport uses 345600 (4 days), as NServiceBus does.
    type: int
  sqs_endpoint_url:
    description:
      - V(AmazonSQS) only. The SQS endpoint URL to use instead of the region's default, for example a VPC endpoint,
        LocalStack or moto.
    type: str
  azure_service_bus_max_size_in_megabytes:
    description:
      - V(NetStandardAzureServiceBus) only. Maximum size of new queues in megabytes.
      - When not set, the transport uses 5120.
    type: int
  azure_service_bus_enable_partitioning:
    description:
      - V(NetStandardAzureServiceBus) only. Create new queues partitioned.
      - When not set, the transport uses the C(EnablePartitioning) value of the connection string, or V(false).
    type: bool
  azure_service_bus_max_delivery_count:
    description:
      - V(NetStandardAzureServiceBus) only. Maximum delivery count of new queues.
      - When not set, the transport uses 2147483647, as NServiceBus does.
    type: int
notes:
  - Transport-specific options (C(rabbitmq_*), C(sqs_*), C(azure_service_bus_*)) are rejected when set for another
    transport.
  - The module opens one connection to the transport for the whole task, however many queues it handles.
"""
