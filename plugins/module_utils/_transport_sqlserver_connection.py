# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""What a ServiceControl SQLServer connection string and queue address say (docs/reference/transports.md §2.1, §10).

The connection string is SqlClient's (``Data Source``, ``Initial Catalog``, ...) plus ServiceControl's
``Queue Schema``; a queue address is ``table@[schema]@[catalog]`` with SQL Server bracket quoting.
"""

from __future__ import annotations

from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    TransportConfigurationError,
    parse_key_value_connection_string,
)

TRANSPORT_TYPE = "SQLServer"
DEFAULT_SCHEMA = "dbo"
#: sysname: nvarchar(128).
SYSNAME_LIMIT = 128
DEFAULT_LOGIN_TIMEOUT = 15  # SqlClient's Connect Timeout default
DEFAULT_QUERY_TIMEOUT = 30  # SqlClient's Command Timeout default

# SqlClient connection string keywords (case-insensitive, spaces optional) -> our canonical key.
SQLCLIENT_KEYWORDS = {
    "datasource": "data_source",
    "server": "data_source",
    "address": "data_source",
    "addr": "data_source",
    "networkaddress": "data_source",
    "initialcatalog": "catalog",
    "database": "catalog",
    "userid": "user",
    "uid": "user",
    "user": "user",
    "password": "password",
    "pwd": "password",
    "integratedsecurity": "integrated_security",
    "trustedconnection": "integrated_security",
    "encrypt": "encrypt",
    "trustservercertificate": "trust_server_certificate",
    "connecttimeout": "timeout",
    "connectiontimeout": "timeout",
    "timeout": "timeout",
    "commandtimeout": "command_timeout",
    "applicationname": "application_name",
    "app": "application_name",
    "authentication": "authentication",
    # ServiceControl's own part (removed before the string reaches SqlClient).
    "queueschema": "queue_schema",
}
TRUE_VALUES = frozenset(("true", "yes", "sspi", "1"))
FALSE_VALUES = frozenset(("false", "no", "0"))


def _unbracket(part):
    if len(part) >= 2 and part.startswith("[") and part.endswith("]"):
        return part[1:-1].replace("]]", "]")
    return part


def _next_address_part(rest):
    """Split the next ``@``-separated part off an address; ``@`` is literal inside [brackets]."""
    right_brackets = 0
    for index in range(1, len(rest)):
        if rest[index] == "@" and (rest[0] != "[" or right_brackets % 2 == 1):
            return rest[:index], rest[index + 1 :]
        if rest[index] == "]":
            right_brackets += 1
    return rest, ""


def parse_address(name):
    """Split a queue address ``table[@schema[@catalog]]`` (NServiceBus's format) into its three parts.

    The table is everything before the first ``@`` and is taken literally (a ``.`` is part of the
    name); schema and catalog may be [bracketed] and are None when not given.
    """
    at = name.find("@")
    if at == -1:
        return name, None, None
    table, rest = name[:at], name[at + 1 :]
    schema, rest = _next_address_part(rest)
    catalog = _next_address_part(rest)[0] if rest else None
    schema = _unbracket(schema).strip() or None if schema else None
    catalog = _unbracket(catalog).strip() or None if catalog else None
    return table, schema, catalog


def sysname_length(name):
    return len(name.encode("utf-16-le")) // 2


def parse_data_source(data_source):
    """Return (server, port) for pymssql from an ADO.NET Data Source (host, host,port, host\\instance, tcp:...)."""
    value = data_source.strip()
    if value.lower().startswith("tcp:"):
        value = value[4:]
    lowered = value.lower()
    if lowered.startswith(("np:", "lpc:", "admin:")) or lowered.startswith("(localdb)"):
        raise TransportConfigurationError(
            "The SQL Server Data Source uses a named pipe, shared memory or LocalDB; the module connects over TCP. "
            "Use Data Source=<host>[,<port>] or <host>\\<instance>."
        )
    port = None
    if "," in value:
        value, port_text = value.rsplit(",", 1)
        if not port_text.strip().isdigit() or not 0 < int(port_text) < 65536:
            raise TransportConfigurationError(
                "The SQL Server Data Source has port '%s'; write it as <host>,<port> with a TCP port number."
                % port_text.strip()
            )
        port = int(port_text)
    host, separator, instance = value.partition("\\")
    if host.strip().lower() in ("", ".", "(local)"):
        host = "localhost"
    server = host.strip()
    # With an explicit port the instance name is not needed (SQL Browser is only asked without one).
    if separator and instance and port is None:
        server = "%s\\%s" % (server, instance.strip())
    return server, port


def _flag(settings, key, default):
    value = settings.get(key)
    if value is None or not value.strip():
        return default
    lowered = value.strip().lower()
    if lowered in TRUE_VALUES:
        return True
    if lowered in FALSE_VALUES:
        return False
    return None


def _parse_authentication(settings):
    authentication = settings.get("authentication", "").replace(" ", "").lower()
    if authentication not in ("", "sqlpassword"):
        raise TransportConfigurationError(
            "The SQL Server connection string uses Authentication=%s, which the module's driver (pymssql/FreeTDS) "
            "cannot do; use User Id and Password, or Integrated Security=true (Kerberos)." % settings["authentication"]
        )
    integrated = _flag(settings, "integrated_security", False)
    if integrated is None:
        raise TransportConfigurationError(
            "The SQL Server connection string has an Integrated Security value that is not true/false/SSPI."
        )
    settings["integrated_security"] = integrated
    if not integrated and not settings.get("user"):
        raise TransportConfigurationError(
            "The SQL Server connection string has neither User Id nor Integrated Security=true; add User Id=<login>;"
            "Password=<password>, or Integrated Security=true to use the module host's Kerberos ticket."
        )


def _parse_encryption(settings):
    encrypt = settings.get("encrypt", "").strip().lower()
    # Microsoft.Data.SqlClient (ServiceControl 5+) encrypts by default.
    if encrypt in ("", "true", "yes", "mandatory", "strict"):
        settings["encrypt"] = True
    elif encrypt in ("false", "no", "optional"):
        settings["encrypt"] = False
    else:
        raise TransportConfigurationError(
            "The SQL Server connection string has Encrypt=%s; use true, false, mandatory, optional or strict."
            % settings["encrypt"]
        )
    trust = _flag(settings, "trust_server_certificate", False)
    settings["trust_server_certificate"] = bool(trust)


def parse_connection_string(connection_string):
    raw = parse_key_value_connection_string(connection_string, TRANSPORT_TYPE)
    settings = {}
    for key, value in raw.items():
        canonical = SQLCLIENT_KEYWORDS.get(key.replace(" ", "").replace("_", "").lower())
        if canonical is not None:
            settings[canonical] = value
    if not settings.get("data_source"):
        raise TransportConfigurationError(
            "The SQL Server connection string has no Data Source (or Server); add Data Source=<server>."
        )
    if not settings.get("catalog"):
        raise TransportConfigurationError(
            "The SQL Server connection string has no Initial Catalog (or Database); add Initial Catalog=<database> "
            "naming the database that holds ServiceControl's queue tables."
        )
    settings["server"], settings["port"] = parse_data_source(settings["data_source"])
    _parse_authentication(settings)
    _parse_encryption(settings)
    for key, label in (("timeout", "Connect Timeout"), ("command_timeout", "Command Timeout")):
        if key in settings:
            if not settings[key].strip().isdigit():
                raise TransportConfigurationError(
                    "The SQL Server connection string has a non-numeric %s; give it in whole seconds." % label
                )
            settings[key] = int(settings[key])
    schema = _unbracket(settings.get("queue_schema", "").strip()) or DEFAULT_SCHEMA
    settings["queue_schema"] = schema
    settings["catalog"] = _unbracket(settings["catalog"].strip())
    for label, value in (("Queue Schema", schema), ("Initial Catalog", settings["catalog"])):
        if sysname_length(value) > SYSNAME_LIMIT:
            raise TransportConfigurationError(
                "The SQL Server connection string's %s is longer than %d characters (sysname); use a shorter name."
                % (label, SYSNAME_LIMIT)
            )
    return settings


def verify_certificate(settings, validate_certs=True):
    """Whether the server certificate is checked: only when encrypting, and unless the user opted out
    (validate_certs=false, or TrustServerCertificate=true in ServiceControl's own connection string)."""
    return bool(settings["encrypt"] and validate_certs and not settings["trust_server_certificate"])


def connect_kwargs(settings, timeout=None):
    """pymssql.connect() keyword arguments (autocommit off: pymssql keeps a transaction open, like
    NServiceBus's BeginTransaction, and commit()/rollback() end it)."""
    kwargs = {
        "server": settings["server"],
        "database": settings["catalog"],
        "login_timeout": int(timeout if timeout is not None else settings.get("timeout", DEFAULT_LOGIN_TIMEOUT)),
        "timeout": int(timeout if timeout is not None else settings.get("command_timeout", DEFAULT_QUERY_TIMEOUT)),
        "appname": settings.get("application_name") or "servicecontrol.platform",
        "encryption": "require" if settings["encrypt"] else "request",
        "autocommit": False,
    }
    if settings["port"] is not None:
        kwargs["port"] = str(settings["port"])
    if not settings["integrated_security"]:
        kwargs["user"] = settings["user"]
        kwargs["password"] = settings.get("password", "")
    return kwargs


def freetds_tls_config(ca_path=None):
    """freetds.conf text that makes FreeTDS verify the server certificate and host name."""
    return "[global]\n\tca file = %s\n\tcheck certificate hostname = yes\n" % (ca_path or "system")
