# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""What a ServiceControl RabbitMQ connection string says: the ``Key=Value`` form or an AMQP URI.

The keys and defaults are those of the NServiceBus RabbitMQ transport's connection-string parser
(docs/reference/transports.md §1.2): one host, ``useTls`` switching the default ports, management API
credentials falling back to the AMQP ones.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    TransportConfigurationError,
    parse_key_value_connection_string,
)

DEFAULT_PORT = 5672
DEFAULT_TLS_PORT = 5671
DEFAULT_MANAGEMENT_PORT = 15672
DEFAULT_MANAGEMENT_TLS_PORT = 15671

# Keys ServiceControl and the NServiceBus transport understand in the key=value form (lower case).
# The transport ignores other keys; we refuse them on purpose, so a typo does not go unnoticed. The keys
# transport 8.0+ refuses outright (certPath, certPassphrase, requestedHeartbeat, retryDelay) are not here
# either (docs/reference/transports.md §1.2).
KNOWN_KEYS = frozenset(
    (
        "host",
        "port",
        "virtualhost",
        "username",
        "password",
        "usetls",
        "managementapiurl",
        "managementapiusername",
        "managementapipassword",
        "disableremotecertificatevalidation",
        "useexternalauthmechanism",
        "validatedeliverylimits",
    )
)


def _parse_bool(value, key, transport_type):
    lowered = str(value).strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise TransportConfigurationError(
        "The connection string for %s has a value for '%s' that is not 'true' or 'false'." % (transport_type, key)
    )


def _parse_port(value, key, transport_type):
    try:
        port = int(str(value).strip())
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise TransportConfigurationError(
            "The connection string for %s has a '%s' value that is not a TCP port number." % (transport_type, key)
        )
    return port


class RabbitMQConnection:
    """What a ServiceControl RabbitMQ connection string says, resolved with the transport's defaults."""

    def __init__(self, *, host, port, virtual_host, username, password, use_tls, management_url, options):
        self.host = host
        self.port = port
        self.virtual_host = virtual_host
        self.username = username
        self.password = password
        self.use_tls = use_tls
        self.management_url = management_url
        #: management API credentials
        self.management_username = options.get("management_username") or username
        self.management_password = options.get("management_password") or password
        self.disable_certificate_validation = options.get("disable_certificate_validation", False)

    @classmethod
    def parse(cls, connection_string, transport_type):
        if connection_string is None or not str(connection_string).strip():
            raise TransportConfigurationError(
                "Transport %s needs a connection string, e.g. host=<HOST>;username=<USERNAME>;password=<PASSWORD>."
                % transport_type
            )
        text = str(connection_string).strip()
        if text.lower().startswith("amqp"):
            return cls._parse_uri(text, transport_type)
        return cls._parse_key_value(text, transport_type)

    @classmethod
    def _parse_uri(cls, text, transport_type):
        try:
            parts = urlsplit(text)
            port = parts.port
            host = parts.hostname
        except ValueError:
            raise TransportConfigurationError(
                "The AMQP URI given as connection string for %s is malformed (bad host or port)." % transport_type
            ) from None
        scheme = parts.scheme.lower()
        if scheme not in ("amqp", "amqps") or not host:
            raise TransportConfigurationError(
                "The connection string for %s must be an amqp:// or amqps:// URI with a host, "
                "or the form host=<HOST>;username=<USERNAME>;password=<PASSWORD>." % transport_type
            )
        use_tls = scheme == "amqps"
        segments = parts.path.split("/")[1:] if parts.path else []
        if len(segments) > 1:
            raise TransportConfigurationError(
                "The AMQP URI given as connection string for %s has more than one path segment; the path is the "
                "virtual host, with '/' written as %%2F." % transport_type
            )
        virtual_host = unquote(segments[0]) if segments and segments[0] else "/"
        username = unquote(parts.username) if parts.username is not None else "guest"
        password = unquote(parts.password) if parts.password is not None else "guest"
        connection = cls(
            host=host,
            port=port or (DEFAULT_TLS_PORT if use_tls else DEFAULT_PORT),
            virtual_host=virtual_host,
            username=username,
            password=password,
            use_tls=use_tls,
            management_url=cls._default_management_url(host, use_tls),
            options={},
        )
        return connection

    @classmethod
    def _parse_key_value(cls, text, transport_type):
        values = parse_key_value_connection_string(text, transport_type)
        unknown = sorted(key for key in values if key not in KNOWN_KEYS)
        if unknown:
            raise TransportConfigurationError(
                "The connection string for %s has key(s) the RabbitMQ transport does not know: %s. Known keys: host, "
                "port, virtualHost, username, password, useTls, ManagementApiUrl, ManagementApiUserName, "
                "ManagementApiPassword, DisableRemoteCertificateValidation, UseExternalAuthMechanism, "
                "ValidateDeliveryLimits." % (transport_type, ", ".join(unknown))
            )
        host_value = values.get("host", "").strip()
        if not host_value:
            raise TransportConfigurationError(
                "The connection string for %s has no 'host'; write it as host=<HOST>;username=<USERNAME>;"
                "password=<PASSWORD>." % transport_type
            )
        if "," in host_value:
            raise TransportConfigurationError(
                "The connection string for %s lists several hosts; ServiceControl supports one host only."
                % transport_type
            )
        use_tls = _parse_bool(values["usetls"], "useTls", transport_type) if "usetls" in values else False
        port = DEFAULT_TLS_PORT if use_tls else DEFAULT_PORT
        if "port" in values:
            port = _parse_port(values["port"], "port", transport_type)
        host = host_value
        if ":" in host_value and not host_value.startswith("["):
            host, host_port = host_value.split(":", 1)
            port = _parse_port(host_port, "host", transport_type)
        options = {
            "management_username": values.get("managementapiusername") or None,
            "management_password": values.get("managementapipassword") or None,
            "disable_certificate_validation": _parse_bool(
                values["disableremotecertificatevalidation"], "DisableRemoteCertificateValidation", transport_type
            )
            if "disableremotecertificatevalidation" in values
            else False,
        }
        management_url = values.get("managementapiurl", "").strip()
        if management_url:
            management_url = cls._clean_management_url(management_url, transport_type)
        else:
            management_url = cls._default_management_url(host, use_tls)
        return cls(
            host=host,
            port=port,
            virtual_host=values.get("virtualhost") or "/",
            username=values.get("username", "guest"),
            password=values.get("password", "guest"),
            use_tls=use_tls,
            management_url=management_url,
            options=options,
        )

    @staticmethod
    def _default_management_url(host, use_tls):
        if ":" in host and not host.startswith("["):
            host = "[%s]" % host  # IPv6 literal
        if use_tls:
            return "https://%s:%d/" % (host, DEFAULT_MANAGEMENT_TLS_PORT)
        return "http://%s:%d/" % (host, DEFAULT_MANAGEMENT_PORT)

    @staticmethod
    def _clean_management_url(url, transport_type):
        """The management URL with any user:password@ removed (credentials come from the other keys)."""
        try:
            parts = urlsplit(url)
            hostname, port = parts.hostname, parts.port
        except ValueError:
            hostname = None
        if parts.scheme.lower() not in ("http", "https") or not hostname:
            raise TransportConfigurationError(
                "The ManagementApiUrl in the connection string for %s must be an http:// or https:// URL, "
                "e.g. http://<HOST>:15672." % transport_type
            )
        netloc = hostname if ":" not in hostname else "[%s]" % hostname
        if port:
            netloc = "%s:%d" % (netloc, port)
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        return urlunsplit((parts.scheme.lower(), netloc, path, "", ""))
