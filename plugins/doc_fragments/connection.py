# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE doc fragment: for this collection's own modules only.

from __future__ import annotations


class ModuleDocFragment:
    # The connection options of every module in the group/servicecontrol.platform.api action group.
    # Mirrors api_argument_spec() in plugins/module_utils/_api.py; keep the two in step.
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base address of the ServiceControl instance's HTTP API, for example V(http://servicecontrol:33333/api)
        for an Error instance, V(http://servicecontrol-audit:44444/api) for an Audit instance or
        V(http://servicecontrol-monitoring:33633) for a Monitoring instance.
      - The trailing C(/api) is optional; both forms address the same instance. A virtual directory
        (V(http://host/servicecontrol/api)) is kept.
      - This is the address ServicePulse is configured with (C(service_control_url)), and the one that
        appears in another instance's C(ServiceControl/RemoteInstances) setting.
      - Set it, and the other connection options, once for all API modules with
        C(module_defaults) and the action group C(group/servicecontrol.platform.api).
      - Credentials in the URL (C(user:password@)) are sent as HTTP basic authentication, which a reverse proxy
        might need; they are removed from every message and returned value.
    type: str
    required: true
    aliases:
      - api_url
  timeout:
    description:
      - Seconds to wait for a connection and for each response before the attempt counts as failed.
      - C(configuration/remotes) waits for every remote instance in turn, so raise this when remotes are slow
        or unreachable.
    type: float
    default: 30
  validate_certs:
    description:
      - Verify the instance's TLS certificate when O(url) is C(https://).
      - Only set V(false) on a test system with a self-signed certificate; prefer O(ca_path).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file (or directory of hashed certificates) with the CA certificates that signed the instance's
        certificate, for example an internal CA behind ServiceControl 6.11+ HTTPS or a reverse proxy.
      - When set, only these CAs are trusted. When not set, the C(certifi) bundle shipped with C(httpx) is used.
    type: path
  client_cert:
    description:
      - PEM client certificate for a reverse proxy that requires mutual TLS in front of ServiceControl.
      - May also contain the private key, in which case O(client_key) is not needed.
    type: path
  client_key:
    description:
      - PEM private key for O(client_cert) when the certificate file does not contain it.
    type: path
  token:
    description:
      - "Bearer token (a JWT from the identity provider) sent as C(Authorization: Bearer ...), for instances
        running ServiceControl 6.11 or later with C(Authentication.Enabled=true)."
      - With role-based access (ServiceControl 6.18 and later) the token must carry the permissions each call
        needs; a missing permission fails with status 403.
      - C(/api), C(/api/configuration) and C(/api/configuration/remotes) stay anonymous, so read-only discovery
        works without a token.
      - Never logged, and never part of a message or returned value.
    type: str
  headers:
    description:
      - Extra HTTP headers sent with every request, for example one a reverse proxy or API gateway in front of
        ServiceControl requires.
      - Values are treated as secrets (not logged, removed from messages). Do not set C(Authorization) here
        together with O(token).
    type: dict
  retries:
    description:
      - How many times to retry a request after a connection failure, a timeout or status 502, 503 or 504,
        which are what a restarting instance or its proxy answer. V(0) disables retries.
      - Waits 1, 2, 4, ... seconds between attempts (at most 30, or the C(Retry-After) the server asks for).
      - Only requests that are safe to repeat are retried (GET, HEAD, PUT, DELETE); requests that start an
        operation (POST, PATCH) are not, unless the module says otherwise. 4xx and 500 are never retried, and
        neither are TLS certificate failures.
    type: int
    default: 3
notes:
  - "The API modules run where the task runs, usually the controller (C(delegate_to: localhost)), and need the
    Python library C(httpx) there."
requirements:
  - httpx >= 0.27
"""
