#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: instance_info
short_description: Read a ServiceControl instance's version, kind and configuration over its HTTP API
version_added: 0.1.0
author: "servicecontrol.platform maintainers (@servicecontrol-platform)"
description:
  - Reads the version, the kind (Error, Audit or Monitoring) and the runtime configuration of one ServiceControl
    instance from its HTTP API, without changing anything.
  - For Error and Audit instances it reads C(GET /api) and C(GET /api/configuration); for an Error instance it
    also reads C(GET /api/configuration/remotes), which makes the instance call each of its remote instances
    (C(ServiceControl/RemoteInstances)) and report whether they answer.
  - The version comes from the C(X-Particular-Version) response header that every ServiceControl instance sends.
  - Use it as a preflight before changing an instance, to check the remotes after wiring them, or to compare a
    primary with its backup.
  - These endpoints are anonymous even when ServiceControl 6.11+ authentication is enabled, so O(token) is
    only needed to read a Monitoring instance's metrics queue.
notes:
  - "How the kind is detected: an Error instance's configuration has C(transport.error_queue), an Audit instance's
    has C(transport.audit_queue). A Monitoring instance has no C(/api) route at all (its API is at the root, see
    C(src/ServiceControl.Monitoring/Http/RootController.cs) in ServiceControl): when C(/api) answers 404 (or 401/403
    when authentication is enabled), the module reads the instance root, where a Monitoring instance answers
    C({\"instanceType\": \"monitoring\", \"version\": ...}). An Error instance's root serves ServicePulse
    (6.13+) or nothing, so it cannot be mistaken for one."
  - ServiceControl does not expose C(IngestErrorMessages)/C(IngestAuditMessages) or maintenance mode over HTTP
    (6.19), so this module cannot report them.
extends_documentation_fragment:
  - servicecontrol.platform.connection
  - servicecontrol.platform.attributes
  - servicecontrol.platform.attributes.INFO_MODULE
  - servicecontrol.platform.attributes.ACTION_GROUP_API
options:
  include_remotes:
    description:
      - Read C(/api/configuration/remotes) on an Error instance and return RV(remotes).
      - ServiceControl asks every remote at once and answers when the slowest has answered, so a remote that
        accepts the connection but never answers holds this call for up to 100 seconds (.NET's default HTTP client
        timeout); raise O(timeout) accordingly, or set V(false) when only the instance itself matters.
      - Ignored for Audit and Monitoring instances, which have no remotes.
    type: bool
    default: true
seealso:
  - name: ServiceControl remote instances
    description: How an Error instance is connected to Audit and other Error instances.
    link: https://docs.particular.net/servicecontrol/servicecontrol-instances/remotes
  - name: ServiceControl HTTP API authentication
    description: Bearer tokens and role-based access in ServiceControl 6.11 and later.
    link: https://docs.particular.net/servicecontrol/security/configuration/authentication
"""

EXAMPLES = r"""
- name: Read the primary Error instance (with its remotes)
  servicecontrol.platform.instance_info:
    url: http://servicecontrol:33333/api
  register: primary
  delegate_to: localhost

- name: Stop unless it is a 6.x Error instance whose remotes all answer
  ansible.builtin.assert:
    that:
      - primary.instance_kind == 'error'
      - primary.version is version('6.0.0', '>=')
      - primary.remotes | rejectattr('status', 'equalto', 'online') | list | length == 0
    fail_msg: "{{ primary.url }} is {{ primary.instance_kind }} {{ primary.version }}; remotes: {{ primary.remotes }}"

- name: Read several instances with the connection options set once
  module_defaults:
    group/servicecontrol.platform.api:
      ca_path: /etc/pki/tls/certs/internal-ca.pem
      timeout: 60
  block:
    - name: Read the Audit instance
      servicecontrol.platform.instance_info:
        url: https://servicecontrol-audit.example.com:44444
      register: audit
      delegate_to: localhost

    - name: Read the Monitoring instance (its metrics queue needs a token when authentication is on)
      servicecontrol.platform.instance_info:
        url: https://servicecontrol-monitoring.example.com:33633
        token: "{{ servicecontrol_token }}"
      register: monitoring
      delegate_to: localhost

- name: Read the backup Error instance without asking it about its remotes
  servicecontrol.platform.instance_info:
    url: http://servicecontrol-backup:33333
    include_remotes: false
  register: backup
  delegate_to: localhost
"""

RETURN = r"""
url:
  description:
    - The address that was read, normalised; credentials in O(url) are removed.
    - The API base (ending in C(/api/)) for Error and Audit instances, the instance root for a Monitoring instance.
  returned: always
  type: str
  sample: http://servicecontrol:33333/api/
version:
  description:
    - The ServiceControl version from the C(X-Particular-Version) header (for a Monitoring instance, from its root
      document when the header is missing).
    - V(null) when the instance (or a proxy in front of it) did not send one.
  returned: always
  type: str
  sample: 6.19.2
instance_kind:
  description: What kind of instance answered.
  returned: always
  type: str
  choices: [error, audit, monitoring]
  sample: error
instance_name:
  description:
    - The instance name (C(ServiceControl/InstanceName), by default also the Windows service name and the input
      queue), from C(host.instance_name).
    - V(null) for a Monitoring instance, whose API does not report it.
  returned: always
  type: str
  sample: Particular.ServiceControl
transport:
  description:
    - The C(TransportType) the instance runs on, from C(transport.transport_type).
    - V(null) for a Monitoring instance.
  returned: always
  type: str
  sample: RabbitMQ.QuorumConventionalRouting
queues:
  description:
    - The queues the instance reports, under ServiceControl's names.
    - Error instances report C(error_queue) (C(ServiceBus/ErrorQueue)) and C(error_log_queue)
      (C(ServiceBus/ErrorLogQueue)); Audit instances C(audit_queue) and C(audit_log_queue); a Monitoring
      instance C(metrics_queue) (its input queue, from C(/connection)) when it could be read.
  returned: always
  type: dict
  sample:
    error_queue: error
    error_log_queue: error.log
forwarding:
  description:
    - Whether the instance forwards what it ingests to its log queue (C(forward_error_messages) on an Error
      instance, C(forward_audit_messages) on an Audit instance).
    - V(null) for a Monitoring instance.
  returned: always
  type: bool
  sample: false
data_retention:
  description:
    - The retention periods as ServiceControl reports them (TimeSpan strings, C(days.hh:mm:ss)).
    - Error instances report C(error_retention_period) (and C(audit_retention_period) when set); Audit
      instances C(audit_retention_period). Empty for a Monitoring instance.
  returned: always
  type: dict
  sample:
    error_retention_period: "15.00:00:00"
license_status:
  description: The license status an Error instance reports in C(/api) (V(valid) or V(invalid)); V(null) otherwise.
  returned: always
  type: str
  sample: valid
remotes:
  description:
    - The remote instances of an Error instance, as the Error instance sees them from C(/api/configuration/remotes).
    - Empty for Audit and Monitoring instances, and when O(include_remotes=false).
  returned: always
  type: list
  elements: dict
  contains:
    api_uri:
      description: The remote's address as configured in C(ServiceControl/RemoteInstances), without C(/api).
      type: str
      sample: http://servicecontrol-audit:44444
    status:
      description:
        - V(online) when the remote answered, V(unavailable) when it could not be reached, V(error) when it
          answered with something that is not its configuration.
      type: str
      sample: online
    version:
      description: The remote's C(X-Particular-Version), or V(Unknown) when the Error instance could not read it.
      type: str
      sample: 6.19.2
    instance_kind:
      description: V(error) or V(audit), from the remote's configuration; V(null) when it was not returned.
      type: str
      sample: audit
    instance_name:
      description: The remote's instance name; V(null) when its configuration was not returned.
      type: str
      sample: Particular.ServiceControl.Audit
    transport:
      description: The remote's C(TransportType); V(null) when its configuration was not returned.
      type: str
      sample: RabbitMQ.QuorumConventionalRouting
    configuration:
      description: The remote's C(/api/configuration) document as the Error instance returned it, or V(null).
      type: dict
      sample:
        host:
          instance_name: Particular.ServiceControl.Audit
        transport:
          transport_type: RabbitMQ.QuorumConventionalRouting
          audit_queue: audit
          audit_log_queue: audit.log
          forward_audit_messages: false
  sample:
    - api_uri: http://servicecontrol-audit:44444
      status: online
      version: 6.19.2
      instance_kind: audit
      instance_name: Particular.ServiceControl.Audit
      transport: RabbitMQ.QuorumConventionalRouting
      configuration:
        data_retention:
          audit_retention_period: "7.00:00:00"
        transport:
          transport_type: RabbitMQ.QuorumConventionalRouting
          audit_queue: audit
          audit_log_queue: audit.log
          forward_audit_messages: false
    - api_uri: http://servicecontrol-audit-dr:44444
      status: unavailable
      version: Unknown
      instance_kind: null
      instance_name: null
      transport: null
      configuration: null
configuration:
  description:
    - The raw C(/api/configuration) document (snake_case keys as ServiceControl sends them, including its
      C(performance_tunning) spelling). Empty for a Monitoring instance, which has no such document.
  returned: always
  type: dict
  sample:
    host:
      instance_name: Particular.ServiceControl
      logging:
        log_path: /app/.logs
        logging_level: information
    data_retention:
      error_retention_period: "15.00:00:00"
    performance_tunning:
      external_integrations_dispatching_batch_size: 100
    persistence_settings:
      maintenance_mode: false
      enable_full_text_search_on_bodies: true
    transport:
      transport_type: RabbitMQ.QuorumConventionalRouting
      error_log_queue: error.log
      error_queue: error
      forward_error_messages: false
    plugins:
      heartbeat_grace_period: "00:00:40"
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402 - after the documentation, as ansible-doc expects

from ansible_collections.servicecontrol.platform.plugins.module_utils._api import (  # noqa: E402
    ServiceControlApiError,
    api_argument_spec,
    client_from_module,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._instance import read_instance  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec=api_argument_spec(include_remotes={"type": "bool", "default": True}),
        supports_check_mode=True,
    )
    client = client_from_module(module)
    try:
        with client:
            result = read_instance(client, include_remotes=module.params["include_remotes"], warn=module.warn)
    except ServiceControlApiError as exc:
        module.fail_json(**exc.fail_kwargs())
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
