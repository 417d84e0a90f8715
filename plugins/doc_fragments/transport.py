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
      - For V(SQLServer), an ADO.NET connection string (C(Initial Catalog) is required) plus ServiceControl's
        C(Queue Schema) (default C(dbo)); for V(PostgreSQL), an Npgsql connection string plus C(Queue Schema)
        (default C(public)).
      - For V(AmazonSQS), C(Region), C(QueueNamePrefix), C(AccessKeyId) and C(SecretAccessKey) among ServiceControl's
        keys; without keys, credentials come from the standard AWS chain (environment, profile, instance role).
      - For V(AzureStorageQueue), a storage account connection string; ServiceControl's C(Subscriptions Table) key
        is accepted and not passed to the SDK.
      - For V(NetStandardAzureServiceBus), C(Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=...) or the
        fully qualified namespace with C(Authentication=Managed Identity) (and C(ClientId)); ServiceControl's
        C(TopicName), C(EnablePartitioning), C(HierarchyNamespace), C(TransportType) and
        C(QueueLengthQueryDelayInterval) keys are accepted.
      - For V(LearningTransport), the path of the learning transport directory (C(%VAR%) and C($VAR) are expanded).
      - Not used for V(MSMQ).
      - The value is never logged and never returned.
    type: str
  timeout:
    description:
      - Seconds to wait for each request to the broker, database or service before failing.
      - The same option, with the same type and default, as the API modules' O(timeout).
      - For V(SQLServer) and V(PostgreSQL) it overrides the connection string's C(Connect Timeout) and
        C(Command Timeout).
    type: float
    default: 30
  validate_certs:
    description:
      - Verify the TLS certificate of the broker or service.
      - Set to V(false) only for test systems with self-signed certificates; prefer O(ca_path).
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file, or a directory of PEM certificates, with the certificate authorities to trust when verifying
        TLS certificates, instead of the system store.
      - For libraries that only read one file (botocore, libpq, FreeTDS) the certificates of a directory are
        combined into a temporary bundle for the run.
      - Checked before anything is changed; a path that does not exist fails the task.
    type: path
  client_cert:
    description:
      - A PEM client certificate, for a broker, database or service that requires mutual TLS (RabbitMQ management
        API, PostgreSQL, Amazon SQS endpoints, Azure endpoints). It may also hold the private key.
      - Not supported for V(SQLServer), whose logins do not use client certificates; setting it fails the task.
    type: path
  client_key:
    description:
      - The PEM private key for O(client_cert) when the certificate file does not contain it.
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
      - V(AmazonSQS) only. Message retention period of the queues, in seconds, from 61 to 1209600 (14 days).
        An existing queue with another retention period is updated.
      - When not set, the transport uses 345600 (4 days), as NServiceBus does. Failed messages waiting in an
        SQS error queue expire after this period.
    type: int
  sqs_endpoint_url:
    description:
      - V(AmazonSQS) only. The SQS endpoint URL to use instead of the region's default, for example a VPC endpoint,
        LocalStack or moto.
    type: str
  azure_service_bus_max_size_in_megabytes:
    description:
      - V(NetStandardAzureServiceBus) only. Maximum size of the queues in megabytes (a multiple of 1024).
        An existing queue with another size is updated.
      - When not set, the transport uses 5120.
    type: int
  azure_service_bus_enable_partitioning:
    description:
      - V(NetStandardAzureServiceBus) only. Create the queues partitioned.
      - Partitioning cannot change on an existing queue; a mismatch fails with a clear message and changes nothing.
      - When not set, the transport uses the C(EnablePartitioning) value of the connection string, or V(false).
    type: bool
  azure_service_bus_max_delivery_count:
    description:
      - V(NetStandardAzureServiceBus) only. Maximum delivery count of the queues. An existing queue with another
        count is updated.
      - When not set, the transport uses 2147483647, as NServiceBus does.
    type: int
notes:
  - Transport-specific options (C(rabbitmq_*), C(sqs_*), C(azure_service_bus_*)) are rejected when set for another
    transport.
  - The module opens one connection to the transport for the whole task, however many queues it handles.
  - What was verified how. V(RabbitMQ.*) (all four), V(PostgreSQL), V(AmazonSQS), V(AzureStorageQueue) and
    V(LearningTransport) are tested in this collection's CI against real servers on loopback (RabbitMQ 3.10 with its
    management plugin, PostgreSQL 15, moto, Azurite) and the real filesystem, each step in check mode, for real and
    repeated. The RabbitMQ 4.x delivery-limit policy is unit-tested only (no 4.x broker was available).
  - V(SQLServer) has not been run against a real SQL Server in this collection's CI. Unit tests check the exact SQL
    (table, C(Index_RowVersion), filtered C(Index_Expires), the C(sp_getapplock)-guarded creation batch in a
    transaction) and the order of calls against a recording fake connection. TLS verification goes through FreeTDS
    (C(ca file)); O(ca_path) and O(validate_certs) apply, and C(TrustServerCertificate=true) turns it off.
  - V(NetStandardAzureServiceBus) has not been run against a real namespace (no emulator runs without Docker). Unit
    tests check the exact C(ServiceBusAdministrationClient) calls (C(create_queue) with 5120 MB, lock duration
    PT5M, max delivery count 2147483647 and batched operations; C(update_queue) for changed mutable properties;
    C(delete_queue); runtime counts) and the connection-string handling. Check against a real namespace before
    relying on it in production.
  - V(MSMQ) queues live on the Windows host that runs ServiceControl; this module only validates their names and
    fails elsewhere. The C(servicecontrol.platform.queues) role creates them there with a PowerShell step.
requirements:
  - httpx (V(RabbitMQ.*), through the management API)
  - psycopg 3 (V(PostgreSQL))
  - pymssql (V(SQLServer))
  - boto3 (V(AmazonSQS))
  - azure-storage-queue (V(AzureStorageQueue))
  - azure-servicebus, and azure-identity for managed identity (V(NetStandardAzureServiceBus))
"""
