# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: not a public API; other collections must not import it.
"""The settings catalogue: ServiceControl's own setting keys, their namespaces, types and defaults.

Keys keep ServiceControl's names (``ServiceBus/ErrorQueue``, ``ServiceControl/ForwardErrorMessages``) so a
ServiceControl administrator recognises every one. Sources: ServiceControl 6.19.2 ``Settings.cs`` of each
instance type (docs/reference/servicecontrol.md §1.1-§1.4).
"""

from __future__ import annotations

from collections import namedtuple

#: Instance kinds and the appSettings namespace each one reads its own settings from.
KIND_NAMESPACES = {
    "error": "ServiceControl",
    "audit": "ServiceControl.Audit",
    "monitoring": "Monitoring",
}

#: Namespaces any instance may carry besides its own (ServiceBus/* queue names, licensing component).
SHARED_NAMESPACES = ("ServiceBus", "LicensingComponent")

Setting = namedtuple("Setting", "key kind type default since")

#: The settings the collection reasons about. ``default`` is ServiceControl's own default; a callable
#: default derives from other settings (e.g. ``<ErrorQueue>.log``).
CATALOGUE = (
    Setting("ServiceControl/InstanceName", "error", "str", "Particular.ServiceControl", "5.5.0"),
    Setting("ServiceBus/ErrorQueue", "error", "str", "error", None),
    Setting("ServiceControl/ForwardErrorMessages", "error", "bool", None, "1.11.2"),
    Setting("ServiceBus/ErrorLogQueue", "error", "str", lambda s: log_queue_of(s["ServiceBus/ErrorQueue"]), None),
    Setting("ServiceControl/IngestErrorMessages", "error", "bool", True, "4.33.0"),
    Setting(
        "LicensingComponent/ServiceControlThroughputDataQueue", "error", "str", "ServiceControl.ThroughputData", "5.4.0"
    ),
    Setting("ServiceControl.Audit/InstanceName", "audit", "str", "Particular.ServiceControl.Audit", "5.5.0"),
    Setting("ServiceBus/AuditQueue", "audit", "str", "audit", None),
    Setting("ServiceControl.Audit/ForwardAuditMessages", "audit", "bool", False, None),
    Setting("ServiceBus/AuditLogQueue", "audit", "str", lambda s: log_queue_of(s["ServiceBus/AuditQueue"]), None),
    Setting("ServiceControl.Audit/ServiceControlQueueAddress", "audit", "str", None, None),
    Setting("Monitoring/InstanceName", "monitoring", "str", "Particular.Monitoring", None),
    Setting("Monitoring/ErrorQueue", "monitoring", "str", "error", None),
)

_BY_KIND = {}
for _setting in CATALOGUE:
    _BY_KIND.setdefault(_setting.kind, []).append(_setting)


def log_queue_of(queue):
    """ServiceControl's ``Subscope``: append ``.log`` before any MSMQ ``@machine`` part."""
    name, at, machine = str(queue).partition("@")
    return "%s.log%s%s" % (name, at, machine)


def settings_for(kind):
    """Catalogue entries of one instance kind."""
    return list(_BY_KIND.get(kind, ()))


def to_bool(value, key):
    """ServiceControl reads booleans with a TypeConverter: true/false in any case."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ValueError("Setting %s must be true or false, not '%s'." % (key, value))


def effective_settings(kind, settings):
    """Return the given settings completed with ServiceControl's defaults for that kind.

    Typed values are normalised (booleans). Keys not in the catalogue pass through unchanged.
    """
    result = dict(settings or {})
    for setting in settings_for(kind):
        if setting.key in result and result[setting.key] is not None:
            if setting.type == "bool":
                result[setting.key] = to_bool(result[setting.key], setting.key)
            continue
        if callable(setting.default):
            continue
        result[setting.key] = setting.default
    # Derived defaults last: they read the settings above.
    for setting in settings_for(kind):
        if callable(setting.default) and result.get(setting.key) in (None, ""):
            result[setting.key] = setting.default(result)
    return result


def environment_name(key):
    """ServiceControl's environment-variable name for a setting key (5.3.0+ rule).

    ``<namespace>/<name>`` with every ``.`` and ``/`` replaced by ``_``, upper-cased; always the fully
    qualified form, because bare names are shared by every instance type on a host and ``ServiceBus/*``
    keys are only read fully qualified.
    """
    return str(key).replace(".", "_").replace("/", "_").upper()


def format_value(value):
    """A setting value as ServiceControl's TypeConverter reads it from text (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
